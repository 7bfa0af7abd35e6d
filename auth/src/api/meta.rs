//! GoTrue's informational endpoints (`settings.go`, `HealthCheck`, `jwks.go`) and the answers
//! for features outside this server (OAuth providers, MFA, SSO, identity linking), each with the
//! error GoTrue gives when the feature is disabled.

use axum::extract::State as S;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{code, ok_json, Error, Result};
use crate::request::authenticate_user;
use crate::State;
use bucketbase_sql::ServiceTx;

/// `GET /settings`.
pub(crate) async fn settings(S(state): S<State>) -> Response {
    let c = state.config();
    ok_json(json!({
        "external": {
            "anonymous_users": c.anonymous_enabled,
            "apple": false, "azure": false, "bitbucket": false, "discord": false,
            "facebook": false, "snapchat": false, "figma": false, "fly": false,
            "github": false, "gitlab": false, "google": false, "keycloak": false,
            "kakao": false, "linkedin": false, "linkedin_oidc": false, "notion": false,
            "spotify": false, "slack": false, "slack_oidc": false, "workos": false,
            "twitch": false, "twitter": false,
            "email": c.email_enabled,
            "phone": c.phone_enabled,
            "zoom": false,
        },
        "disable_signup": c.disable_signup,
        "mailer_autoconfirm": c.mailer.autoconfirm,
        "phone_autoconfirm": c.sms_autoconfirm,
        "sms_provider": "",
        "saml_enabled": false,
        "saml_private_key_next_configured": false,
        "passkeys_enabled": false,
    }))
}

/// `GET /health`.
pub(crate) async fn health() -> Response {
    ok_json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "name": "GoTrue",
        "description": "GoTrue is a user registration and authentication API",
    }))
}

/// `GET /.well-known/jwks.json`: no public keys while only the HS256 secret signs.
pub(crate) async fn jwks() -> Response {
    let mut res = ok_json(json!({"keys": []}));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=600"),
    );
    res
}

/// `GET /authorize`: no OAuth provider is enabled here.
pub(crate) async fn authorize(info: crate::request::RequestInfo) -> Result<Response> {
    let provider = info.query.get("provider").cloned().unwrap_or_default();
    Err(Error::bad_request(
        code::VALIDATION_FAILED,
        format!("Unsupported provider: provider {provider} could not be found"),
    ))
}

/// `GET|POST /callback`.
pub(crate) async fn callback() -> Result<Response> {
    Err(Error::bad_request(
        "bad_oauth_callback",
        "OAuth state parameter missing",
    ))
}

/// `/factors…`: MFA is not enabled. GoTrue authenticates these routes first, so a caller
/// without a session gets `no_authorization` before learning that MFA is off.
pub(crate) async fn mfa_disabled(S(state): S<State>, headers: HeaderMap) -> Result<Response> {
    let mut tx = ServiceTx::read(&state.db().admin).await?;
    authenticate_user(&state, &headers, &mut tx).await?;
    Err(Error::unprocessable(
        code::MFA_TOTP_ENROLL_NOT_ENABLED,
        "MFA enroll is disabled for TOTP",
    ))
}

/// `POST /factors`: enrolment is off for every factor type, answered per type as GoTrue's
/// `EnrollFactor` does (after authenticating the caller).
pub(crate) async fn enroll_disabled(
    S(state): S<State>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response> {
    let mut tx = ServiceTx::read(&state.db().admin).await?;
    authenticate_user(&state, &headers, &mut tx).await?;
    let body: serde_json::Value = crate::request::parse_body(&bytes)?;
    let (code, kind) = match body.get("factor_type").and_then(serde_json::Value::as_str) {
        Some("totp") => (code::MFA_TOTP_ENROLL_NOT_ENABLED, "TOTP"),
        Some("phone") => (code::MFA_PHONE_ENROLL_NOT_ENABLED, "Phone"),
        Some("webauthn") => (code::MFA_WEBAUTHN_ENROLL_NOT_ENABLED, "WebAuthn"),
        _ => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "factor_type needs to be totp, phone, or webauthn",
            ))
        }
    };
    Err(Error::unprocessable(
        code,
        format!("MFA enroll is disabled for {kind}"),
    ))
}

/// `/user/identities…`: manual linking is disabled.
pub(crate) async fn linking_disabled() -> Result<Response> {
    Err(Error::not_found(
        code::MANUAL_LINKING_DISABLED,
        "Manual linking is disabled",
    ))
}

/// `POST /sso`: SAML is disabled.
pub(crate) async fn sso_disabled() -> Result<Response> {
    Err(Error::not_found(
        code::SAML_PROVIDER_DISABLED,
        "SAML 2.0 is disabled",
    ))
}

/// Builds a JSON response with a header.
pub(crate) fn with_header(mut res: Response, name: &'static str, value: &str) -> Response {
    if let Ok(v) = header::HeaderValue::from_str(value) {
        res.headers_mut().insert(name, v);
    }
    res.into_response()
}
