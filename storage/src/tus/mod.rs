//! TUS 1.0 resumable uploads at `/upload/resumable`, as Supabase Storage serves them
//! (`src/http/routes/tus/*.ts` upstream, which configures @tus/server): the core protocol
//! (HEAD for the offset, PATCH to append `application/offset+octet-stream` bytes, OPTIONS),
//! and the `creation`, `creation-with-upload`, `termination` and `expiration` extensions. The
//! signed variant `/upload/resumable/sign` takes the token of
//! `POST /object/upload/sign/{bucket}/{path}` in `x-signature` instead of a JWT.
//!
//! As upstream: the upload's object comes from the `Upload-Metadata` keys `bucketName`,
//! `objectName`, `contentType`, `cacheControl` and `metadata` (user metadata as JSON), and
//! `x-upsert: true` replaces an existing object; the upload id in the `Location` is base64url
//! of `<bucket>/<name>/<version>`; POST, PATCH and DELETE first try the row write under the
//! caller (RLS decides, as for REST uploads) and the row is written for real, under the caller
//! again, when the last byte arrives, after which the object is an ordinary one at its version
//! key; a PATCH waits for no other writer: a second one while one is in flight is refused
//! (409). Errors the storage service defines reach the client as @tus/server renders them:
//! their logical status as the HTTP status and their message as a plain-text body; failures of
//! the token itself (the `StorageRequest` extractor) keep the service's JSON envelope, as
//! upstream's JWT plugin answers before @tus/server runs.
//!
//! Beyond upstream: any chunk size works on S3 too (see [`parts`]); a wrong `Tus-Resumable`
//! is answered 412 as the protocol asks (@tus/server answers 400); a PATCH whose connection
//! drops keeps what it received on both backends.

mod handlers;
mod id;
mod metadata;
mod parts;
mod receive;
mod record;
pub(crate) mod sweep;

use std::borrow::Cow;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use axum::Router;
use bucketbase_kit::{InternalCause, ServiceError};

pub(crate) use parts::is_part_key;

use crate::{Error, State};

/// The protocol version (`Tus-Resumable`, `Tus-Version`).
const TUS_VERSION: &str = "1.0.0";

/// The extensions served (`Tus-Extension`).
const EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration";

/// The content type of PATCH bodies (and of a POST that carries the first bytes).
const OFFSET_STREAM: &str = "application/offset+octet-stream";

/// The routes, mounted by [`crate::router`].
pub(crate) fn routes() -> Router<State> {
    use handlers::{
        create, create_signed, head_signed, head_upload, options, patch, patch_signed, terminate,
        terminate_signed,
    };
    Router::new()
        .route("/upload/resumable", post(create).options(options))
        .route("/upload/resumable/", post(create).options(options))
        .route(
            "/upload/resumable/sign",
            post(create_signed).options(options),
        )
        .route(
            "/upload/resumable/sign/",
            post(create_signed).options(options),
        )
        .route(
            "/upload/resumable/sign/{id}",
            head(head_signed)
                .patch(patch_signed)
                .delete(terminate_signed)
                .options(options),
        )
        .route(
            "/upload/resumable/{id}",
            head(head_upload)
                .patch(patch)
                .delete(terminate)
                .options(options),
        )
        // Every response carries the protocol version, refusals of the token included.
        .layer(axum::middleware::map_response(
            |mut res: Response| async move {
                res.headers_mut()
                    .insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
                res
            },
        ))
}

/// A refusal with the status and text @tus/server answers.
fn refusal(status: u16, message: &'static str) -> Error {
    Error::Tus {
        status,
        message: Cow::Borrowed(message),
    }
}

/// 404 for an upload that does not exist (any more).
fn not_found() -> Error {
    refusal(404, "The file for this url was not found\n")
}

/// 410 for an upload past its `Upload-Expires`.
fn gone() -> Error {
    refusal(410, "The file for this url no longer exists\n")
}

/// 409 for a second writer while one holds the upload.
fn locked() -> Error {
    refusal(409, "The resource is locked\n")
}

/// An error as @tus/server writes it (`onResponseError` upstream maps the service's errors to
/// their logical status and message): real HTTP status, plain-text body.
pub(crate) struct TusFailure(pub(crate) Error);

