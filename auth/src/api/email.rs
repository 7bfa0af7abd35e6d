//! The mail-sending endpoints, as GoTrue's `otp.go`, `magic_link.go`, `recover.go` and
//! `resend.go`: `/otp` and `/magiclink` (a magic link + code for known confirmed users; a
//! sign-up with a random password, hence a confirmation mail, for new ones unless
//! `create_user` is false), `/recover` (always `{}` so addresses cannot be probed) and `/resend`.

use axum::extract::State as S;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::accounts::{self, NewUser};
use crate::audit::Action;
use crate::error::{code, ok_json, Error, Result};
use crate::mail::MailKind;
use crate::one_time::{self, Pkce};
use crate::rate_limit::Limit;
use crate::request::{JsonBody, RequestInfo};
use crate::tokens;
use crate::user;
use crate::State;
use bucketbase_sql::ServiceTx;

/// The body of `/otp` and `/magiclink`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub(crate) struct OtpParams {
    email: Option<String>,
    phone: Option<String>,
    data: Option<Map<String, Value>>,
    create_user: bool,
    channel: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

impl Default for OtpParams {
    fn default() -> Self {
        Self {
            email: None,
            phone: None,
            data: None,
            create_user: true,
            channel: None,
            code_challenge: None,
            code_challenge_method: None,
        }
    }
}

/// `POST /otp`.
pub(crate) async fn otp(
    S(state): S<State>,
    info: RequestInfo,
    JsonBody(p): JsonBody<OtpParams>,
) -> Result<Response> {
    state.limiter().check(Limit::Otp, &info.limit_key)?;
    let email = p.email.as_deref().filter(|e| !e.is_empty());
    let phone = p.phone.as_deref().filter(|e| !e.is_empty());
    if email.is_some() && phone.is_some() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Only an email address or phone number should be provided",
        ));
    }
    if email.is_some() && p.channel.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Channel should only be specified with Phone OTP",
        ));
    }
    let pkce = one_time::pkce_params(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    )?;
    match (email, phone) {
        (Some(e), _) => magic(&state, &info, e, &p, pkce).await,
        (None, Some(_)) => Err(Error::bad_request(
            code::PHONE_PROVIDER_DISABLED,
            "Unsupported phone provider",
        )),
        (None, None) => Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "One of email or phone must be set",
        )),
    }
}

/// `POST /magiclink` (legacy).
pub(crate) async fn magic_link(
    S(state): S<State>,
    info: RequestInfo,
    JsonBody(p): JsonBody<OtpParams>,
) -> Result<Response> {
    state.limiter().check(Limit::MagicLink, &info.limit_key)?;
    let Some(email) = p.email.clone().filter(|e| !e.is_empty()) else {
        return Err(Error::unprocessable(
            code::VALIDATION_FAILED,
            "Password recovery requires an email",
        ));
    };
    let pkce = one_time::pkce_params(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    )?;
    magic(&state, &info, &email, &p, pkce).await
}

async fn magic(
    state: &State,
    info: &RequestInfo,
    email: &str,
    p: &OtpParams,
    pkce: Option<Pkce>,
) -> Result<Response> {
    let config = state.config();
    if !config.email_enabled {
        return Err(Error::unprocessable(
            code::EMAIL_PROVIDER_DISABLED,
            "Email logins are disabled",
        ));
    }
    let email = accounts::validate_email(email)?;
    let aud = info.aud(state);
    let data = p.data.clone().unwrap_or_default();
    accounts::check_metadata_size(&Value::Object(data.clone()))?;
    let redirect = accounts::redirect_for(state, info, None);
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let existing = user::find_by_email(&mut tx, &email, &aud).await?;
    if existing.is_none() && !p.create_user {
        return Err(Error::unprocessable(
            code::OTP_DISABLED,
            "Signups not allowed for otp",
        ));
    }
    let user = match existing {
        Some(u) if u.is_confirmed() => u,
        existing => {
            // A new (or unconfirmed) user signs up first, as GoTrue's MagicLink does.
            if config.disable_signup {
                return Err(Error::unprocessable(
                    code::SIGNUP_DISABLED,
                    "Signups not allowed for this instance",
                ));
            }
            let id = match existing {
                Some(u) => u.id,
                None => {
                    // A random password nobody knows: the account is reached by mail only.
                    let random = one_time::generate_otp(10) + &Uuid::new_v4().simple().to_string();
                    let hash = state.hasher().hash(&random).await?;
                    let id = Uuid::new_v4();
                    accounts::insert_user(
                        &mut tx,
                        &NewUser::email(id, &aud, &config.jwt_default_group, &email, hash, &data),
                    )
                    .await?;
                    accounts::ensure_identity(
                        &mut tx,
                        id,
                        "email",
                        &accounts::email_identity_data(id, &email, &data),
                    )
                    .await?;
                    id
                }
            };
            let user = accounts::reload(&mut tx, id).await?;
            if config.mailer.autoconfirm {
                tokens::audit_user(
                    &mut tx,
                    info,
                    &user,
                    Action::UserSignedUp,
                    Some(json!({"provider": "email"})),
                )
                .await?;
                accounts::confirm(&mut tx, id).await?;
                accounts::reload(&mut tx, id).await?
            } else {
                tokens::audit_user(
                    &mut tx,
                    info,
                    &user,
                    Action::UserConfirmationRequested,
                    Some(json!({"provider": "email"})),
                )
                .await?;
                if let Some(pkce) = &pkce {
                    one_time::create_flow_state(&mut tx, pkce, "email", "email/signup", id).await?;
                }
                accounts::send_token_mail(
                    state,
                    &mut tx,
                    info,
                    &user,
                    MailKind::Confirmation,
                    pkce.is_some(),
                    &redirect,
                )
                .await?;
                tx.commit().await?;
                return Ok(ok_json(json!({})));
            }
        }
    };
    mail_sign_in_link(
        state,
        tx,
        info,
        &user,
        pkce.as_ref(),
        MailKind::MagicLink,
        "magiclink",
        &redirect,
    )
    .await
}

