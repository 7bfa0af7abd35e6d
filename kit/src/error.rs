//! Errors as every upstream renders them: a status, a code from the service's table
//! (PostgREST's `PGRST…`, GoTrue's `error_code`, Storage's `code`), a JSON body in the service's
//! envelope. A failure that is not the client's is answered opaquely; its cause rides along in
//! the response's extensions as [`InternalCause`] and [`log_internal_causes`] logs it once, with
//! the request it belongs to.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// An error a service answers with.
pub trait ServiceError: std::error::Error {
    /// The HTTP status.
    fn status(&self) -> StatusCode;
    /// The wire code from the service's code table.
    fn code(&self) -> &str;
    /// The body, in the upstream's envelope.
    fn body(&self) -> serde_json::Value;
    /// For failures that are not the client's: the cause to log (never sent to the client).
    fn internal_cause(&self) -> Option<String> {
        None
    }
}

/// An internal failure's cause, attached to the response that answered it.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

/// Renders `error`: its status and JSON body, with its internal cause attached for
/// [`log_internal_causes`].
pub fn respond(error: &impl ServiceError) -> Response {
    let mut res = (error.status(), axum::Json(error.body())).into_response();
    if let Some(cause) = error.internal_cause() {
        res.extensions_mut().insert(InternalCause(cause));
    }
    res
}

/// Middleware: logs the internal cause of every response that carries one, once, at error
/// level, with the request's method and path (never its query or headers, which may hold
/// tokens).
pub async fn log_internal_causes(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    if let Some(InternalCause(cause)) = res.extensions().get::<InternalCause>() {
        tracing::error!(%method, %path, status = res.status().as_u16(), %cause, "internal error");
    }
    res
}

/// The most of a request body [`drain_body`] reads.
const DRAIN_LIMIT: usize = 64 << 20;

/// Reads and discards a request body (up to 64 MiB), for handlers that answer without using
/// it: answering first would leave an uploading client with a broken pipe instead of the
/// answer.
pub async fn drain_body(body: axum::body::Body) {
    let mut frames = body.into_data_stream();
    let mut read = 0;
    while read < DRAIN_LIMIT {
        match futures_util::StreamExt::next(&mut frames).await {
            Some(Ok(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom;

    impl ServiceError for Boom {
        fn status(&self) -> StatusCode {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        fn code(&self) -> &str {
            "X500"
        }
        fn body(&self) -> serde_json::Value {
            serde_json::json!({"code": self.code(), "message": "Internal error"})
        }
        fn internal_cause(&self) -> Option<String> {
            Some("relation secret_table does not exist".into())
        }
    }

    #[test]
    fn the_cause_travels_beside_an_opaque_body() {
        let res = respond(&Boom);
        assert_eq!(res.status(), 500);
        let cause = res.extensions().get::<InternalCause>().expect("cause");
        assert!(cause.0.contains("secret_table"));
    }
}
