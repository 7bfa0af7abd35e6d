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

/// An authenticated storage request.
pub(crate) struct StorageRequest {
    pub(crate) state: State,
    pub(crate) caller: Caller,
    method: Method,
    path: String,
    headers: HeaderMap,
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
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            headers: parts.headers.clone(),
        })
    }
}

impl StorageRequest {
    /// The caller's transaction (nothing is sent before its first statement).
    pub(crate) async fn begin(&self, access: Access) -> Result<RequestTx, Error> {
        let ctx = self.caller.request_context(
            &self.method,
            &self.path,
            &self.headers,
            "storage, public".into(),
        );
        RequestTx::begin(&self.state.db.request, ctx, access)
            .await
            .map_err(Error::db)
    }
}
