//! `POST /admin/generate_link`, as GoTrue's `adminGenerateLink` (`internal/api/mail.go`): the
//! verification link, OTP and token hash of any mail type (`signup`, `invite`, `magiclink`,
//! `recovery`, `email_change_current`, `email_change_new`), recorded like a sent mail but not
//! sent; the answer is the User JSON with `action_link`, `email_otp`, `hashed_token`,
//! `verification_type` and `redirect_to` flattened into it.

use axum::extract::State as S;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::accounts::{self, NewUser};
use crate::audit::{self, Action, Actor};
use crate::error::{code, ok_json, Error, Result};
use crate::mail::{self, MailKind};
use crate::one_time::{self, TokenType};
use crate::password;
use crate::request::{require_admin, JsonBody, RequestInfo};
use crate::user::{self, merge_metadata};
use crate::State;
use bucketbase_sql::ServiceTx;

/// The body of `POST /admin/generate_link`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GenerateLinkParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    new_email: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    redirect_to: Option<String>,
}

/// `POST /admin/generate_link`: the link and OTP of any mail type, without sending it.
pub(crate) async fn generate_link(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
    JsonBody(p): JsonBody<GenerateLinkParams>,
) -> Result<Response> {
    let role = require_admin(&state, &headers)?;
    let config = state.config();
    let email = accounts::validate_email(p.email.as_deref().unwrap_or(""))?;
    let mut kind = p.kind.clone().unwrap_or_default();
    let redirect = accounts::redirect_for(&state, &info, p.redirect_to.as_deref());
    let aud = info.aud(&state);
    let data = p.data.clone().unwrap_or_default();
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let mut found = user::find_by_email(&mut tx, &email, &aud).await?;
    let mut password = p.password.clone().unwrap_or_default();
    if found.is_none() {
        match kind.as_str() {
            "magiclink" => {
                kind = "signup".into();
                password = one_time::generate_otp(10) + &Uuid::new_v4().simple().to_string();
            }
            "recovery" | "email_change_current" | "email_change_new" => {
                return Err(Error::not_found(
                    code::USER_NOT_FOUND,
                    "User with this email not found",
                ))
            }
            _ => {}
        }
    }
    let otp = one_time::generate_otp(config.mailer.otp_length);
    let hashed = one_time::token_hash(&email, &otp);
    let create = |pw_hash: String| {
        NewUser::email(
            Uuid::new_v4(),
            &aud,
            &config.jwt_default_group,
            &email,
            pw_hash,
            &data,
        )
    };
    let (link_kind, link_type, link_hash) = match kind.as_str() {
        "magiclink" | "recovery" => {
            let Some(u) = &found else {
                return Err(Error::internal("generate_link: user expected"));
            };
            audit::record(
                &mut tx,
                &Actor::user(u),
                Action::UserRecoveryRequested,
                None,
                &info.ip,
            )
            .await?;
            tx.query(
                "update auth.users set recovery_token = $2, recovery_sent_at = now() where id = $1",
                &[&u.id, &hashed],
            )
            .await?;
            one_time::store(&mut tx, u.id, TokenType::Recovery, &hashed, &email).await?;
            let mk = if kind == "magiclink" {
                MailKind::MagicLink
            } else {
                MailKind::Recovery
            };
            (mk, kind.clone(), hashed.clone())
        }
        "invite" | "signup" => {
            if let Some(u) = &found {
                if u.is_confirmed() {
                    return Err(Error::unprocessable(
                        code::EMAIL_EXISTS,
                        "A user with this email address has already been registered",
                    ));
                }
                if kind == "signup" && !data.is_empty() {
                    let mut meta = u.user_metadata.clone();
                    merge_metadata(&mut meta, &data);
                    tx.query(
                        "update auth.users set raw_user_meta_data = $2 where id = $1",
                        &[&u.id, &meta],
                    )
                    .await?;
                }
            } else {
                let pw_hash = if kind == "signup" {
                    if password.is_empty() {
                        return Err(Error::bad_request(
                            code::VALIDATION_FAILED,
                            "Signup requires a valid password",
                        ));
                    }
                    password::check_strength(
                        &password,
                        config.password_min_length,
                        &config.password_required_characters,
                    )?;
                    state.hasher().hash(&password).await?
                } else {
                    String::new()
                };
                let nu = create(pw_hash);
                accounts::insert_user(&mut tx, &nu).await?;
                accounts::ensure_identity(
                    &mut tx,
                    nu.id,
                    "email",
                    &accounts::email_identity_data(nu.id, &email, &data),
                )
                .await?;
                found = Some(accounts::reload(&mut tx, nu.id).await?);
            }
            let Some(u) = &found else {
                return Err(Error::internal("generate_link: user expected"));
            };
            if kind == "invite" {
                audit::record(
                    &mut tx,
                    &Actor::admin(&role),
                    Action::UserInvited,
                    Some(json!({"user_id": u.id, "user_email": email})),
                    &info.ip,
                )
                .await?;
            }
            let invited = if kind == "invite" {
                ", invited_at = now()"
            } else {
                ""
            };
            let sql = format!(
                "update auth.users set confirmation_token = $2, confirmation_sent_at = now(){invited} where id = $1"
            );
            tx.query(&sql, &[&u.id, &hashed]).await?;
            one_time::store(&mut tx, u.id, TokenType::Confirmation, &hashed, &email).await?;
            let mk = if kind == "invite" {
                MailKind::Invite
            } else {
                MailKind::Confirmation
            };
            (mk, kind.clone(), hashed.clone())
        }
        "email_change_current" | "email_change_new" => {
            let Some(u) = &found else {
                return Err(Error::internal("generate_link: user expected"));
            };
            if !config.mailer.secure_email_change && kind == "email_change_current" {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "Enable secure email change to generate link for current email",
                ));
            }
            let new_email = accounts::validate_email(p.new_email.as_deref().unwrap_or(""))?;
            if user::email_taken(&mut tx, &new_email, u.aud(), Some(u.id)).await? {
                return Err(Error::unprocessable(
                    code::EMAIL_EXISTS,
                    "A user with this email address has already been registered",
                ));
            }
            let (current, new) = if kind == "email_change_current" {
                (hashed.clone(), String::new())
            } else {
                (String::new(), one_time::token_hash(&new_email, &otp))
            };
            tx.query(
                "update auth.users set email_change = $2, email_change_token_current = $3, \
                   email_change_token_new = $4, email_change_sent_at = now(), \
                   email_change_confirm_status = 0 where id = $1",
                &[&u.id, &new_email, &current, &new],
            )
            .await?;
            if !current.is_empty() {
                one_time::store(
                    &mut tx,
                    u.id,
                    TokenType::EmailChangeCurrent,
                    &current,
                    &email,
                )
                .await?;
            }
            if !new.is_empty() {
                one_time::store(&mut tx, u.id, TokenType::EmailChangeNew, &new, &new_email).await?;
            }
            let h = if current.is_empty() { new } else { current };
            (MailKind::EmailChange, "email_change".to_string(), h)
        }
        other => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                format!("Invalid email action link type requested: {other}"),
            ))
        }
    };
    let Some(u) = &found else {
        return Err(Error::internal("generate_link: user expected"));
    };
    let user = accounts::reload(&mut tx, u.id).await?;
    tx.commit().await?;
    let action_link = mail::action_link(
        &config.mailer,
        link_kind,
        &info.external_url,
        &link_hash,
        &link_type,
        &redirect,
    );
    let mut body = user.to_json();
    if let Value::Object(m) = &mut body {
        m.insert("action_link".into(), json!(action_link));
        m.insert("email_otp".into(), json!(otp));
        m.insert("hashed_token".into(), json!(link_hash));
        m.insert("verification_type".into(), json!(kind));
        m.insert("redirect_to".into(), json!(redirect));
    }
    Ok(ok_json(body))
}
