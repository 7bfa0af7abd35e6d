//! Supabase Storage's error envelope (`src/storage/errors.ts`, `renderError`): every error body
//! has exactly `statusCode` (the logical status, as a string), `code`, `error` and `message`,
//! and the HTTP status is 400 for every client error, whatever its logical status, 500 for an
//! internal one. This is the service's one code table.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bucketbase_caller::KeyError;
use bucketbase_kit::ServiceError;
use serde_json::json;

/// Errors of the storage service, each with upstream's code, logical status and `error` text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `NoSuchBucket`: the bucket does not exist or the caller cannot see it.
    #[error("Bucket not found")]
    NoSuchBucket,
    /// `BucketAlreadyExists`: a bucket with this id exists.
    #[error("The resource already exists")]
    BucketAlreadyExists,
    /// `ResourceNotEmpty`: a bucket that still holds objects cannot be deleted.
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    /// `AccessDenied`: a bad token, or a policy that refused the statement.
    #[error("{0}")]
    AccessDenied(String),
    /// `InvalidRequest`: the body or a parameter is not acceptable.
    #[error("{0}")]
    InvalidRequest(String),
    /// `InvalidBucketName`.
    #[error("Bucket name invalid")]
    InvalidBucketName,
    /// `NoSuchKey`: the object does not exist or the caller cannot see it.
    #[error("Object not found")]
    NoSuchKey,
    /// `KeyAlreadyExists`: an upload or copy without upsert onto an existing object.
    #[error("The resource already exists")]
    KeyAlreadyExists,
    /// `ResourceAlreadyExists`: a move onto an existing object.
    #[error("The resource already exists")]
    ResourceAlreadyExists,
    /// `EntityTooLarge`: the body passed the bucket's or the server's size limit.
    #[error("The object exceeded the maximum allowed size")]
    EntityTooLarge,
    /// `InvalidMimeType`: the bucket does not accept this content type.
    #[error("mime type {0} is not supported")]
    InvalidMimeType(String),
    /// `InvalidKey`: an object name upstream refuses (or a path trick).
    #[error("Invalid key: {0}")]
    InvalidKey(String),
    /// `InvalidJWT`: a signed URL's token that is malformed, badly signed or expired.
    #[error("{0}")]
    InvalidJwt(String),
    /// `InvalidSignature`: a signed URL's token for another object or purpose.
    #[error("{0}")]
    InvalidSignature(String),
    /// `MissingParameter`.
    #[error("Missing Required Parameter {0}")]
    MissingParameter(&'static str),
    /// `InvalidRange`: a `Range` outside the object (HTTP 416).
    #[error("invalid range provided")]
    InvalidRange {
        /// The object's size, for `Content-Range: bytes */size`.
        size: u64,
    },
    /// The request body failed while it was read (a client that went away, a truncated
    /// multipart body).
    #[error("{0}")]
    BodyFailed(String),
    /// `InvalidUploadId`: a TUS upload URL whose id is not `<bucket>/<name>/<version>`.
    #[error("Invalid upload id")]
    InvalidUploadId,
    /// `TusError`: a refusal the TUS protocol defines, with its real HTTP status and the text
    /// @tus/server answers (`Upload-Offset conflict\n`, …).
    #[error("{message}")]
    Tus {
        /// The HTTP status (409, 410, 412, 413, …).
        status: u16,
        /// The plain-text body.
        message: std::borrow::Cow<'static, str>,
    },
    /// The endpoint exists upstream but is not implemented here yet.
    #[error("not implemented yet")]
    NotImplemented,
    /// Anything that must not reach the client; the cause is logged by the kit's middleware.
    #[error("Internal Server Error")]
    Internal(String),
}

impl Error {
    /// Upstream's logical status, `code` and `error` for this error.
    pub(crate) fn parts(&self) -> (u16, &'static str, &'static str) {
        match self {
            Error::NoSuchBucket => (404, "NoSuchBucket", "Bucket not found"),
            Error::BucketAlreadyExists => (409, "BucketAlreadyExists", "Duplicate"),
            Error::BucketNotEmpty => (409, "ResourceNotEmpty", "InvalidRequest"),
            Error::AccessDenied(_) => (403, "AccessDenied", "Unauthorized"),
            Error::InvalidRequest(_) => (400, "InvalidRequest", "Bad Request"),
            Error::InvalidBucketName => (400, "InvalidBucketName", "Invalid Input"),
            Error::NoSuchKey => (404, "NoSuchKey", "not_found"),
            Error::KeyAlreadyExists => (409, "KeyAlreadyExists", "Duplicate"),
            Error::ResourceAlreadyExists => (409, "ResourceAlreadyExists", "Duplicate"),
            Error::EntityTooLarge => (413, "EntityTooLarge", "Payload too large"),
            Error::InvalidMimeType(_) => (415, "InvalidMimeType", "invalid_mime_type"),
            Error::InvalidKey(_) => (400, "InvalidKey", "InvalidKey"),
            Error::InvalidJwt(_) => (400, "InvalidJWT", "InvalidJWT"),
            Error::InvalidSignature(_) => (400, "InvalidSignature", "InvalidSignature"),
            Error::MissingParameter(_) => (400, "MissingParameter", "MissingParameter"),
            Error::InvalidRange { .. } => (416, "InvalidRange", "invalid_range"),
            Error::BodyFailed(_) => (400, "InvalidRequest", "Bad Request"),
            Error::InvalidUploadId => (400, "InvalidUploadId", "InvalidUploadId"),
            Error::Tus { status, .. } => (*status, "TusError", "TusError"),
            Error::NotImplemented => (501, "NotImplemented", "NotImplemented"),
            Error::Internal(_) => (500, "InternalError", "Internal"),
        }
    }