impl From<Error> for TusFailure {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for TusFailure {
    fn into_response(self) -> Response {
        let error = self.0;
        let (status, text) = match &error {
            Error::Internal(_) => (500, "Internal Server Error".to_string()),
            other => (other.parts().0, other.to_string()),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response();
        if status == StatusCode::PRECONDITION_FAILED {
            res.headers_mut()
                .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        }
        if let Some(cause) = error.internal_cause() {
            res.extensions_mut().insert(InternalCause(cause));
        }
        res
    }
}

/// A header as text.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A non-negative integer as the protocol writes it (no sign, no leading zeros).
fn parse_size(value: &str) -> Option<u64> {
    let n: u64 = value.parse().ok()?;
    (n.to_string() == value).then_some(n)
}

/// The checks @tus/server makes before any handler (`server.ts`): `Tus-Resumable` on every
/// request but OPTIONS (412 when missing or another version, with `Tus-Version`), and the
/// values of the protocol's headers (400 `Invalid <names>`).
fn check_protocol(method: &Method, headers: &HeaderMap) -> Result<(), Error> {
    match headers.get("tus-resumable") {
        None => return Err(refusal(412, "Tus-Resumable Required\n")),
        Some(v) if v.as_bytes() != TUS_VERSION.as_bytes() => {
            return Err(refusal(412, "Tus-Resumable version not supported\n"))
        }
        Some(_) => {}
    }
    let mut invalid = Vec::new();
    for name in ["upload-offset", "upload-length"] {
        if let Some(v) = headers.get(name) {
            if v.to_str().ok().and_then(parse_size).is_none() {
                invalid.push(name);
            }
        }
    }
    if headers
        .get("upload-defer-length")
        .is_some_and(|v| v.as_bytes() != b"1")
    {
        invalid.push("upload-defer-length");
    }
    if let Some(v) = headers.get("upload-metadata") {
        if v.to_str().ok().and_then(metadata::parse).is_none() {
            invalid.push("upload-metadata");
        }
    }
    if headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() != b"http" && v.as_bytes() != b"https")
    {
        invalid.push("x-forwarded-proto");
    }
    if headers.get("upload-concat").is_some_and(|v| {
        let v = v.as_bytes();
        v != b"partial" && !v.starts_with(b"final;")
    }) {
        invalid.push("upload-concat");
    }
    // Content-Type only matters to PATCH (clients may send a default one elsewhere).
    if *method == Method::PATCH
        && headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() != OFFSET_STREAM.as_bytes())
    {
        invalid.push("content-type");
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(Error::Tus {
            status: 400,
            message: Cow::Owned(format!("Invalid {}\n", invalid.join(" "))),
        })
    }
}

/// A time as HTTP writes it (RFC 7231), for `Upload-Expires`.
fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The upload's URL, as upstream's `generateUrl`: the forwarded protocol and host when a
/// proxy sent them, else the request's `Host`; `/sign` kept for signed uploads.
fn location(headers: &HeaderMap, signed: bool, id: &str) -> String {
    let proto = header_text(headers, "x-forwarded-proto")
        .filter(|p| *p == "http" || *p == "https")
        .unwrap_or("http");
    let host = header_text(headers, "x-forwarded-host")
        .or_else(|| header_text(headers, "host"))
        .filter(|h| !h.is_empty());
    let path = format!(
        "/storage/v1/upload/resumable{}/{id}",
        if signed { "/sign" } else { "" }
    );
    match host {
        Some(host) => format!("{proto}://{host}{path}"),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn status(r: Result<(), Error>) -> Option<(u16, String)> {
        r.err().map(|e| (e.parts().0, e.to_string()))
    }

    #[test]
    fn protocol_headers_are_checked_as_tus_server_does() {
        let patch = Method::PATCH;
        assert_eq!(
            status(check_protocol(&patch, &headers(&[]))),
            Some((412, "Tus-Resumable Required\n".into()))
        );
        assert_eq!(
            status(check_protocol(
                &patch,
                &headers(&[("tus-resumable", "0.2.2")])
            ))
            .map(|s| s.0),
            Some(412)
        );
        let ok = [
            ("tus-resumable", "1.0.0"),
            ("upload-offset", "10"),
            ("content-type", OFFSET_STREAM),
        ];
        assert!(check_protocol(&patch, &headers(&ok)).is_ok());
        let bad = [
            ("tus-resumable", "1.0.0"),
            ("upload-offset", "010"),
            ("upload-length", "-1"),
            ("content-type", "text/plain"),
        ];
        assert_eq!(
            status(check_protocol(&patch, &headers(&bad))),
            Some((
                400,
                "Invalid upload-offset upload-length content-type\n".into()
            ))
        );
        // Content-Type is only a PATCH's business.
        let post = [("tus-resumable", "1.0.0"), ("content-type", "text/plain")];
        assert!(check_protocol(&Method::POST, &headers(&post)).is_ok());
    }

    #[test]
    fn locations_follow_the_forwarded_host() {
        let h = headers(&[("host", "127.0.0.1:54321")]);
        assert_eq!(
            location(&h, false, "abc"),
            "http://127.0.0.1:54321/storage/v1/upload/resumable/abc"
        );
        let h = headers(&[
            ("host", "internal:9000"),
            ("x-forwarded-host", "api.example.com"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(
            location(&h, true, "abc"),
            "https://api.example.com/storage/v1/upload/resumable/sign/abc"
        );
        assert_eq!(
            http_date(chrono::DateTime::from_timestamp(1_445_412_480, 0).expect("time")),
            "Wed, 21 Oct 2015 07:28:00 GMT"
        );
    }
}
