//! `/verify`, as GoTrue's `verify.go`: `POST` checks `{email, token, type}` or
//! `{token_hash, type}` and answers a Session; `GET` (the link in a mail) answers `303 See Other`
//! to the redirect URL with the session in the fragment (implicit flow), `?code=` (PKCE, when
//! the token hash carries the `pkce_` prefix), or the error as
//! `#error=…&error_code=…&error_description=…&sb=`. Email changes with secure email change need
//! both addresses confirmed; the first confirmation answers a message instead of a session.

use axum::extract::State as S;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::accounts;
use crate::audit::Action;
use crate::error::{code, ok_json, ApiError, Error, Result};
use crate::one_time::{self, TokenType, PKCE_PREFIX};
use crate::rate_limit::Limit;
use crate::request::{JsonBody, RequestInfo};
use crate::tokens;
use crate::user::{self, User};
use crate::State;
use bucketbase_sql::ServiceTx;

const SINGLE_CONFIRMATION: &str =
    "Confirmation link accepted. Please proceed to confirm link sent to the other email";

/// The body of `POST /verify`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct VerifyParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    token: Option<String>,
    token_hash: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    redirect_to: Option<String>,
}

enum Outcome {
    Verified(Box<User>),
    SingleConfirmation,
}

fn link_invalid() -> Error {
    Error::forbidden(code::OTP_EXPIRED, "Email link is invalid or has expired")
}

fn token_invalid() -> Error {
    Error::forbidden(code::OTP_EXPIRED, "Token has expired or is invalid")
}

fn expired(sent_at: Option<chrono::DateTime<chrono::Utc>>, state: &State) -> bool {
    let exp = chrono::Duration::from_std(state.config().mailer.otp_exp).unwrap_or_default();
    sent_at.is_none_or(|s| chrono::Utc::now() > s + exp)
}

fn otp_matches(actual: &str, expected: Option<&str>) -> bool {
    let expected = expected.unwrap_or("");
    !expected.is_empty()
        && (actual == expected || expected.strip_prefix(PKCE_PREFIX) == Some(actual))
}

/// Finds the user of a token hash (GoTrue's `verifyTokenHash`); may rewrite `email` to the
/// concrete type.
async fn user_by_hash(
    state: &State,
    tx: &mut ServiceTx,
    kind: &mut String,
    hash: &str,
) -> Result<User> {
    let kinds: &[TokenType] = match kind.as_str() {
        "email" => &[TokenType::Confirmation, TokenType::Recovery],
        "signup" | "invite" => &[TokenType::Confirmation],
        "recovery" | "magiclink" => &[TokenType::Recovery],
        "email_change" => &[TokenType::EmailChangeCurrent, TokenType::EmailChangeNew],
        _ => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "Invalid email verification type",
            ))
        }
    };
    let id = one_time::find_user(tx, hash, kinds)
        .await?
        .ok_or_else(link_invalid)?;
    let user = user::find_by_id(tx, id, true)
        .await?
        .ok_or_else(link_invalid)?;
    if user.is_banned() {
        return Err(Error::forbidden(code::USER_BANNED, "User is banned"));
    }
    let sent_at = match kind.as_str() {
        "email" => {
            if user.recovery_token.as_deref() == Some(hash) {
                *kind = "magiclink".into();
                user.recovery_sent_at
            } else {
                *kind = "signup".into();
                user.confirmation_sent_at
            }
        }
        "signup" | "invite" => user.confirmation_sent_at,
        "recovery" | "magiclink" => user.recovery_sent_at,
        _ => user.email_change_sent_at,
    };
    if expired(sent_at, state) {
        return Err(link_invalid());
    }
    Ok(user)
}

