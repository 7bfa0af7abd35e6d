//! The signed-in user's endpoints, as GoTrue's `user.go`, `logout.go` and `reauthenticate.go`:
//! `GET /user`, `PUT /user` (metadata, password with the optional reauthentication nonce, email
//! change with confirmation mails to the new and, by default, the current address; anonymous
//! users convert by adding an email), `POST /logout?scope=global|local|others` and
//! `/reauthenticate`.

use axum::extract::State as S;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::accounts;
use crate::audit::Action;
use crate::error::{code, empty, ok_json, Error, Result};
use crate::mail::MailKind;
use crate::one_time::{self, TokenType};
use crate::password;
use crate::rate_limit::Limit;
use crate::request::{authenticate_user, JsonBody, RequestInfo};
use crate::tokens;
use crate::user::{self, merge_metadata};
use crate::State;
use bucketbase_sql::ServiceTx;

/// `GET /user`.
pub(crate) async fn get_user(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
) -> Result<Response> {
    let mut tx = ServiceTx::read(&state.db().admin).await?;
    let authed = authenticate_user(&state, &headers, &mut tx).await?;
    let aud = info.aud(&state);
    let token_aud = match authed.claims.get("aud") {
        Some(Value::String(a)) => Some(a.clone()),
        Some(Value::Array(list)) => list.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    if token_aud.as_deref() != Some(aud.as_str()) {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Token audience doesn't match request audience",
        ));
    }
    Ok(ok_json(authed.user.to_json()))
}

/// The body of `PUT /user`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateParams {
    email: Option<String>,
    password: Option<String>,
    nonce: Option<String>,
    data: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `PUT /user`.
pub(crate) async fn update_user(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
    JsonBody(p): JsonBody<UpdateParams>,
) -> Result<Response> {
    state.limiter().check(Limit::User, &info.limit_key)?;
    let config = state.config();
    let mut read = ServiceTx::read(&state.db().admin).await?;
    let authed = authenticate_user(&state, &headers, &mut read).await?;
    drop(read);
    let user = authed.user;
    let email = match p.email.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(accounts::validate_email(e)?),
        None => None,
    };
    if p.phone
        .as_deref()
        .is_some_and(|ph| !ph.is_empty() && ph != user.phone())
    {
        return Err(Error::bad_request(
            code::PHONE_PROVIDER_DISABLED,
            "Unsupported phone provider",
        ));
    }
    if let Some(pw) = &p.password {
        password::check_strength(
            pw,
            config.password_min_length,
            &config.password_required_characters,
        )?;
    }
    if p.app_metadata.is_some() {
        return Err(Error::forbidden(
            code::NOT_ADMIN,
            "Updating app_metadata requires admin privileges",
        ));
    }
    if let Some(d) = &p.data {
        accounts::check_metadata_size(&Value::Object(d.clone()))?;
    }
    let new_password = p.password.as_deref().filter(|pw| !pw.is_empty());
    if user.is_anonymous && new_password.is_some() && email.is_none() {
        return Err(Error::unprocessable(
            code::VALIDATION_FAILED,
            "Updating password of an anonymous user without an email or phone is not allowed",
        ));
    }
    let aud = info.aud(&state);
    let changing_email = email.as_deref().filter(|e| *e != user.email());
    let pkce = one_time::pkce_params(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    )?;

    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    if let Some(e) = changing_email {
        if user::email_taken(&mut tx, e, &aud, Some(user.id)).await? {
            return Err(Error::unprocessable(
                code::EMAIL_EXISTS,
                "A user with this email address has already been registered",
            ));
        }
    }
    if p.password.is_some() {
        if config.update_password_require_reauthentication {
            let recent = authed
                .session
                .as_ref()
                .and_then(|s| s.created_at)
                .is_some_and(|c| chrono::Utc::now() < c + chrono::Duration::hours(24));
            if !recent {
                let nonce = p.nonce.as_deref().unwrap_or("");
                if nonce.is_empty() {
                    return Err(Error::bad_request(
                        code::REAUTHENTICATION_NEEDED,
                        "Password update requires reauthentication",
                    ));
                }
                verify_nonce(&state, &mut tx, &user, nonce).await?;
            }
        }
        let hash = match new_password {
            Some(pw) => {
                if user.has_password() {
                    let same = state
                        .hasher()
                        .verify(pw, user.encrypted_password.as_deref())
                        .await?;
                    if same.ok {
                        return Err(Error::unprocessable(
                            code::SAME_PASSWORD,
                            "New password should be different from the old password.",
                        ));
                    }
                }
                state.hasher().hash(pw).await?
            }
            None => String::new(),
        };
        // GoTrue's `UpdatePassword`: pending tokens are void, other sessions end.
        tx.query(
            "update auth.users set encrypted_password = $2, confirmation_token = '', \
               confirmation_sent_at = null, recovery_token = '', recovery_sent_at = null, \
               email_change_token_current = '', email_change_token_new = '', \
               email_change_sent_at = null, reauthentication_token = '', \
               reauthentication_sent_at = null, updated_at = now() where id = $1",
            &[&user.id, &hash],
        )
        .await?;
        one_time::clear_all(&mut tx, user.id).await?;
        let keep = authed.session.as_ref().map(|s| s.id);
        tx.query(
            "delete from auth.sessions where user_id = $1 and ($2::uuid is null or id <> $2)",
            &[&user.id, &keep],
        )
        .await?;
        tokens::audit_user(&mut tx, &info, &user, Action::UserUpdatedPassword, None).await?;
    }
    if let Some(d) = &p.data {
        let mut meta = user.user_metadata.clone();
        merge_metadata(&mut meta, d);
        tx.query(
            "update auth.users set raw_user_meta_data = $2, updated_at = now() where id = $1",
            &[&user.id, &meta],
        )
        .await?;
    }
    if let Some(new_email) = changing_email {
        if user.is_anonymous && config.mailer.autoconfirm {
            // An anonymous user adding an address under autoconfirm: the address is theirs.
            tx.query(
                "update auth.users set email = $2, email_confirmed_at = now(), is_anonymous = false, \
                   email_change = '', updated_at = now(), \
                   raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{\"email_verified\": true}'::jsonb \
                 where id = $1",
                &[&user.id, &new_email],
            )
            .await?;
            let mut data = accounts::email_identity_data(user.id, new_email, &Map::new());
            data["email_verified"] = json!(true);
            accounts::ensure_identity(&mut tx, user.id, "email", &data).await?;
            accounts::update_providers(&mut tx, user.id).await?;
        } else {
            if let Some(pkce) = &pkce {
                one_time::create_flow_state(&mut tx, pkce, "email_change", "email_change", user.id)
                    .await?;
            }
            let redirect = accounts::redirect_for(&state, &info, None);
            let current = accounts::reload(&mut tx, user.id).await?;
            accounts::send_email_change(
                &state,
                &mut tx,
                &info,
                &current,
                new_email,
                pkce.is_some(),
                &redirect,
            )
            .await?;
        }
    }
    tokens::audit_user(&mut tx, &info, &user, Action::UserModified, None).await?;
    let updated = accounts::reload(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(ok_json(updated.to_json()))
}

