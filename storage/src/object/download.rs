//! Downloads, as upstream's renderers (`src/storage/renderer/{renderer,asset,head,info}.ts`):
//! `GET`/`HEAD /object/{bucket}/{path}` (and `/object/authenticated/…`) under the caller's
//! RLS, `/object/public/…` for public buckets with no token, `/object/sign/…?token=` for
//! signed URLs, and `GET /object/info/…`. Responses carry `Content-Type`, `Content-Length`,
//! `ETag`, `Last-Modified`, `Cache-Control`, `Accept-Ranges: bytes` and `X-Robots-Tag: none`;
//! a single `Range` answers 206 with `Content-Range` (416 outside the object);
//! `If-None-Match` / `If-Modified-Since` answer 304; `?download[=name]` sets
//! `Content-Disposition: attachment`.

use std::collections::HashMap;
use std::ops::Range;

use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{find_object, object_path, ObjectRow};
use crate::request::{StorageRequest, Unauthenticated};
use crate::Error;

/// `GET`/`HEAD /object/{bucket}/{path}` and `/object/authenticated/{bucket}/{path}`.
pub(crate) async fn authenticated(
    req: StorageRequest,
    method: Method,
    Path((bucket, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Error> {
    let name = object_path(&path)?;
    let row = find_object(&req, &bucket, &name, false).await?;
    respond(&req, &method, row, &query, None).await
}

/// `GET`/`HEAD /object/public/{bucket}/{path}`: no token needed when the bucket is public.
pub(crate) async fn public(
    Unauthenticated(req): Unauthenticated,
    method: Method,
    Path((bucket, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Error> {
    let name = object_path(&path)?;
    let row = find_object(&req, &bucket, &name, true).await?;
    respond(&req, &method, row, &query, None).await
}

/// `GET /object/sign/{bucket}/{path}?token=`: the object a signed URL names.
pub(crate) async fn signed(
    Unauthenticated(req): Unauthenticated,
    method: Method,
    Path((bucket, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Error> {
    let name = object_path(&path)?;
    let token = query.get("token").ok_or_else(|| {
        Error::InvalidRequest("querystring must have required property 'token'".into())
    })?;
    let claims = super::sign::verify(&req.state, token, &bucket, &name, "download")?;
    let row = find_object(&req, &bucket, &name, false).await?;
    let expires = claims
        .get("exp")
        .and_then(Value::as_i64)
        .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0))
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    respond(&req, &method, row, &query, expires).await
}

/// `GET /object/info/{bucket}/{path}` (also under `/info/authenticated/`).
pub(crate) async fn info(
    req: StorageRequest,
    Path((bucket, path)): Path<(String, String)>,
) -> Result<Response, Error> {
    let name = object_path(&path)?;
    let row = find_object(&req, &bucket, &name, false).await?;
    Ok(info_response(row))
}

/// `GET /object/info/public/{bucket}/{path}`.
pub(crate) async fn info_public(
    Unauthenticated(req): Unauthenticated,
    Path((bucket, path)): Path<(String, String)>,
) -> Result<Response, Error> {
    let name = object_path(&path)?;
    let row = find_object(&req, &bucket, &name, true).await?;
    Ok(info_response(row))
}

fn info_response(row: ObjectRow) -> Response {
    let body = json!({
        "id": row.id,
        "name": row.name,
        "version": row.version,
        "bucket_id": row.bucket_id,
        "size": row.metadata.get("size").cloned().unwrap_or(Value::Null),
        "content_type": row.metadata.get("mimetype").cloned().unwrap_or(Value::Null),
        "cache_control": row.metadata.get("cacheControl").cloned().unwrap_or(Value::Null),
        "etag": row.metadata.get("eTag").cloned().unwrap_or(Value::Null),
        "metadata": row.user_metadata,
        "last_modified": row.updated_at,
        "created_at": row.created_at,
    });
    let mut res = Json(body).into_response();
    let h = res.headers_mut();
    if let Some(etag) = row
        .meta_str("eTag")
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::ETAG, etag);
    }
    if let Some(cc) = row
        .meta_str("cacheControl")
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::CACHE_CONTROL, cc);
    }
    res
}

/// The last-modified time of a row, for `Last-Modified` and `If-Modified-Since`.
fn last_modified(row: &ObjectRow) -> Option<chrono::DateTime<chrono::Utc>> {
    row.meta_str("lastModified")
        .or(Some(row.updated_at.as_str()))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// A single `bytes=` range against `size`: `Ok(None)` for no (or an ignored multi-) range,
/// `Err` when it lies outside the object.
pub(crate) fn parse_range(value: &str, size: u64) -> Result<Option<Range<u64>>, Error> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let unsatisfiable = Error::InvalidRange { size };
    let (start, end) = spec.split_once('-').ok_or(Error::InvalidRange { size })?;
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| Error::InvalidRange { size })?;
        if suffix == 0 || size == 0 {
            return Err(unsatisfiable);
        }
        size.saturating_sub(suffix)..size
    } else {
        let start: u64 = start.parse().map_err(|_| Error::InvalidRange { size })?;
        let end: u64 = if end.is_empty() {
            size.saturating_sub(1)
        } else {
            end.parse::<u64>()
                .map_err(|_| Error::InvalidRange { size })?
                .min(size.saturating_sub(1))
        };
        if start >= size || end < start {
            return Err(unsatisfiable);
        }
        start..end + 1
    };
    Ok(Some(range))
}

/// The object's bytes (or only its headers, for `HEAD`) with upstream's headers.
async fn respond(
    req: &StorageRequest,
    method: &Method,
    row: ObjectRow,
    query: &HashMap<String, String>,
    expires: Option<String>,
) -> Result<Response, Error> {
    let headers = req.headers();
    let size = row.size();
    let etag = row.meta_str("eTag").unwrap_or("").to_string();
    let modified = last_modified(&row);
    let mut out = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(name, v);
        }
    };
    put(header::ACCEPT_RANGES, "bytes");
    put(
        header::CONTENT_TYPE,
        row.meta_str("mimetype")
            .unwrap_or("application/octet-stream"),
    );
    if !etag.is_empty() {
        put(header::ETAG, &etag);
    }
    put(header::HeaderName::from_static("x-robots-tag"), "none");
    if let Some(m) = modified {
        put(
            header::LAST_MODIFIED,
            &m.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        );
    }
    match &expires {
        Some(e) => put(header::EXPIRES, e),
        None => {
            if let Some(cc) = row.meta_str("cacheControl") {
                put(header::CACHE_CONTROL, cc);
            }
        }
    }
    if let Some(download) = query.get("download") {
        if download.is_empty() {
            put(header::CONTENT_DISPOSITION, "attachment;");
        } else {
            let encoded = urlencoding(download);
            put(
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename={encoded}; filename*=UTF-8''{encoded}"),
            );
        }
    }

    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(wanted) => wanted
            .split(',')
            .map(str::trim)
            .any(|w| w == "*" || w == etag || w.trim_start_matches("W/") == etag),
        None => match (
            headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok()),
            modified,
        ) {
            (Some(since), Some(m)) => m.timestamp() <= since.timestamp(),
            _ => false,
        },
    };
    if not_modified {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        for name in [header::ETAG, header::CACHE_CONTROL, header::LAST_MODIFIED] {
            if let Some(v) = out.get(&name) {
                res.headers_mut().insert(name, v.clone());
            }
        }
        return Ok(res);
    }

    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => parse_range(r, size)?,
        None => None,
    };
    let status = match &range {
        Some(r) => {
            put(
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{size}", r.start, r.end - 1),
            );
            StatusCode::PARTIAL_CONTENT
        }
        None => StatusCode::OK,
    };
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    put(header::CONTENT_LENGTH, &length.to_string());

    let body = if method == Method::HEAD || length == 0 {
        Body::empty()
    } else {
        let read = req.state.store.get(&row.key(), range).await?;
        Body::from_stream(read.stream)
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = out;
    Ok(res)
}

/// `encodeURIComponent`.
fn urlencoding(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_http_defines_them() {
        assert_eq!(parse_range("bytes=0-4", 10).ok().flatten(), Some(0..5));
        assert_eq!(parse_range("bytes=5-", 10).ok().flatten(), Some(5..10));
        assert_eq!(parse_range("bytes=-3", 10).ok().flatten(), Some(7..10));
        assert_eq!(parse_range("bytes=8-100", 10).ok().flatten(), Some(8..10));
        assert!(parse_range("bytes=10-", 10).is_err());
        assert!(parse_range("bytes=5-2", 10).is_err());
        assert!(parse_range("bytes=x-2", 10).is_err());
        assert_eq!(parse_range("bytes=0-1,4-5", 10).ok().flatten(), None);
        assert_eq!(parse_range("items=0-1", 10).ok().flatten(), None);
    }

    #[test]
    fn file_names_encode_as_encode_uri_component() {
        assert_eq!(urlencoding("a b/ü.png"), "a%20b%2F%C3%BC.png");
    }
}
