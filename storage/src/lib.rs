//! Supabase Storage (/storage/v1: buckets, objects, signed URLs, TUS uploads).
//!
//! Not implemented yet: this crate holds the service's public face (`Config`, `State`,
//! `router`, `Error`) so the server composes it like the others, and every request answers
//! `501` in the service's own error envelope until the service lands.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// Configuration of the service.
#[derive(Debug, Clone, Default)]
pub struct Config {}

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

impl Error {
    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        }
    }

    /// The machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotImplemented => "NotImplemented",
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(serde_json::json!({"statusCode": self.status().as_u16().to_string(), "code": self.code(), "error": self.code(), "message": self.to_string()}))).into_response()
    }
}

/// The router, mounted by the server under the service's prefix.
pub fn router(state: State) -> Router {
    Router::new().fallback(not_implemented).with_state(state)
}

/// The most of a request body read before answering 501 (larger uploads get the answer and a
/// closed connection).
const DRAIN_LIMIT: usize = 64 << 20;

/// Answers 501 after reading the request body: answering first would leave an uploading client
/// with a broken pipe instead of the answer.
async fn not_implemented(body: axum::body::Body) -> Error {
    let mut frames = body.into_data_stream();
    let mut read = 0;
    while read < DRAIN_LIMIT {
        match futures_util::StreamExt::next(&mut frames).await {
            Some(Ok(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    Error::NotImplemented
}
