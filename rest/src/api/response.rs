//! Response headers and status as PostgREST's `Response.hs`: `Content-Type`,
//! `Content-Profile`, `Content-Range` (`contentRangeH`), and the overrides a statement leaves in
//! `response.status` / `response.headers` (`overrideStatusHeaders`, `PGRST111` / `PGRST112`).

use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::media::Media;
use crate::error::{Error, ErrorCode};

/// `Content-Range` as PostgREST's `contentRangeH`.
pub(crate) fn content_range(lower: i64, upper: i64, total: Option<i64>) -> String {
    let range = if lower <= upper {
        format!("{lower}-{upper}")
    } else {
        "*".to_string()
    };
    let total = total.map_or("*".to_string(), |t| t.to_string());
    format!("{range}/{total}")
}

/// A response with PostgREST's headers.
pub(crate) fn response(
    status: u16,
    media: Media,
    schema: &str,
    body: Option<String>,
    headers: Vec<(&'static str, String)>,
) -> Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = match body {
        Some(b) => (status, b).into_response(),
        None => status.into_response(),
    };
    let h = res.headers_mut();
    if let Ok(v) = media.content_type().parse() {
        h.insert("content-type", v);
    }
    if let Ok(v) = schema.parse() {
        h.insert("content-profile", v);
    }
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            h.insert(k, v);
        }
    }
    res
}

/// The `response.headers` / `response.status` settings a statement left behind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gucs {
    /// `response.headers`: a JSON array of single-key objects.
    pub(crate) headers: Option<String>,
    /// `response.status`: a status code.
    pub(crate) status: Option<String>,
}

/// Applies the GUC overrides to `res` as PostgREST's `overrideStatusHeaders`: the status is
/// replaced, and the headers replace ours of the same name (a repeated name is kept repeated).
pub(crate) fn with_gucs(mut res: Response, gucs: &Gucs) -> Result<Response, Error> {
    if let Some(status) = &gucs.status {
        let digits: String = status
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let code = digits
            .parse::<u16>()
            .ok()
            .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ResponseStatusGuc,
                    "response.status guc must be a valid status code",
                )
            })?;
        *res.status_mut() = code;
    }
    if let Some(text) = &gucs.headers {
        let invalid = || {
            Error::new(ErrorCode::ResponseHeadersGuc,
                "response.headers guc must be a JSON array composed of objects with a single key and a string value",
            )
        };
        let list: Vec<serde_json::Map<String, Value>> =
            serde_json::from_str(text).map_err(|_| invalid())?;
        let mut pairs = Vec::new();
        for object in &list {
            let mut entries = object.iter();
            let (Some((name, Value::String(value))), None) = (entries.next(), entries.next())
            else {
                return Err(invalid());
            };
            let name =
                axum::http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let value = axum::http::HeaderValue::from_str(value).map_err(|_| invalid())?;
            pairs.push((name, value));
        }
        let h = res.headers_mut();
        for (name, _) in &pairs {
            h.remove(name);
        }
        for (name, value) in pairs {
            h.append(name, value);
        }
    }
    Ok(res)
}