/// Finds the user of `{email, token}` (GoTrue's `verifyUserAndToken`).
async fn user_by_email_token(
    state: &State,
    tx: &mut ServiceTx,
    kind: &mut String,
    email: &str,
    hash: &str,
    aud: &str,
) -> Result<User> {
    let user = if kind == "email_change" {
        let row = tx
            .query_opt(
                "select id from auth.users where aud = $2 and \
                   (lower(email) = lower($1) or lower(email_change) = lower($1)) limit 1",
                &[&email, &aud],
            )
            .await?;
        match row {
            Some(r) => user::find_by_id(tx, r.try_get(0)?, true).await?,
            None => None,
        }
    } else {
        match user::find_by_email(tx, email, aud).await? {
            Some(u) => user::find_by_id(tx, u.id, true).await?,
            None => None,
        }
    };
    let user = user.ok_or_else(token_invalid)?;
    if user.is_banned() {
        return Err(Error::forbidden(code::USER_BANNED, "User is banned"));
    }
    let valid = match kind.as_str() {
        "email" => {
            if otp_matches(hash, user.confirmation_token.as_deref())
                && !expired(user.confirmation_sent_at, state)
            {
                *kind = "signup".into();
                true
            } else if otp_matches(hash, user.recovery_token.as_deref())
                && !expired(user.recovery_sent_at, state)
            {
                *kind = "magiclink".into();
                true
            } else {
                false
            }
        }
        "signup" | "invite" => {
            otp_matches(hash, user.confirmation_token.as_deref())
                && !expired(user.confirmation_sent_at, state)
        }
        "recovery" | "magiclink" => {
            otp_matches(hash, user.recovery_token.as_deref())
                && !expired(user.recovery_sent_at, state)
        }
        "email_change" => {
            (otp_matches(hash, user.email_change_token_current.as_deref())
                || otp_matches(hash, user.email_change_token_new.as_deref()))
                && !expired(user.email_change_sent_at, state)
        }
        "sms" | "phone_change" => {
            return Err(Error::bad_request(
                code::PHONE_PROVIDER_DISABLED,
                "Unsupported phone provider",
            ))
        }
        _ => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "Unsupported verification type",
            ))
        }
    };
    if !valid {
        return Err(token_invalid());
    }
    Ok(user)
}

/// Applies a verified token of `kind` to `user`.
async fn apply(
    state: &State,
    tx: &mut ServiceTx,
    info: &RequestInfo,
    user: User,
    kind: &str,
    hash: &str,
) -> Result<Outcome> {
    let id = user.id;
    match kind {
        "signup" | "invite" => {
            tokens::audit_user(
                tx,
                info,
                &user,
                Action::UserSignedUp,
                Some(json!({"provider": "email"})),
            )
            .await?;
            accounts::confirm(tx, id).await?;
        }
        "recovery" | "magiclink" => {
            tx.query(
                "update auth.users set recovery_token = '', updated_at = now() where id = $1",
                &[&id],
            )
            .await?;
            one_time::clear_all(tx, id).await?;
            if user.is_confirmed() {
                tokens::audit_user(tx, info, &user, Action::Login, None).await?;
            } else {
                tokens::audit_user(
                    tx,
                    info,
                    &user,
                    Action::UserSignedUp,
                    Some(json!({"provider": "email"})),
                )
                .await?;
                accounts::confirm(tx, id).await?;
            }
        }
        "email_change" => {
            let config = state.config();
            if !config.mailer.autoconfirm
                && config.mailer.secure_email_change
                && user.email_change_confirm_status == 0
                && !user.email().is_empty()
            {
                // First of two confirmations: consume the matching token only.
                let current = otp_matches(hash, user.email_change_token_current.as_deref());
                let (column, token_type) = if current {
                    ("email_change_token_current", TokenType::EmailChangeCurrent)
                } else {
                    ("email_change_token_new", TokenType::EmailChangeNew)
                };
                let sql = format!(
                    "update auth.users set {column} = '', email_change_confirm_status = 1, \
                       updated_at = now() where id = $1"
                );
                tx.query(&sql, &[&id]).await?;
                tx.query(
                    "delete from auth.one_time_tokens where user_id = $1 and token_type = $2::text::auth.one_time_token_type",
                    &[&id, &token_type.as_str()],
                )
                .await?;
                return Ok(Outcome::SingleConfirmation);
            }
            let new_email = user.email_change.clone().unwrap_or_default();
            if new_email.is_empty() {
                return Err(link_invalid());
            }
            tokens::audit_user(tx, info, &user, Action::UserModified, None).await?;
            tx.query(
                "update auth.users set email = $2, email_change = '', email_change_token_current = '', \
                   email_change_token_new = '', email_change_confirm_status = 0, is_anonymous = false, \
                   updated_at = now() where id = $1",
                &[&id, &new_email],
            )
            .await?;
            one_time::clear_all(tx, id).await?;
            let updated = tx
                .query(
                    "update auth.identities set identity_data = identity_data || \
                       jsonb_build_object('email', $2::text, 'email_verified', true), updated_at = now() \
                     where user_id = $1 and provider = 'email' returning id",
                    &[&id, &new_email],
                )
                .await?;
            if updated.is_empty() {
                let mut data =
                    accounts::email_identity_data(id, &new_email, &serde_json::Map::new());
                data["email_verified"] = json!(true);
                accounts::ensure_identity(tx, id, "email", &data).await?;
            }
            if !user.is_confirmed() {
                accounts::confirm(tx, id).await?;
            }
        }
        _ => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "Unsupported verification type",
            ))
        }
    }
    accounts::update_providers(tx, id).await?;
    Ok(Outcome::Verified(Box::new(accounts::reload(tx, id).await?)))
}

