//! `POST /signup`, as GoTrue's `signup.go` and `anonymous.go`: email + password sign-up (a
//! session under autoconfirm, else a bare User and a confirmation mail; a repeated sign-up of a
//! confirmed address answers an obfuscated fake user, or 422 `user_already_exists` under
//! autoconfirm), phone + password sign-up (a session under `SMS_AUTOCONFIRM`; no SMS provider is
//! built in), and anonymous sign-in when the body has neither email nor phone.

use axum::extract::State as S;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::accounts::{self, NewUser};
use crate::audit::Action;
use crate::error::{code, ok_json, Error, Result};
use crate::mail::MailKind;
use crate::one_time;
use crate::password;
use crate::rate_limit::Limit;
use crate::request::{JsonBody, RequestInfo};
use crate::tokens;
use crate::user::{self, ts};
use crate::State;
use bucketbase_sql::ServiceTx;

/// The body of `POST /signup`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SignupParams {
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// `user_metadata`.
    pub data: Option<Map<String, Value>>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method.
    pub code_challenge_method: Option<String>,
    /// SMS channel (phone sign-ups only).
    pub channel: Option<String>,
}

/// `POST /signup`.
pub(crate) async fn signup(
    S(state): S<State>,
    info: RequestInfo,
    JsonBody(p): JsonBody<SignupParams>,
) -> Result<Response> {
    let email = p.email.as_deref().filter(|e| !e.is_empty());
    let phone = p.phone.as_deref().filter(|e| !e.is_empty());
    if email.is_none() && phone.is_none() {
        return anonymous(state, info, p).await;
    }
    state.limiter().check(Limit::Signup, &info.limit_key)?;
    let config = state.config();
    if config.disable_signup {
        return Err(Error::unprocessable(
            code::SIGNUP_DISABLED,
            "Signups not allowed for this instance",
        ));
    }
    let password = p.password.clone().unwrap_or_default();
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
    if email.is_some() && phone.is_some() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Only an email address or phone number should be provided on signup.",
        ));
    }
    let pkce = one_time::pkce_params(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    )?;
    let Some(email) = email else {
        return phone_signup(state, info, &p, phone.unwrap_or_default(), &password).await;
    };
    if !config.email_enabled {
        return Err(Error::bad_request(
            code::EMAIL_PROVIDER_DISABLED,
            "Email signups are disabled",
        ));
    }
    let email = accounts::validate_email(email)?;
    let data = p.data.clone().unwrap_or_default();
    accounts::check_metadata_size(&Value::Object(data.clone()))?;
    let aud = info.aud(&state);
    let redirect = accounts::redirect_for(&state, &info, None);

    // Hash before touching the database: no connection is held while hashing, and a repeated
    // sign-up takes as long as a new one.
    let hash = state.hasher().hash(&password).await?;
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let existing = user::find_by_email(&mut tx, &email, &aud).await?;
    let user_id = match &existing {
        Some(u) if u.is_confirmed() => {
            tokens::audit_user(
                &mut tx,
                &info,
                u,
                Action::UserRepeatedSignUp,
                Some(json!({"provider": "email"})),
            )
            .await?;
            tx.commit().await?;
            if config.mailer.autoconfirm {
                return Err(Error::unprocessable(
                    code::USER_ALREADY_EXISTS,
                    "User already registered",
                ));
            }
            return Ok(ok_json(fake_user(&email, &aud, &data)));
        }
        Some(u) => u.id,
        None => {
            let id = Uuid::new_v4();
            accounts::insert_user(
                &mut tx,
                &NewUser::email(id, &aud, &config.jwt_default_group, &email, hash, &data),
            )
            .await?;
            id
        }
    };
    accounts::ensure_identity(
        &mut tx,
        user_id,
        "email",
        &accounts::email_identity_data(user_id, &email, &data),
    )
    .await?;
    let user = accounts::reload(&mut tx, user_id).await?;
    if config.mailer.autoconfirm {
        return confirm_and_sign_in(&state, tx, &info, &user, "email").await;
    }
    tokens::audit_user(
        &mut tx,
        &info,
        &user,
        Action::UserConfirmationRequested,
        Some(json!({"provider": "email"})),
    )
    .await?;
    if let Some(pkce) = &pkce {
        one_time::create_flow_state(&mut tx, pkce, "email", "email/signup", user_id).await?;
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
    let mut user = accounts::reload(&mut tx, user_id).await?;
    tx.commit().await?;
    if user.invited_at.is_some() {
        user.user_metadata = json!({});
        user.identities.clear();
    }
    Ok(ok_json(user.to_json()))
}