/// Checks a reauthentication nonce (GoTrue's `verifyReauthentication`) and consumes it.
async fn verify_nonce(
    state: &State,
    tx: &mut ServiceTx,
    user: &user::User,
    nonce: &str,
) -> Result<()> {
    let invalid = || {
        Error::unprocessable(
            code::REAUTHENTICATION_NOT_VALID,
            "Nonce has expired or is invalid",
        )
    };
    let stored = user.reauthentication_token.as_deref().unwrap_or("");
    let Some(sent) = user.reauthentication_sent_at.filter(|_| !stored.is_empty()) else {
        return Err(invalid());
    };
    let exp = chrono::Duration::from_std(state.config().mailer.otp_exp).unwrap_or_default();
    if chrono::Utc::now() > sent + exp || one_time::token_hash(user.email(), nonce) != stored {
        return Err(invalid());
    }
    tx.query(
        "update auth.users set reauthentication_token = '', reauthentication_sent_at = null where id = $1",
        &[&user.id],
    )
    .await?;
    tx.query(
        "delete from auth.one_time_tokens where user_id = $1 and token_type = $2::text::auth.one_time_token_type",
        &[&user.id, &TokenType::Reauthentication.as_str()],
    )
    .await?;
    Ok(())
}

/// `POST /logout?scope=global|local|others`.
pub(crate) async fn logout(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
) -> Result<Response> {
    let scope = info.query.get("scope").map(String::as_str).unwrap_or("");
    let scope = match scope {
        "" | "global" => "global",
        "local" => "local",
        "others" => "others",
        other => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                format!("Unsupported logout scope {other:?}"),
            ))
        }
    };
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let authed = authenticate_user(&state, &headers, &mut tx).await?;
    tokens::audit_user(&mut tx, &info, &authed.user, Action::Logout, None).await?;
    let user_id = authed.user.id;
    match (scope, authed.session.as_ref().map(|s| s.id)) {
        ("local", Some(sid)) => {
            tx.query("delete from auth.sessions where id = $1", &[&sid])
                .await?
        }
        ("others", Some(sid)) => {
            tx.query(
                "delete from auth.sessions where user_id = $1 and id <> $2",
                &[&user_id, &sid],
            )
            .await?
        }
        _ => {
            tx.query("delete from auth.sessions where user_id = $1", &[&user_id])
                .await?
        }
    };
    tx.commit().await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET|POST /reauthenticate`: mails a nonce for a password change.
pub(crate) async fn reauthenticate(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
) -> Result<Response> {
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let authed = authenticate_user(&state, &headers, &mut tx).await?;
    let user = authed.user;
    if user.email().is_empty() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Reauthentication requires the user to have an email or a phone number",
        ));
    }
    if !user.is_confirmed() {
        return Err(Error::unprocessable(
            code::EMAIL_NOT_CONFIRMED,
            "Please verify your email first.",
        ));
    }
    tokens::audit_user(
        &mut tx,
        &info,
        &user,
        Action::UserReauthenticateRequested,
        None,
    )
    .await?;
    let redirect = accounts::redirect_for(&state, &info, None);
    accounts::send_token_mail(
        &state,
        &mut tx,
        &info,
        &user,
        MailKind::Reauthentication,
        false,
        &redirect,
    )
    .await?;
    tx.commit().await?;
    Ok(ok_json(json!({})))
}