/// `POST /verify`.
pub(crate) async fn verify_post(
    S(state): S<State>,
    info: RequestInfo,
    JsonBody(p): JsonBody<VerifyParams>,
) -> Result<Response> {
    state.limiter().check(Limit::Verify, &info.limit_key)?;
    let mut kind = p.kind.clone().unwrap_or_default();
    if kind.is_empty() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Verify requires a verification type",
        ));
    }
    let token = p.token.as_deref().filter(|t| !t.is_empty());
    let token_hash = p.token_hash.as_deref().filter(|t| !t.is_empty());
    let email = p.email.as_deref().filter(|e| !e.is_empty());
    let phone = p.phone.as_deref().filter(|e| !e.is_empty());
    if token.is_some() == token_hash.is_some() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Verify requires either a token or a token hash",
        ));
    }
    let aud = info.aud(&state);
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let (user, hash) = if let Some(token) = token {
        match (email, phone) {
            (Some(e), None) => {
                let e = accounts::validate_email(e).map_err(|_| {
                    Error::unprocessable(code::VALIDATION_FAILED, "Invalid email format")
                })?;
                let hash = one_time::token_hash(&e, token);
                let u = user_by_email_token(&state, &mut tx, &mut kind, &e, &hash, &aud).await?;
                (u, hash)
            }
            (None, Some(phone)) => {
                // GoTrue validates the number, then finds no user with a pending SMS code: no
                // SMS is ever sent here, so no code can match.
                accounts::validate_phone(phone)?;
                return Err(token_invalid());
            }
            _ => {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "Only an email address or phone number should be provided on verify",
                ))
            }
        }
    } else {
        let hash = token_hash.unwrap_or_default().to_string();
        if email.is_some() || phone.is_some() || p.redirect_to.is_some() {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "Only the token_hash and type should be provided",
            ));
        }
        let u = user_by_hash(&state, &mut tx, &mut kind, &hash).await?;
        (u, hash)
    };
    match apply(&state, &mut tx, &info, user, &kind, &hash).await? {
        Outcome::SingleConfirmation => {
            tx.commit().await?;
            Ok(ok_json(json!({"msg": SINGLE_CONFIRMATION, "code": "200"})))
        }
        Outcome::Verified(mut user) => {
            let session = tokens::issue_session(&state, &mut tx, &info, &mut user, "otp").await?;
            tx.commit().await?;
            Ok(ok_json(session))
        }
    }
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = header::HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn encode(pairs: &mut [(&str, String)]) -> String {
    // Go's url.Values.Encode sorts by key.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter() {
        s.append_pair(k, v);
    }
    s.finish()
}

fn with_query(base: &str, pairs: &[(&str, String)]) -> String {
    let (without_fragment, _) = base.split_once('#').unwrap_or((base, ""));
    match url::Url::parse(without_fragment) {
        Ok(mut u) => {
            let mut existing: Vec<(String, String)> = u
                .query_pairs()
                .into_owned()
                .filter(|(k, _)| !pairs.iter().any(|(p, _)| p == k))
                .collect();
            existing.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
            existing.sort_by(|a, b| a.0.cmp(&b.0));
            u.query_pairs_mut().clear().extend_pairs(existing);
            u.to_string()
        }
        Err(_) => without_fragment.to_string(),
    }
}

