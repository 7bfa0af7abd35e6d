//! Supabase Storage (/storage/v1: buckets, objects, signed URLs, TUS uploads).
//!
//! Not implemented yet: this crate holds the service's public face (`Config`, `State`,
//! `service`, `Error`) so the server composes it like the others, and every request answers
//! `501` in the service's own error envelope (after reading its body) until the service lands.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bucketbase_kit::{Env, EnvError, ServiceError};

/// Configuration of the service.
#[derive(Debug, Clone, Default)]
pub struct Config {}

impl Config {
    /// Reads the service's variables (none yet).
    pub fn from_env(_env: &Env) -> Result<Self, EnvError> {
        Ok(Self {})
    }
}

/// Shared state of the service (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The service configuration.
    pub config: std::sync::Arc<Config>,
}

/// Errors of the service, rendered in its upstream envelope.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint exists upstream but is not implemented here yet.
    #[error("not implemented yet")]
    NotImplemented,
}

impl ServiceError for Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        }
    }

    fn code(&self) -> &str {
        match self {
            Error::NotImplemented => "NotImplemented",
        }
    }

    fn body(&self) -> serde_json::Value {
        serde_json::json!({"statusCode": self.status().as_u16().to_string(), "code": self.code(), "error": self.code(), "message": self.to_string()})
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        bucketbase_kit::respond(&self)
    }
}

/// The router, mounted by the server under `/storage/v1`.
pub fn router(state: State) -> Router {
    Router::new().fallback(not_implemented).with_state(state)
}

/// The service as the server mounts it.
pub fn service(state: State) -> bucketbase_kit::Service {
    bucketbase_kit::Service::new("storage", Some("/storage/v1"), router(state))
}

async fn not_implemented(body: axum::body::Body) -> Error {
    bucketbase_kit::drain_body(body).await;
    Error::NotImplemented
}