/// The body of `/recover`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RecoverParams {
    email: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `POST /recover`.
pub(crate) async fn recover(
    S(state): S<State>,
    info: RequestInfo,
    JsonBody(p): JsonBody<RecoverParams>,
) -> Result<Response> {
    state.limiter().check(Limit::Recover, &info.limit_key)?;
    if !state.config().email_enabled {
        return Err(Error::unprocessable(
            code::EMAIL_PROVIDER_DISABLED,
            "Email logins are disabled",
        ));
    }
    let Some(email) = p.email.as_deref().filter(|e| !e.is_empty()) else {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Password recovery requires an email",
        ));
    };
    let email = accounts::validate_email(email)?;
    let pkce = one_time::pkce_params(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    )?;
    let aud = info.aud(&state);
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let Some(user) = user::find_by_email(&mut tx, &email, &aud).await? else {
        return Ok(ok_json(json!({})));
    };
    let redirect = accounts::redirect_for(&state, &info, None);
    mail_sign_in_link(
        &state,
        tx,
        &info,
        &user,
        pkce.as_ref(),
        MailKind::Recovery,
        "recovery",
        &redirect,
    )
    .await
}

/// The shared end of `/magiclink`, `/otp` and `/recover` for an existing user: the PKCE flow
/// state, the `user_recovery_requested` audit row (GoTrue records both flows under it), the
/// mail, then the commit; answers `{}`.
#[allow(clippy::too_many_arguments)]
async fn mail_sign_in_link(
    state: &State,
    mut tx: ServiceTx,
    info: &RequestInfo,
    user: &crate::user::User,
    pkce: Option<&one_time::Pkce>,
    mail: MailKind,
    flow: &str,
    redirect: &str,
) -> Result<Response> {
    if let Some(pkce) = pkce {
        one_time::create_flow_state(&mut tx, pkce, flow, flow, user.id).await?;
    }
    tokens::audit_user(&mut tx, info, user, Action::UserRecoveryRequested, None).await?;
    accounts::send_token_mail(state, &mut tx, info, user, mail, pkce.is_some(), redirect).await?;
    tx.commit().await?;
    Ok(ok_json(json!({})))
}

/// The body of `/resend`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResendParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `POST /resend`.
pub(crate) async fn resend(
    S(state): S<State>,
    info: RequestInfo,
    JsonBody(p): JsonBody<ResendParams>,
) -> Result<Response> {
    state.limiter().check(Limit::Resend, &info.limit_key)?;
    let kind = p.kind.as_deref().unwrap_or("");
    let pkce = match kind {
        "signup" | "email_change" => one_time::pkce_params(
            p.code_challenge.as_deref(),
            p.code_challenge_method.as_deref(),
        )?,
        "sms" | "phone_change" => None,
        _ => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "Missing one of these types: signup, email_change, sms, phone_change",
            ))
        }
    };
    let email = p.email.as_deref().filter(|e| !e.is_empty());
    let phone = p.phone.as_deref().filter(|e| !e.is_empty());
    if email.is_none() && kind == "signup" {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Type provided requires an email address",
        ));
    }
    if phone.is_none() && kind == "sms" {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Type provided requires a phone number",
        ));
    }
    let email = match (email, phone) {
        (Some(_), Some(_)) => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "Only an email address or phone number should be provided.",
            ))
        }
        (Some(e), None) => {
            if !state.config().email_enabled {
                return Err(Error::bad_request(
                    code::EMAIL_PROVIDER_DISABLED,
                    "Email logins are disabled",
                ));
            }
            accounts::validate_email(e)?
        }
        (None, Some(_)) => {
            return Err(Error::bad_request(
                code::PHONE_PROVIDER_DISABLED,
                "Phone logins are disabled",
            ))
        }
        (None, None) => {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "Missing email address or phone number",
            ))
        }
    };
    let aud = info.aud(&state);
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let Some(user) = user::find_by_email(&mut tx, &email, &aud).await? else {
        return Ok(ok_json(json!({})));
    };
    let redirect = accounts::redirect_for(&state, &info, None);
    match kind {
        "signup" => {
            if user.is_confirmed() {
                return Ok(ok_json(json!({})));
            }
            tokens::audit_user(
                &mut tx,
                &info,
                &user,
                Action::UserConfirmationRequested,
                None,
            )
            .await?;
            if let Some(pkce) = &pkce {
                one_time::create_flow_state(&mut tx, pkce, "email", "email/signup", user.id)
                    .await?;
            }
            accounts::send_token_mail(
                &state,
                &mut tx,
                &info,
                &user,
                MailKind::Confirmation,
                pkce.is_some(),
                &redirect,
            )
            .await?;
        }
        _ => {
            let Some(new_email) = user.email_change.clone().filter(|e| !e.is_empty()) else {
                return Ok(ok_json(json!({})));
            };
            if let Some(pkce) = &pkce {
                one_time::create_flow_state(&mut tx, pkce, "email_change", "email_change", user.id)
                    .await?;
            }
            accounts::send_email_change(
                &state,
                &mut tx,
                &info,
                &user,
                &new_email,
                pkce.is_some(),
                &redirect,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(ok_json(json!({})))
}
