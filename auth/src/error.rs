//! GoTrue's error envelope (`internal/api/errors.go`, `apierrors/errorcode.go`): every failure
//! carries an HTTP status, an `error_code` from GoTrue's table and a message. The body depends on
//! the request's `X-Supabase-Api-Version`: from `2024-01-01` on it is `{code, message}` (and the
//! header is echoed), before it is the legacy `{code: <status>, error_code, msg}`. Weak passwords
//! add `weak_password: {reasons}`. Internal failures are logged with their cause and answered
//! with an opaque 500 `unexpected_failure`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use thiserror::Error;

/// Result alias of the auth crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// GoTrue's error codes (`apierrors/errorcode.go`): the service's one code table. Some belong
/// to features still to come (MFA, SSO).
pub(crate) mod code {
    #![allow(missing_docs, dead_code)]
    pub(crate) const UNEXPECTED_FAILURE: &str = "unexpected_failure";
    pub(crate) const VALIDATION_FAILED: &str = "validation_failed";
    pub(crate) const BAD_JSON: &str = "bad_json";
    pub(crate) const EMAIL_EXISTS: &str = "email_exists";
    pub(crate) const PHONE_EXISTS: &str = "phone_exists";
    pub(crate) const BAD_JWT: &str = "bad_jwt";
    pub(crate) const NOT_ADMIN: &str = "not_admin";
    pub(crate) const NO_AUTHORIZATION: &str = "no_authorization";
    pub(crate) const USER_NOT_FOUND: &str = "user_not_found";
    pub(crate) const SESSION_NOT_FOUND: &str = "session_not_found";
    pub(crate) const SESSION_EXPIRED: &str = "session_expired";
    pub(crate) const REFRESH_TOKEN_NOT_FOUND: &str = "refresh_token_not_found";
    pub(crate) const REFRESH_TOKEN_ALREADY_USED: &str = "refresh_token_already_used";
    pub(crate) const FLOW_STATE_NOT_FOUND: &str = "flow_state_not_found";
    pub(crate) const FLOW_STATE_EXPIRED: &str = "flow_state_expired";
    pub(crate) const SIGNUP_DISABLED: &str = "signup_disabled";
    pub(crate) const USER_BANNED: &str = "user_banned";
    pub(crate) const EMAIL_PROVIDER_DISABLED: &str = "email_provider_disabled";
    pub(crate) const PHONE_PROVIDER_DISABLED: &str = "phone_provider_disabled";
    pub(crate) const PROVIDER_DISABLED: &str = "provider_disabled";
    pub(crate) const EMAIL_NOT_CONFIRMED: &str = "email_not_confirmed";
    pub(crate) const PHONE_NOT_CONFIRMED: &str = "phone_not_confirmed";
    pub(crate) const USER_ALREADY_EXISTS: &str = "user_already_exists";
    pub(crate) const REAUTHENTICATION_NEEDED: &str = "reauthentication_needed";
    pub(crate) const SAME_PASSWORD: &str = "same_password";
    pub(crate) const REAUTHENTICATION_NOT_VALID: &str = "reauthentication_not_valid";
    pub(crate) const OTP_EXPIRED: &str = "otp_expired";
    pub(crate) const OTP_DISABLED: &str = "otp_disabled";
    pub(crate) const WEAK_PASSWORD: &str = "weak_password";
    pub(crate) const OVER_REQUEST_RATE_LIMIT: &str = "over_request_rate_limit";
    pub(crate) const OVER_EMAIL_SEND_RATE_LIMIT: &str = "over_email_send_rate_limit";
    pub(crate) const BAD_CODE_VERIFIER: &str = "bad_code_verifier";
    pub(crate) const ANONYMOUS_PROVIDER_DISABLED: &str = "anonymous_provider_disabled";
    pub(crate) const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub(crate) const CONFLICT: &str = "conflict";
    pub(crate) const MFA_FACTOR_NOT_FOUND: &str = "mfa_factor_not_found";
    pub(crate) const MFA_TOTP_ENROLL_NOT_ENABLED: &str = "mfa_totp_enroll_not_enabled";
    pub(crate) const MFA_PHONE_ENROLL_NOT_ENABLED: &str = "mfa_phone_enroll_not_enabled";
    pub(crate) const MFA_WEBAUTHN_ENROLL_NOT_ENABLED: &str = "mfa_webauthn_enroll_not_enabled";
    pub(crate) const MANUAL_LINKING_DISABLED: &str = "manual_linking_disabled";
    pub(crate) const SSO_PROVIDER_NOT_FOUND: &str = "sso_provider_not_found";
    pub(crate) const SAML_PROVIDER_DISABLED: &str = "saml_provider_disabled";
    pub(crate) const WEB3_PROVIDER_DISABLED: &str = "web3_provider_disabled";
    pub(crate) const REQUEST_TIMEOUT: &str = "request_timeout";
    pub(crate) const UNKNOWN: &str = "unknown";
}