fn error_redirect(base: &str, e: &ApiError, pkce: bool) -> String {
    let oauth = match e.status.as_u16() {
        400 => Some("invalid_request"),
        401 => Some("unauthorized_client"),
        403 => Some("access_denied"),
        500 => Some("server_error"),
        503 => Some("temporarily_unavailable"),
        _ => None,
    };
    let mut pairs: Vec<(&str, String)> = vec![
        ("error_code", e.code.to_string()),
        ("error_description", e.message.clone()),
    ];
    if let Some(o) = oauth {
        pairs.push(("error", o.to_string()));
    }
    let base = if pkce {
        with_query(base, &pairs)
    } else {
        base.split_once('#').map_or(base, |(b, _)| b).to_string()
    };
    pairs.push(("sb", String::new()));
    format!("{base}#{}", encode(&mut pairs))
}

/// `GET /verify?token=&type=&redirect_to=`.
pub(crate) async fn verify_get(S(state): S<State>, info: RequestInfo) -> Result<Response> {
    state.limiter().check(Limit::Verify, &info.limit_key)?;
    let mut kind = info.query.get("type").cloned().unwrap_or_default();
    let token = info.query.get("token").cloned().unwrap_or_default();
    if kind.is_empty() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Verify requires a verification type",
        ));
    }
    if token.is_empty() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Verify requires a token or a token hash",
        ));
    }
    let redirect = accounts::redirect_for(&state, &info, None);
    let pkce = token.starts_with(PKCE_PREFIX);
    let link_type = kind.clone();
    let result: Result<Response> = async {
        let mut tx = ServiceTx::begin(&state.db().admin).await?;
        let user = user_by_hash(&state, &mut tx, &mut kind, &token).await?;
        let auth_method = one_time::authentication_method(&kind);
        match apply(&state, &mut tx, &info, user, &kind, &token).await? {
            Outcome::SingleConfirmation => {
                tx.commit().await?;
                let mut pairs = vec![("message", SINGLE_CONFIRMATION.to_string())];
                let base = if pkce {
                    with_query(&redirect, &pairs)
                } else {
                    redirect.clone()
                };
                pairs.push(("sb", String::new()));
                Ok(see_other(&format!("{base}#{}", encode(&mut pairs))))
            }
            Outcome::Verified(mut user) => {
                if pkce {
                    let user_id: Uuid = user.id;
                    let code = one_time::issue_auth_code(&mut tx, user_id, auth_method)
                        .await
                        .map_err(|_| {
                            Error::bad_request(
                                code::FLOW_STATE_NOT_FOUND,
                                "No associated flow state found. No valid flow state found for user.",
                            )
                        })?;
                    tx.commit().await?;
                    return Ok(see_other(&with_query(&redirect, &[("code", code)])));
                }
                let session =
                    tokens::issue_session(&state, &mut tx, &info, &mut user, "otp").await?;
                tx.commit().await?;
                let field = |k: &str| match &session[k] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let mut pairs = vec![
                    ("access_token", field("access_token")),
                    ("token_type", field("token_type")),
                    ("expires_in", field("expires_in")),
                    ("expires_at", field("expires_at")),
                    ("refresh_token", field("refresh_token")),
                    ("type", link_type.clone()),
                    ("sb", String::new()),
                ];
                let base = redirect.split_once('#').map_or(redirect.as_str(), |(b, _)| b);
                Ok(see_other(&format!("{base}#{}", encode(&mut pairs))))
            }
        }
    }
    .await;
    match result {
        Ok(res) => Ok(res),
        Err(e @ Error::Api(_)) => Ok(see_other(&error_redirect(&redirect, &e.to_api(), pkce))),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_fragments_match_gotrue() {
        let e = link_invalid().to_api();
        assert_eq!(
            error_redirect("http://localhost:3000/cb", &e, false),
            "http://localhost:3000/cb#error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired&sb="
        );
        let pkce = error_redirect("http://localhost:3000/cb", &e, true);
        assert!(
            pkce.starts_with("http://localhost:3000/cb?error=access_denied&error_code=otp_expired")
        );
    }

    #[test]
    fn pkce_hashes_match_with_their_prefix() {
        assert!(otp_matches("abc", Some("pkce_abc")));
        assert!(otp_matches("abc", Some("abc")));
        assert!(!otp_matches("abc", Some("")));
        assert!(!otp_matches("abc", None));
    }
}