    /// A database failure: a policy's refusal is `AccessDenied`, a duplicate id
    /// `BucketAlreadyExists`, anything else internal.
    pub(crate) fn db(e: bucketbase_sql::DbError) -> Self {
        match e.as_db_error().map(|d| d.code().code()) {
            Some("42501") => Error::AccessDenied(
                e.as_db_error()
                    .map(|d| d.message().to_string())
                    .unwrap_or_default(),
            ),
            Some("23505") => Error::BucketAlreadyExists,
            _ => Error::Internal(e.to_string()),
        }
    }

    /// A database failure while writing `storage.objects`: a policy's refusal is upstream's
    /// `AccessDenied` "new row violates row-level security policy", a duplicate name
    /// `KeyAlreadyExists`, a missing bucket `NoSuchBucket`.
    pub(crate) fn object_write(e: bucketbase_sql::DbError) -> Self {
        match e.as_db_error().map(|d| d.code().code()) {
            Some("42501") => {
                let message = e.as_db_error().map(|d| d.message()).unwrap_or_default();
                if message.starts_with("new row violates row-level security policy") {
                    Error::AccessDenied("new row violates row-level security policy".into())
                } else {
                    Error::AccessDenied(message.to_string())
                }
            }
            Some("23505") => Error::KeyAlreadyExists,
            Some("23503") => Error::NoSuchBucket,
            _ => Error::db(e),
        }
    }

    /// A request body that failed while it was read.
    pub(crate) fn body(e: impl std::fmt::Display) -> Self {
        Error::BodyFailed(format!("the request body could not be read: {e}"))
    }
}

impl From<KeyError> for Error {
    /// Token failures with the messages of `jose`, the JWT library upstream verifies with.
    fn from(e: KeyError) -> Self {
        Error::AccessDenied(jose_message(&e).to_string())
    }
}

/// What `jose`'s `jwtVerify` says of a token that fails this way (upstream passes its message
/// through as the error's).
pub(crate) fn jose_message(e: &KeyError) -> &'static str {
    match e {
        KeyError::Missing | KeyError::Empty | KeyError::Parts(_) => "Invalid Compact JWS",
        KeyError::Algorithm => "\"alg\" (Algorithm) Header Parameter value not allowed",
        KeyError::Signature | KeyError::NoSuitableKey => "signature verification failed",
        KeyError::Expired => "\"exp\" claim timestamp check failed",
        KeyError::NotYetValid => "\"nbf\" claim timestamp check failed",
        KeyError::IssuedInFuture => "\"iat\" claim timestamp check failed",
        KeyError::Audience => "unexpected \"aud\" claim value",
        KeyError::MalformedClaim => "\"exp\" claim must be a number",
        KeyError::UnknownApiKey => "Invalid API key",
    }
}

impl ServiceError for Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Error::InvalidRange { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self) -> &str {
        self.parts().1
    }

    fn body(&self) -> serde_json::Value {
        let (status, code, error) = self.parts();
        json!({"statusCode": status.to_string(), "code": code, "error": error, "message": self.to_string()})
    }

    fn internal_cause(&self) -> Option<String> {
        match self {
            Error::Internal(cause) => Some(format!("storage: {cause}")),
            _ => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut res = bucketbase_kit::respond(&self);
        if let Error::InvalidRange { size } = self {
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut()
                    .insert(axum::http::header::CONTENT_RANGE, v);
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_http_400_with_the_logical_status_as_a_string() {
        let e = Error::NoSuchBucket;
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            e.body(),
            json!({"statusCode": "404", "code": "NoSuchBucket", "error": "Bucket not found", "message": "Bucket not found"})
        );
        let e = Error::from(KeyError::Expired);
        assert_eq!(e.body()["message"], "\"exp\" claim timestamp check failed");
        let e = Error::from(KeyError::Missing);
        assert_eq!(e.body()["message"], "Invalid Compact JWS");
        assert_eq!(e.body()["statusCode"], "403");
        let e = Error::Internal("relation storage.secret does not exist".into());
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.body().to_string().contains("secret"));
    }
}