/// A sign-up with a phone number (GoTrue's `signup` with provider `phone`). With
/// `SMS_AUTOCONFIRM` the user is confirmed and signed in at once, as GoTrue does; otherwise the
/// confirmation needs an SMS, and with no SMS provider built in the sign-up fails as GoTrue's
/// does without one (500 "Unable to get SMS provider"), writing nothing.
async fn phone_signup(
    state: State,
    info: RequestInfo,
    p: &SignupParams,
    phone: &str,
    password: &str,
) -> Result<Response> {
    let config = state.config();
    if !config.phone_enabled {
        return Err(Error::bad_request(
            code::PHONE_PROVIDER_DISABLED,
            "Phone signups are disabled",
        ));
    }
    let phone = accounts::validate_phone(phone)?;
    let data = p.data.clone().unwrap_or_default();
    accounts::check_metadata_size(&Value::Object(data.clone()))?;
    let aud = info.aud(&state);
    let hash = state.hasher().hash(password).await?;
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let user_id = match user::find_by_phone(&mut tx, &phone, &aud).await? {
        Some(u) if u.is_phone_confirmed() => {
            tokens::audit_user(
                &mut tx,
                &info,
                &u,
                Action::UserRepeatedSignUp,
                Some(json!({"provider": "phone"})),
            )
            .await?;
            tx.commit().await?;
            return Err(Error::unprocessable(
                code::USER_ALREADY_EXISTS,
                "User already registered",
            ));
        }
        Some(u) => u.id,
        None => {
            let id = Uuid::new_v4();
            accounts::insert_user(
                &mut tx,
                &NewUser::phone(id, &aud, &config.jwt_default_group, &phone, hash, &data),
            )
            .await?;
            id
        }
    };
    if !config.sms_autoconfirm {
        // Dropping `tx` rolls the new user back.
        return Err(Error::api(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            code::UNEXPECTED_FAILURE,
            "Unable to get SMS provider",
        ));
    }
    accounts::ensure_identity(
        &mut tx,
        user_id,
        "phone",
        &accounts::phone_identity_data(user_id, &phone, &data),
    )
    .await?;
    let user = accounts::reload(&mut tx, user_id).await?;
    confirm_and_sign_in(&state, tx, &info, &user, "phone").await
}

/// The end of an autoconfirmed sign-up with `provider` (`email` or `phone`), as GoTrue's: the
/// `user_signedup` audit row, the confirmation of the address or number, the `login` row and a
/// session, committed together.
async fn confirm_and_sign_in(
    state: &State,
    mut tx: ServiceTx,
    info: &RequestInfo,
    user: &crate::user::User,
    provider: &str,
) -> Result<Response> {
    let audit = Some(json!({ "provider": provider }));
    tokens::audit_user(&mut tx, info, user, Action::UserSignedUp, audit.clone()).await?;
    if provider == "phone" {
        accounts::confirm_phone(&mut tx, user.id).await?;
    } else {
        accounts::confirm(&mut tx, user.id).await?;
    }
    let mut user = accounts::reload(&mut tx, user.id).await?;
    tokens::audit_user(&mut tx, info, &user, Action::Login, audit).await?;
    let session = tokens::issue_session(state, &mut tx, info, &mut user, "password").await?;
    tx.commit().await?;
    Ok(ok_json(session))
}

/// The obfuscated user GoTrue answers for a repeated sign-up (`sanitizeUser`), so responses do
/// not reveal whether an address is registered.
fn fake_user(email: &str, aud: &str, data: &Map<String, Value>) -> Value {
    let now = ts(&chrono::Utc::now());
    json!({
        "id": Uuid::new_v4(),
        "aud": aud,
        "role": "",
        "email": email,
        "phone": "",
        "confirmation_sent_at": now,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": data,
        "identities": [],
        "created_at": now,
        "updated_at": now,
        "is_anonymous": false,
    })
}

async fn anonymous(state: State, info: RequestInfo, p: SignupParams) -> Result<Response> {
    let config = state.config();
    if !config.anonymous_enabled {
        return Err(Error::unprocessable(
            code::ANONYMOUS_PROVIDER_DISABLED,
            "Anonymous sign-ins are disabled",
        ));
    }
    state.limiter().check(Limit::Anonymous, &info.limit_key)?;
    if config.disable_signup {
        return Err(Error::unprocessable(
            code::SIGNUP_DISABLED,
            "Signups not allowed for this instance",
        ));
    }
    let data = Value::Object(p.data.unwrap_or_default());
    accounts::check_metadata_size(&data)?;
    let id = Uuid::new_v4();
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    accounts::insert_user(
        &mut tx,
        &NewUser {
            id,
            aud: info.aud(&state),
            role: config.jwt_default_group.clone(),
            email: None,
            phone: None,
            password_hash: String::new(),
            app_metadata: json!({"provider": "anonymous", "providers": ["anonymous"]}),
            user_metadata: data,
            is_anonymous: true,
        },
    )
    .await?;
    let mut user = accounts::reload(&mut tx, id).await?;
    tokens::audit_user(
        &mut tx,
        &info,
        &user,
        Action::Login,
        Some(json!({"provider": "anonymous"})),
    )
    .await?;
    let session = tokens::issue_session(&state, &mut tx, &info, &mut user, "anonymous").await?;
    tx.commit().await?;
    Ok(ok_json(session))
}