/// An error answered to the client with a status, a GoTrue error code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// GoTrue's `error_code`.
    pub code: &'static str,
    /// The human-readable message (GoTrue's wording).
    pub message: String,
    /// `weak_password.reasons`, for `weak_password` only.
    pub reasons: Vec<&'static str>,
}

/// Errors of the auth service.
#[derive(Debug, Error)]
pub enum Error {
    /// An error with a wire code (4xx, or a deliberate 5xx).
    #[error("{}: {}", .0.code, .0.message)]
    Api(ApiError),
    /// The caller's key or token was refused.
    #[error(transparent)]
    Key(#[from] bucketbase_caller::KeyError),
    /// A database failure.
    #[error(transparent)]
    Db(#[from] bucketbase_sql::DbError),
    /// Anything else that must not reach the client.
    #[error("{0}")]
    Internal(String),
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Db(e.into())
    }
}

impl From<bucketbase_sql::deadpool_postgres::PoolError> for Error {
    fn from(e: bucketbase_sql::deadpool_postgres::PoolError) -> Self {
        Error::Db(e.into())
    }
}

impl Error {
    /// An error with `status`, `code` and `message`.
    pub fn api(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Error::Api(ApiError {
            status,
            code,
            message: message.into(),
            reasons: Vec::new(),
        })
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(StatusCode::FORBIDDEN, code, message)
    }

    /// 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(StatusCode::NOT_FOUND, code, message)
    }

    /// 422.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 429.
    pub fn too_many(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(StatusCode::TOO_MANY_REQUESTS, code, message)
    }

    /// 422 `weak_password` with the reasons (`length`, `characters`, `pwned`).
    pub fn weak_password(message: impl Into<String>, reasons: Vec<&'static str>) -> Self {
        Error::Api(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: code::WEAK_PASSWORD,
            message: message.into(),
            reasons,
        })
    }

    /// An internal failure with a cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    /// The wire form of this error; internal causes are logged here and replaced.
    pub fn to_api(&self) -> ApiError {
        match self {
            Error::Api(e) => e.clone(),
            Error::Key(_) => ApiError {
                status: StatusCode::FORBIDDEN,
                code: code::BAD_JWT,
                message: format!("invalid JWT: unable to parse or verify signature, {self}"),
                reasons: Vec::new(),
            },
            // The cause is logged once, by the kit's middleware, from the response.
            Error::Db(_) | Error::Internal(_) => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: code::UNEXPECTED_FAILURE,
                message: "Unexpected failure, please check server logs for more information".into(),
                reasons: Vec::new(),
            },
        }
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Api(e) => e.status,
            Error::Key(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error code this error answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Api(e) => e.code,
            Error::Key(_) => code::BAD_JWT,
            _ => code::UNEXPECTED_FAILURE,
        }
    }
}

/// The header that selects the error envelope.
pub(crate) const API_VERSION_HEADER: &str = "x-supabase-api-version";

impl ApiError {
    /// The body for API version `2024-01-01` (`modern`) or the initial version.
    pub fn body(&self, modern: bool) -> Value {
        // An error without a code (a hook's own error) omits `error_code` in the legacy body and
        // names a generic code in the modern one, as GoTrue's `HandleResponseError`.
        let generic = if self.status.is_server_error() {
            code::UNEXPECTED_FAILURE
        } else {
            code::UNKNOWN
        };
        let mut body = if modern {
            let code = if self.code.is_empty() {
                generic
            } else {
                self.code
            };
            json!({"code": code, "message": self.message})
        } else if self.code.is_empty() {
            json!({"code": self.status.as_u16(), "msg": self.message})
        } else {
            json!({"code": self.status.as_u16(), "error_code": self.code, "msg": self.message})
        };
        if !self.reasons.is_empty() {
            body["weak_password"] = json!({"reasons": self.reasons});
        }
        body
    }

