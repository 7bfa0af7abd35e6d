//! What every `/auth/v1` handler reads from the request, as GoTrue's middleware and helpers
//! provide it (`retrieveRequestParams`, `requireAuthentication`, `requireAdminCredentials`,
//! `utilities.GetIPAddress`, `GetReferrer`): the JSON body with GoTrue's `bad_json` error, the
//! client IP, the external URL for links, the query, and the caller behind a user or admin JWT.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{code, Error, Result};
use crate::user::User;
use crate::State;
use bucketbase_sql::ServiceTx;

/// A JSON body; an empty body is `{}`. Unknown fields are ignored.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<State> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &State) -> Result<Self> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            Error::api(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "request_entity_too_large",
                "Request body too large",
            )
        })?;
        parse_body(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body the way GoTrue does (`{}` when empty, 400 `bad_json` when malformed).
pub(crate) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| {
        Error::bad_request(
            code::BAD_JSON,
            format!("Could not parse request body as JSON: {e}"),
        )
    })
}

/// Facts about the request every handler may need.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    /// The client IP as text (`""` when unknown), as recorded in audit rows: the first address
    /// of the `GOTRUE_RATE_LIMIT_HEADER` header when it is a valid IP address, else the peer
    /// address (GoTrue's `GetIPAddress` likewise skips values that do not parse).
    pub ip: String,
    /// What the rate limiter counts requests by: the `GOTRUE_RATE_LIMIT_HEADER` header's first
    /// value, verbatim, when that header is configured and present, else [`Self::ip`].
    pub limit_key: String,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The public base URL (`API_EXTERNAL_URL`, else `http://<Host>`), without trailing slash.
    pub external_url: String,
    /// The query parameters.
    pub query: HashMap<String, String>,
    /// The headers.
    pub headers: HeaderMap,
}

impl RequestInfo {
    /// The `redirect_to` the client asked for (header, then query), if any.
    pub(crate) fn redirect_to(&self) -> Option<&str> {
        self.headers
            .get("redirect_to")
            .and_then(|v| v.to_str().ok())
            .or_else(|| self.query.get("redirect_to").map(String::as_str))
            .filter(|s| !s.is_empty())
    }

    /// The `Referer` header.
    pub(crate) fn referer(&self) -> Option<&str> {
        self.headers
            .get(axum::http::header::REFERER)
            .and_then(|v| v.to_str().ok())
    }

    /// The JWT issuer (`JWT_ISSUER`, else `<external url>/auth/v1`).
    pub(crate) fn issuer(&self, state: &State) -> String {
        state
            .config()
            .jwt_issuer
            .clone()
            .unwrap_or_else(|| format!("{}/auth/v1", self.external_url))
    }

    /// The audience requested by `X-JWT-AUD`, else the configured one.
    pub(crate) fn aud(&self, state: &State) -> String {
        self.headers
            .get("x-jwt-aud")
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| state.config().jwt_aud.clone())
    }

    /// The IP as an `inet`-compatible value, or `None`.
    pub(crate) fn inet(&self) -> Option<String> {
        self.ip.parse::<IpAddr>().ok().map(|ip| ip.to_string())
    }
}

impl FromRequestParts<State> for RequestInfo {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self> {
        let header_value = state
            .config()
            .rate_limits
            .header
            .as_deref()
            .and_then(|h| parts.headers.get(h))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let ip = header_value
            .as_deref()
            .and_then(|v| v.parse::<IpAddr>().ok())
            .map(|ip| ip.to_string())
            .or(peer)
            .unwrap_or_default();
        let limit_key = header_value.unwrap_or_else(|| ip.clone());
        let external_url = match &state.config().api_external_url {
            Some(u) => u.clone(),
            None => {
                let host = parts
                    .headers
                    .get(axum::http::header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        };
        let query = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            ip,
            limit_key,
            user_agent: parts
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            external_url,
            query,
            headers: parts.headers.clone(),
        })
    }
}

/// The session behind a user JWT's `session_id`.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    /// `auth.sessions.id`.
    pub id: Uuid,
    /// `created_at`.
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A caller authenticated by a user access token (GoTrue's `requireAuthentication`).
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    /// The verified claims.
    pub claims: Value,
    /// The user of `sub`.
    pub user: User,
    /// The session of `session_id`, when the token has one.
    pub session: Option<SessionRow>,
}

