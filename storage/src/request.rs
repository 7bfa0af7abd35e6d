//! What every storage endpoint starts from, as upstream's `jwt` and `db` plugins give each
//! route: the verified caller (from `Authorization`, or the `apikey` the gateway would copy
//! there), and a transaction under that caller's role and claims with the request's method,
//! path and headers as PostgREST-style settings, so `storage.*` policies see what they see on
//! Supabase.

use axum::extract::{FromRequestParts, State as S};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use bucketbase_caller::{Authenticated, Caller};
use bucketbase_sql::request_tx::Access;
use bucketbase_sql::RequestTx;

use crate::{Error, State};

/// A storage request: who asks, and what the database sees of the request.
pub(crate) struct StorageRequest {
    pub(crate) state: State,
    pub(crate) caller: Caller,
    method: Method,
    path: String,
    headers: HeaderMap,
    /// Upstream's name of the route's operation (`storage.object.upload`, …), set as
    /// `storage.operation` in every transaction of the request.
    operation: Option<&'static str>,
}

impl FromRequestParts<State> for StorageRequest {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Error> {
        let caller = Authenticated::<Error>::from_request_parts(parts, state)
            .await?
            .into_inner();
        let S(state) = S::<State>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::Internal("no storage state".into()))?;
        Ok(Self {
            state,
            caller,
            operation: operation_of(&parts.method, parts),
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            headers: parts.headers.clone(),
        })
    }
}

/// A request on a route that needs no token (public objects, signed URLs): its statements run
/// as `service_role` once the route has checked what it must (the bucket is public, the
/// token signs this object), as upstream runs them as its superuser.
pub(crate) struct Unauthenticated(pub(crate) StorageRequest);

impl FromRequestParts<State> for Unauthenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Error> {
        Ok(Self(StorageRequest {
            state: state.clone(),
            caller: service_caller(),
            operation: operation_of(&parts.method, parts),
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            headers: parts.headers.clone(),
        }))
    }
}

/// The `service_role`, which bypasses RLS.
fn service_caller() -> Caller {
    Caller {
        role: "service_role".into(),
        claims: serde_json::json!({"role": "service_role"}),
        source: bucketbase_caller::KeySource::None,
        token: None,
    }
}

impl StorageRequest {
    /// The same request, run as `service_role` (bucket limits, writes after a signed upload
    /// token was checked).
    pub(crate) fn as_service(&self) -> StorageRequest {
        StorageRequest {
            state: self.state.clone(),
            caller: service_caller(),
            operation: self.operation,
            method: self.method.clone(),
            path: self.path.clone(),
            headers: self.headers.clone(),
        }
    }

    /// The request's headers.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// `x-upsert: true`.
    pub(crate) fn upsert(&self) -> bool {
        self.headers
            .get("x-upsert")
            .is_some_and(|v| v.as_bytes() == b"true")
    }

    /// The caller's transaction (nothing is sent before its first statement).
    pub(crate) async fn begin(&self, access: Access) -> Result<RequestTx, Error> {
        let mut ctx = self.caller.request_context(
            &self.method,
            &self.path,
            &self.headers,
            "storage, public".into(),
        );
        ctx.local_setting = self
            .operation
            .map(|op| ("storage.operation".to_string(), op.to_string()));
        RequestTx::begin(&self.state.db.request, ctx, access)
            .await
            .map_err(Error::db)
    }
}

/// Upstream's operation name for a route (`src/http/routes/operations.ts`), from the method
/// and the matched route pattern.
fn operation_of(method: &Method, parts: &Parts) -> Option<&'static str> {
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()?
        .as_str();
    let route = route.strip_prefix("/storage/v1").unwrap_or(route);
    let m = method.as_str();
    Some(match (m, route) {
        ("GET", "/bucket" | "/bucket/") => "storage.bucket.list",
        ("POST", "/bucket" | "/bucket/") => "storage.bucket.create",
        ("GET", "/bucket/{id}") => "storage.bucket.get",
        ("PUT", "/bucket/{id}") => "storage.bucket.update",
        ("DELETE", "/bucket/{id}") => "storage.bucket.delete",
        ("POST", "/bucket/{id}/empty") => "storage.bucket.empty",
        ("POST", "/object/{bucket}/{*path}") => "storage.object.upload",
        ("PUT", "/object/{bucket}/{*path}") => "storage.object.upload_update",
        ("GET" | "HEAD", "/object/{bucket}/{*path}" | "/object/authenticated/{bucket}/{*path}") => {
            "storage.object.get_authenticated"
        }
        ("DELETE", "/object/{bucket}/{*path}") => "storage.object.delete",
        ("DELETE", "/object/{bucket}") => "storage.object.delete_many",
        ("GET" | "HEAD", "/object/public/{bucket}/{*path}") => "storage.object.get_public",
        (
            "GET",
            "/object/info/{bucket}/{*path}" | "/object/info/authenticated/{bucket}/{*path}",
        ) => "object.get_authenticated_info",
        ("GET", "/object/info/public/{bucket}/{*path}") => "storage.object.info_public",
        ("POST", "/object/sign/{bucket}/{*path}") => "storage.object.sign",
        ("GET" | "HEAD", "/object/sign/{bucket}/{*path}") => "storage.object.get_signed",
        ("POST", "/object/sign/{bucket}") => "storage.object.sign_many",
        ("POST", "/object/upload/sign/{bucket}/{*path}") => "storage.object.sign_upload_url",
        ("PUT", "/object/upload/sign/{bucket}/{*path}") => "storage.object.upload_signed",
        ("POST", "/object/list/{bucket}") => "storage.object.list",
        ("POST", "/object/list-v2/{bucket}") => "storage.object.list_v2",
        ("POST", "/object/move") => "storage.object.move",
        ("POST", "/object/copy") => "storage.object.copy",
        _ => return None,
    })
}

/// The JSON body of a request (an empty body reads as `{}`), in upstream's envelope when it is
/// not JSON.
pub(crate) fn json_body<T: for<'de> serde::Deserialize<'de>>(bytes: &[u8]) -> Result<T, Error> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| Error::InvalidRequest(format!("body {e}")))
}

/// Lets this transaction delete rows of `storage.buckets` / `storage.objects`: their
/// `protect_delete` triggers refuse deletes that do not come through the storage API, as
/// upstream's do.
pub(crate) async fn allow_delete(tx: &mut RequestTx) -> Result<(), Error> {
    tx.query(
        "select set_config('storage.allow_delete_query', 'true', true)",
        &[],
    )
    .await
    .map_err(Error::db)?;
    Ok(())
}
