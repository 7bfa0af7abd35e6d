//! PostgREST's error table (`PostgREST.Error`): every failure of the REST service renders as
//! `{"code","details","hint","message"}` with the status PostgREST gives it, PostgreSQL errors
//! keep their SQLSTATE, message, detail and hint, and their status follows PostgREST's
//! SQLSTATE table.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bucketbase_caller::KeyError;
use serde_json::{json, Value};

pub(crate) use codes::ErrorCode;

mod codes;
pub(crate) mod fuzzy;

/// Result alias of the REST service.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A REST error: what the client sees.
#[derive(Debug, Clone)]
pub struct Error {
    /// HTTP status.
    pub status: StatusCode,
    /// `code`: a `PGRST…` code or a SQLSTATE.
    pub code: String,
    /// `message`.
    pub message: String,
    /// `details` (`null` when absent; a list for PGRST201/PGRST203).
    pub details: Option<Value>,
    /// `hint` (`null` when absent).
    pub hint: Option<String>,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`, custom `PGRST` errors).
    pub headers: Vec<(String, String)>,
    /// For failures that are not the client's: the cause, logged once by the kit's middleware
    /// and never sent.
    pub cause: Option<String>,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// An error with one of PostgREST's codes (and that code's status).
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::raw(code.status(), code.code(), message)
    }

    /// A PostgreSQL error that PostgREST passes on without the database having raised it
    /// (`21000` of pg-safeupdate, `22003` of an out-of-range `LIMIT`): its status is the
    /// SQLSTATE's.
    pub(crate) fn sqlstate(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::raw(sqlstate_status(code, &message, false), code, message)
    }

    fn raw(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.to_string(),
            message: message.into(),
            details: None,
            hint: None,
            headers: Vec::new(),
            cause: None,
        }
    }

    /// Sets `details`.
    pub(crate) fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(Value::String(details.into()));
        self
    }

    /// Sets `details` to a JSON value.
    pub(crate) fn details_json(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Sets `hint`.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a response header.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// `PGRST100`: the query string does not parse.
    pub(crate) fn parse(e: bucketbase_grammar::ParseError) -> Self {
        if e.message.starts_with("Requested range not satisfiable") {
            let mut err = Error::new(
                ErrorCode::RangeNotSatisfiable,
                "Requested range not satisfiable",
            );
            err.details = e.details.map(Value::String);
            return err;
        }
        let mut err = Error::new(ErrorCode::QueryParse, e.message);
        err.details = e.details.map(Value::String);
        err
    }

    /// `PGRST102`: the body is not what the request needs.
    pub(crate) fn body(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidBody, message)
    }

    /// An unexpected failure: opaque to the client, full cause in the log.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        Error::new(ErrorCode::Internal, "Internal server error").caused_by(cause)
    }

    /// Records the internal cause to log with this error's response.
    fn caused_by(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// A refused key or token (`PGRST301` / `PGRST303`), with `WWW-Authenticate`.
    pub(crate) fn key(e: &KeyError) -> Self {
        let code = if e.is_claims_error() {
            ErrorCode::InvalidClaims
        } else if matches!(e, KeyError::Missing) {
            ErrorCode::AnonymousDisabled
        } else {
            ErrorCode::InvalidToken
        };
        let message = match e {
            KeyError::Missing => "Anonymous access is disabled".to_string(),
            other => other.to_string(),
        };
        let www = if matches!(e, KeyError::Missing) {
            "Bearer".to_string()
        } else {
            format!("Bearer error=\"invalid_token\", error_description=\"{message}\"")
        };
        Error::new(code, message).header("www-authenticate", www)
    }

    /// Maps a database failure as PostgREST does; `anon` says whether the caller is the anon
    /// role (42501 is 401 for anon, 403 otherwise).
    pub(crate) fn db(e: &bucketbase_sql::DbError, anon: bool) -> Self {
        let Some(pg) = e.as_db_error() else {
            return match e {
                // PostgREST's `ConnectionUsageError`: no connection could be made.
                bucketbase_sql::DbError::Unavailable { retry_after, cause } => {
                    Error::new(ErrorCode::DbConnection, "Database connection error.")
                        .details(cause.clone())
                        .header(
                            "retry-after",
                            retry_after.as_secs_f64().ceil().max(1.0).to_string(),
                        )
                }
                bucketbase_sql::DbError::Pool(_) => Error::new(
                    ErrorCode::PoolTimeout,
                    "Timed out acquiring connection from connection pool.",
                ),
                bucketbase_sql::DbError::Postgres(pg) if !pg.is_closed() => Error::internal(e),
                _ => Error::new(
                    ErrorCode::DbClient,
                    "Database client error. Retrying the connection.",
                )
                .caused_by(format!("database connection error: {e}")),
            };
        };
        let code = pg.code().code();
        let message = pg.message().to_string();
        if code == "PGRST" {
            return custom_error(pg);
        }
        let status = sqlstate_status(code, &message, anon);
        let mut err = Error::raw(status, code, message);
        err.details = pg.detail().map(|d| Value::String(d.to_string()));
        err.hint = pg.hint().map(str::to_string);
        if status == 401 {
            err = err.header("www-authenticate", "Bearer");
        }
        err
    }

    /// The JSON body of the error.
    pub(crate) fn body_json(&self) -> Value {
        json!({
            "code": self.code,
            "details": self.details,
            "hint": self.hint,
            "message": self.message,
        })
    }
}

/// PostgREST's SQLSTATE → HTTP status table (`Error.hs`, `pgErrorStatus`).
pub(crate) fn sqlstate_status(code: &str, message: &str, anon: bool) -> u16 {
    if let Some(status) = code.strip_prefix("PT").and_then(|s| s.parse::<u16>().ok()) {
        if (100..600).contains(&status) {
            return status;
        }
    }
    match code {
        "21000" if message.ends_with("requires a WHERE clause") => 400,
        "22023" if message.starts_with("role ") && message.ends_with("does not exist") => 401,
        "23503" | "23505" => 409,
        "25006" => 405,
        "42883" | "42P01" => 404,
        "42P17" => 500,
        "42501" => {
            if anon {
                401
            } else {
                403
            }
        }
        "53400" => 500,
        "57P01" => 503,
        "P0001" => 400,
        _ => match &code[..code.len().min(2)] {
            "08" => 503,
            "09" => 500,
            "0L" | "0P" => 403,
            "21" => 500,
            "25" | "2D" | "38" | "39" | "3B" | "40" => 500,
            "28" => 403,
            "53" => 503,
            "54" | "55" | "57" | "58" | "F0" | "HV" | "XX" | "P0" => 500,
            _ => 400,
        },
    }
}

/// `RAISE SQLSTATE 'PGRST' USING MESSAGE = '{json}', DETAIL = '{"status":…,"headers":…}'`.
fn custom_error(pg: &bucketbase_sql::tokio_postgres::error::DbError) -> Error {
    let body: Option<Value> = serde_json::from_str(pg.message()).ok();
    let detail: Option<Value> = pg.detail().and_then(|d| serde_json::from_str(d).ok());
    let (Some(body), Some(detail)) = (body, detail) else {
        return Error::new(ErrorCode::RaiseParse, "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error")
            .details(format!("Invalid JSON value for MESSAGE: '{}'", pg.message()))
            .hint("MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.");
    };
    let text = |k: &str| match body.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(v) => Some(v.to_string()),
    };
    let status = detail.get("status").and_then(Value::as_u64).unwrap_or(400) as u16;
    let mut err = Error::raw(
        status,
        &text("code").unwrap_or_default(),
        text("message").unwrap_or_default(),
    );
    err.details = text("details").map(Value::String);
    err.hint = text("hint");
    if let Some(Value::Object(h)) = detail.get("headers") {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                err.headers.push((k.clone(), v.to_string()));
            }
        }
    }
    err
}

impl bucketbase_kit::ServiceError for Error {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn code(&self) -> &str {
        &self.code
    }

    fn body(&self) -> Value {
        self.body_json()
    }

    fn internal_cause(&self) -> Option<String> {
        self.cause.clone()
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = self.body_json().to_string();
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("PostgREST; error={}", self.code)) {
            h.insert("proxy-status", v);
        }
        for (k, v) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                h.insert(name, value);
            }
        }
        if let Some(cause) = self.cause {
            res.extensions_mut()
                .insert(bucketbase_kit::InternalCause(cause));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_sqlstates_like_postgrest() {
        assert_eq!(sqlstate_status("23505", "", false), 409);
        assert_eq!(sqlstate_status("23503", "", false), 409);
        assert_eq!(sqlstate_status("42501", "", true), 401);
        assert_eq!(sqlstate_status("42501", "", false), 403);
        assert_eq!(sqlstate_status("P0001", "", false), 400);
        assert_eq!(sqlstate_status("25006", "", false), 405);
        assert_eq!(sqlstate_status("PT402", "", false), 402);
        assert_eq!(
            sqlstate_status("21000", "DELETE requires a WHERE clause", false),
            400
        );
        assert_eq!(sqlstate_status("21000", "more than one row", false), 500);
        assert_eq!(sqlstate_status("22P02", "", false), 400);
        assert_eq!(sqlstate_status("42P01", "", false), 404);
        assert_eq!(sqlstate_status("08006", "", false), 503);
        assert_eq!(sqlstate_status("P0002", "", false), 500);
        assert_eq!(
            sqlstate_status("22023", "role \"x\" does not exist", false),
            401
        );
    }
}