/// GoTrue reads only `Authorization: Bearer …` (never `apikey`) on its authenticated routes.
fn bearer(headers: &HeaderMap) -> Result<&str> {
    bucketbase_caller::bearer_token(headers)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::unauthorized(
                code::NO_AUTHORIZATION,
                "This endpoint requires a valid Bearer token",
            )
        })
}

/// The caller behind the bearer token, with GoTrue's `bad_jwt` answer for a bad one.
fn caller(state: &State, token: &str) -> Result<bucketbase_caller::Caller> {
    bucketbase_caller::identify_token(state.keys(), token, bucketbase_caller::now()).map_err(|e| {
        if token.starts_with("sb_") {
            Error::forbidden(code::BAD_JWT, "Invalid token")
        } else {
            Error::forbidden(
                code::BAD_JWT,
                format!("invalid JWT: unable to parse or verify signature, {e}"),
            )
        }
    })
}

/// Authenticates the user behind the bearer token and loads user and session.
pub(crate) async fn authenticate_user(
    state: &State,
    headers: &HeaderMap,
    tx: &mut ServiceTx,
) -> Result<Authed> {
    let token = bearer(headers)?;
    if token.starts_with("sb_") {
        return Err(Error::forbidden(
            code::BAD_JWT,
            "invalid claim: missing sub claim",
        ));
    }
    let claims = caller(state, token)?.claims;
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if sub.is_empty() {
        return Err(Error::forbidden(
            code::BAD_JWT,
            "invalid claim: missing sub claim",
        ));
    }
    let id = Uuid::parse_str(sub).map_err(|_| {
        Error::bad_request(code::BAD_JWT, "invalid claim: sub claim must be a UUID")
    })?;
    let user = crate::user::find_by_id(tx, id, false)
        .await?
        .ok_or_else(|| {
            Error::forbidden(
                code::USER_NOT_FOUND,
                "User from sub claim in JWT does not exist",
            )
        })?;
    let mut session = None;
    if let Some(sid) = claims
        .get("session_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        let sid = Uuid::parse_str(sid).map_err(|_| {
            Error::forbidden(
                code::BAD_JWT,
                "invalid claim: session_id claim must be a UUID",
            )
        })?;
        if !sid.is_nil() {
            let row = tx
                .query_opt(
                    "select id, created_at from auth.sessions where id = $1",
                    &[&sid],
                )
                .await?
                .ok_or_else(|| {
                    Error::forbidden(
                        code::SESSION_NOT_FOUND,
                        "Session from session_id claim in JWT does not exist",
                    )
                })?;
            session = Some(SessionRow {
                id: row.try_get(0)?,
                created_at: row.try_get(1)?,
            });
        }
    }
    if user.is_banned() {
        return Err(Error::forbidden(code::USER_BANNED, "User is banned"));
    }
    Ok(Authed {
        claims,
        user,
        session,
    })
}

/// Requires an admin bearer (role in `JWT_ADMIN_ROLES`, or an `sb_secret_…` key); returns the role.
pub(crate) fn require_admin(state: &State, headers: &HeaderMap) -> Result<String> {
    let role = caller(state, bearer(headers)?)?.role;
    if state.config().jwt_admin_roles.contains(&role) {
        Ok(role)
    } else {
        Err(Error::forbidden(code::NOT_ADMIN, "User not allowed"))
    }
}

/// Middleware for routes behind the gateway's key check (all but the browser-navigation ones):
/// an `apikey` header, when present, must be a valid key; with none at all, the bearer must be a
/// valid key or token, unless anonymous access without a key is configured.
pub(crate) async fn require_api_key(
    axum::extract::State(state): axum::extract::State<State>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let headers = req.headers();
    let apikey = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let valid = |key: &str| {
        bucketbase_caller::identify_token(state.keys(), key, bucketbase_caller::now()).is_ok()
    };
    let ok = match apikey {
        Some(k) => valid(k),
        None => match bearer(headers) {
            Ok(t) => valid(t),
            Err(_) => state.keys().config().anon_without_key,
        },
    };
    if ok {
        next.run(req).await
    } else {
        let message = if apikey.is_none() && bearer(headers).is_err() {
            "No API key found in request"
        } else {
            "Invalid API key"
        };
        Error::unauthorized(code::NO_AUTHORIZATION, message).into_response()
    }
}