    fn render(&self, modern: bool) -> Response {
        let mut res = (self.status, axum::Json(self.body(modern))).into_response();
        if let Ok(v) = HeaderValue::from_str(self.code) {
            if !self.code.is_empty() {
                res.headers_mut().insert("x-sb-error-code", v);
            }
        }
        if modern {
            res.headers_mut().insert(
                API_VERSION_HEADER,
                HeaderValue::from_static(API_VERSION_2024),
            );
        }
        res
    }
}

/// The only API version after the initial one.
pub(crate) const API_VERSION_2024: &str = "2024-01-01";

impl bucketbase_kit::ServiceError for Error {
    fn status(&self) -> StatusCode {
        Error::status(self)
    }

    fn code(&self) -> &str {
        Error::code(self)
    }

    /// The legacy envelope; [`api_version_layer`] re-renders the 2024-01-01 one.
    fn body(&self) -> Value {
        self.to_api().body(false)
    }

    fn internal_cause(&self) -> Option<String> {
        match self {
            Error::Db(e) => Some(format!("auth: {e:?}")),
            Error::Internal(e) => Some(format!("auth: {e}")),
            Error::Api(_) | Error::Key(_) => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let api = self.to_api();
        // Rendered in the legacy envelope; `api_version_layer` re-renders it when the request
        // asked for 2024-01-01.
        let mut res = api.render(false);
        if let Some(cause) = bucketbase_kit::ServiceError::internal_cause(&self) {
            res.extensions_mut()
                .insert(bucketbase_kit::InternalCause(cause));
        }
        res.extensions_mut().insert(api);
        res
    }
}

/// True when `header` names API version 2024-01-01 or later (a date `YYYY-MM-DD`).
pub(crate) fn is_modern_version(header: Option<&str>) -> bool {
    header.is_some_and(|v| {
        let v = v.trim();
        v.len() == 10
            && v.as_bytes()[4] == b'-'
            && v.as_bytes()[7] == b'-'
            && v.chars()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
            && v >= API_VERSION_2024
    })
}

/// Middleware: renders errors in the envelope the request's `X-Supabase-Api-Version` selects.
pub(crate) async fn api_version_layer(req: Request, next: Next) -> Response {
    let modern = is_modern_version(
        req.headers()
            .get(API_VERSION_HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let res = next.run(req).await;
    if !modern {
        return res;
    }
    match res.extensions().get::<ApiError>() {
        Some(api) => {
            let api = api.clone();
            let mut out = api.render(true);
            if let Some(cause) = res.extensions().get::<bucketbase_kit::InternalCause>() {
                out.extensions_mut().insert(cause.clone());
            }
            out.extensions_mut().insert(api);
            out
        }
        None => res,
    }
}

/// A JSON 200 response.
pub(crate) fn ok_json(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

/// An empty response with `status`.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = status;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_the_envelope_by_version() {
        assert!(is_modern_version(Some("2024-01-01")));
        assert!(is_modern_version(Some("2025-06-30")));
        assert!(!is_modern_version(Some("2023-12-31")));
        assert!(!is_modern_version(Some("garbage!!!")));
        assert!(!is_modern_version(None));
    }

    #[test]
    fn renders_both_bodies() {
        let e = Error::weak_password("Password should be at least 6 characters.", vec!["length"]);
        let api = e.to_api();
        assert_eq!(
            api.body(true),
            json!({"code": "weak_password", "message": "Password should be at least 6 characters.",
                   "weak_password": {"reasons": ["length"]}})
        );
        assert_eq!(api.body(false)["code"], 422);
        assert_eq!(api.body(false)["error_code"], "weak_password");
        assert_eq!(
            api.body(false)["msg"],
            "Password should be at least 6 characters."
        );
    }

    #[test]
    fn internal_errors_stay_opaque() {
        let api = Error::internal("relation auth.users does not exist").to_api();
        assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(api.code, "unexpected_failure");
        assert!(!api.message.contains("auth.users"));
    }
}
