//! The account operations several endpoints share, after GoTrue's `models.User` methods and
//! `api/mail.go`: creating users and identities, confirming, keeping `app_metadata.providers`
//! in step with the identities, and sending a token mail (frequency limit per user and kind,
//! the instance-wide mail budget, a fresh OTP whose hash goes to the user row and to
//! `auth.one_time_tokens`, then SMTP delivery before the transaction commits, so a failed
//! delivery leaves nothing behind).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{code, Error, Result};
use crate::mail::{MailData, MailKind};
use crate::one_time::{self, TokenType, PKCE_PREFIX};
use crate::request::RequestInfo;
use crate::user::{self, User};
use crate::State;
use bucketbase_sql::ServiceTx;

/// A user about to be inserted.
#[derive(Debug, Clone)]
pub(crate) struct NewUser {
    /// The id (random unless an admin chose one).
    pub id: Uuid,
    /// `aud`.
    pub aud: String,
    /// `role`.
    pub role: String,
    /// Lower-cased email, if any.
    pub email: Option<String>,
    /// Phone, if any.
    pub phone: Option<String>,
    /// The password hash (`""` when none).
    pub password_hash: String,
    /// `raw_app_meta_data`.
    pub app_metadata: Value,
    /// `raw_user_meta_data`.
    pub user_metadata: Value,
    /// `is_anonymous`.
    pub is_anonymous: bool,
}

impl NewUser {
    /// A user signing up with a phone number (provider `phone`), with the given id.
    pub(crate) fn phone(
        id: Uuid,
        aud: &str,
        role: &str,
        phone: &str,
        password_hash: String,
        data: &serde_json::Map<String, Value>,
    ) -> Self {
        let mut user = Self::signing_up(id, aud, role, "phone", password_hash, data);
        user.phone = Some(phone.to_string());
        user
    }

    /// A user signing up with an email address (provider `email`), with the given id.
    pub(crate) fn email(
        id: Uuid,
        aud: &str,
        role: &str,
        email: &str,
        password_hash: String,
        data: &serde_json::Map<String, Value>,
    ) -> Self {
        let mut user = Self::signing_up(id, aud, role, "email", password_hash, data);
        user.email = Some(email.to_string());
        user
    }

    /// A user of `provider` with neither email nor phone yet.
    fn signing_up(
        id: Uuid,
        aud: &str,
        role: &str,
        provider: &str,
        password_hash: String,
        data: &serde_json::Map<String, Value>,
    ) -> Self {
        Self {
            id,
            aud: aud.to_string(),
            role: role.to_string(),
            email: None,
            phone: None,
            password_hash,
            app_metadata: serde_json::json!({"provider": provider, "providers": [provider]}),
            user_metadata: Value::Object(data.clone()),
            is_anonymous: false,
        }
    }
}

/// GoTrue's `formatPhoneNumber`: the leading `+` and every space removed.
pub(crate) fn format_phone(phone: &str) -> String {
    phone.strip_prefix('+').unwrap_or(phone).replace(' ', "")
}

/// GoTrue's `validatePhone`: [`format_phone`], then 400 `validation_failed` unless the result is
/// E.164 digits.
pub(crate) fn validate_phone(phone: &str) -> Result<String> {
    let digits = format_phone(phone);
    let e164 = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if e164 {
        Ok(digits)
    } else {
        Err(Error::bad_request(
            crate::error::code::VALIDATION_FAILED,
            "Invalid phone number format (E.164 required)",
        ))
    }
}

/// The `identity_data` of a phone identity (`sub`, `phone` and the verification flags, plus
/// `data`).
pub(crate) fn phone_identity_data(user_id: Uuid, phone: &str, data: &Map<String, Value>) -> Value {
    identity_data(user_id, "phone", phone, data)
}

/// `sub`, `field`: `value`, both verification flags false, then the keys of `data` not already
/// set.
fn identity_data(user_id: Uuid, field: &str, value: &str, data: &Map<String, Value>) -> Value {
    let mut d = Map::new();
    d.insert("sub".into(), Value::String(user_id.to_string()));
    d.insert(field.into(), Value::String(value.to_string()));
    d.insert("email_verified".into(), Value::Bool(false));
    d.insert("phone_verified".into(), Value::Bool(false));
    for (k, v) in data {
        d.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(d)
}

/// Confirms the phone number of `user_id` (GoTrue's `ConfirmPhone`): `phone_confirmed_at`, and
/// `phone_verified` in the metadata and the phone identity.
pub(crate) async fn confirm_phone(tx: &mut ServiceTx, user_id: Uuid) -> Result<()> {
    tx.query(
        "with u as (
           update auth.users set phone_confirmed_at = coalesce(phone_confirmed_at, now()),
             updated_at = now(),
             raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{\"phone_verified\": true}'::jsonb
           where id = $1 returning 1
         )
         update auth.identities set identity_data = identity_data || '{\"phone_verified\": true}'::jsonb,
           updated_at = now()
         where user_id = $1 and provider = 'phone'",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// Inserts `u` into `auth.users` (empty token columns as GoTrue writes them).
pub(crate) async fn insert_user(tx: &mut ServiceTx, u: &NewUser) -> Result<()> {
    tx.query(
        "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, \
           raw_app_meta_data, raw_user_meta_data, created_at, updated_at, phone, is_anonymous, \
           confirmation_token, recovery_token, email_change_token_new, email_change, is_super_admin) \
         values ('00000000-0000-0000-0000-000000000000', $1, $2, $3, $4, $5, $6, $7, now(), now(), \
           $8, $9, '', '', '', '', false)",
        &[
            &u.id,
            &u.aud,
            &u.role,
            &u.email,
            &u.password_hash,
            &u.app_metadata,
            &u.user_metadata,
            &u.phone,
            &u.is_anonymous,
        ],
    )
    .await?;
    Ok(())
}

/// The `identity_data` of an email identity (`provider.Claims{Subject, Email}` plus `data`).
pub(crate) fn email_identity_data(user_id: Uuid, email: &str, data: &Map<String, Value>) -> Value {
    identity_data(user_id, "email", email, data)
}

/// Inserts an identity unless the user already has one for `provider`.
pub(crate) async fn ensure_identity(
    tx: &mut ServiceTx,
    user_id: Uuid,
    provider: &str,
    data: &Value,
) -> Result<()> {
    tx.query(
        "insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at, id) \
         values ($1, $2, $3, $4, now(), now(), now(), gen_random_uuid()) \
         on conflict (provider_id, provider) do nothing",
        &[&user_id.to_string(), &user_id, data, &provider],
    )
    .await?;
    Ok(())
}

/// Sets `app_metadata.provider`/`providers` from the user's identities (GoTrue's
/// `UpdateAppMetaDataProviders`).
pub(crate) async fn update_providers(tx: &mut ServiceTx, user_id: Uuid) -> Result<()> {
    tx.query(
        "update auth.users u set raw_app_meta_data = coalesce(u.raw_app_meta_data, '{}'::jsonb) \
            || jsonb_build_object('provider', p.list->0, 'providers', p.list), updated_at = now() \
         from (select jsonb_agg(provider order by min_created) as list from \
                (select provider, min(created_at) as min_created from auth.identities \
                  where user_id = $1 group by provider) x) p \
         where u.id = $1 and p.list is not null",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// Confirms the email (GoTrue's `User.Confirm`): `email_confirmed_at`, empty confirmation
/// token, `user_metadata.email_verified`, identity `email_verified`, one-time tokens cleared.
pub(crate) async fn confirm(tx: &mut ServiceTx, user_id: Uuid) -> Result<()> {
    tx.query(
        "with u as (
           update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()),
             confirmation_token = '', updated_at = now(),
             raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{\"email_verified\": true}'::jsonb
           where id = $1 returning email
         ), i as (
           update auth.identities set identity_data = identity_data || '{\"email_verified\": true}'::jsonb,
             updated_at = now()
           where user_id = $1 and provider = 'email'
         )
         delete from auth.one_time_tokens where user_id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// Reloads `id` inside `tx`.
pub(crate) async fn reload(tx: &mut ServiceTx, id: Uuid) -> Result<User> {
    user::find_by_id(tx, id, false)
        .await?
        .ok_or_else(|| Error::internal(format!("user {id} vanished")))
}

/// 429 unless `sent_at + SMTP_MAX_FREQUENCY` has passed (GoTrue's
/// `validateSentWithinFrequencyLimit`).
pub(crate) fn check_frequency(state: &State, sent_at: Option<DateTime<Utc>>) -> Result<()> {
    let freq = state.config().smtp.max_frequency;
    if let Some(sent) = sent_at {
        let until = sent + chrono::Duration::from_std(freq).unwrap_or_default();
        let now = Utc::now();
        if until > now {
            let left = (until - now).num_seconds();
            return Err(Error::too_many(
                code::OVER_EMAIL_SEND_RATE_LIMIT,
                format!("For security purposes, you can only request this after {left} seconds."),
            ));
        }
    }
    Ok(())
}

/// Applies the instance-wide mail budget (GoTrue skips it under autoconfirm).
pub(crate) fn check_email_budget(state: &State) -> Result<()> {
    if state.config().mailer.autoconfirm {
        return Ok(());
    }
    state.limiter().check_email()
}

/// The redirect target for links of this request.
pub(crate) fn redirect_for(state: &State, info: &RequestInfo, explicit: Option<&str>) -> String {
    let policy = state.redirects();
    if let Some(r) = explicit.filter(|r| policy.is_valid(r)) {
        return r.to_string();
    }
    if let Some(r) = info.redirect_to().filter(|r| policy.is_valid(r)) {
        return r.to_string();
    }
    if let Some(r) = info.referer().filter(|r| policy.is_valid(r)) {
        return r.to_string();
    }
    policy.site_url().to_string()
}

fn data(state: &State, info: &RequestInfo, user: &User, redirect: &str) -> MailData {
    MailData {
        email: user.email().to_string(),
        new_email: user.email_change.clone().unwrap_or_default(),
        redirect_to: redirect.to_string(),
        site_url: state.config().site_url.clone(),
        external_url: info.external_url.clone(),
        user_metadata: user.user_metadata.clone(),
        ..Default::default()
    }
}

/// Sends a confirmation, invite, recovery, magic-link or reauthentication mail to `user`,
/// recording the token hash. `pkce` prefixes the hash for the PKCE flow.
pub(crate) async fn send_token_mail(
    state: &State,
    tx: &mut ServiceTx,
    info: &RequestInfo,
    user: &User,
    kind: MailKind,
    pkce: bool,
    redirect: &str,
) -> Result<()> {
    let (sent_at, column, sent_column, token_type, frequency_limited) = match kind {
        MailKind::Confirmation => (
            user.confirmation_sent_at,
            "confirmation_token",
            "confirmation_sent_at",
            TokenType::Confirmation,
            true,
        ),
        MailKind::Invite => (
            user.confirmation_sent_at,
            "confirmation_token",
            "confirmation_sent_at",
            TokenType::Confirmation,
            false,
        ),
        MailKind::Recovery | MailKind::MagicLink => (
            user.recovery_sent_at,
            "recovery_token",
            "recovery_sent_at",
            TokenType::Recovery,
            true,
        ),
        MailKind::Reauthentication => (
            user.reauthentication_sent_at,
            "reauthentication_token",
            "reauthentication_sent_at",
            TokenType::Reauthentication,
            true,
        ),
        MailKind::EmailChange => {
            return Err(Error::internal(
                "email change mails go through send_email_change",
            ))
        }
    };
    if frequency_limited {
        check_frequency(state, sent_at)?;
    }
    check_email_budget(state)?;
    let otp = one_time::generate_otp(state.config().mailer.otp_length);
    let hash = one_time::token_hash(user.email(), &otp);
    let stored = if pkce {
        format!("{PKCE_PREFIX}{hash}")
    } else {
        hash
    };
    let invited = if kind == MailKind::Invite {
        ", invited_at = now()"
    } else {
        ""
    };
    let sql = format!(
        "update auth.users set {column} = $2, {sent_column} = now(), updated_at = now(){invited} where id = $1"
    );
    tx.query(&sql, &[&user.id, &stored]).await?;
    one_time::store(tx, user.id, token_type, &stored, user.email()).await?;
    let mut d = data(state, info, user, redirect);
    d.token = otp;
    d.token_hash = stored;
    let mailer = state.mailer();
    let msg = mailer
        .render(&state.config().mailer, kind, user.email(), &d)
        .await;
    mailer.send(&msg).await
}

/// Starts an email change of `user` to `new_email` (GoTrue's `sendEmailChange`): a token for
/// the new address and, with secure email change, one for the current address, each mailed.
pub(crate) async fn send_email_change(
    state: &State,
    tx: &mut ServiceTx,
    info: &RequestInfo,
    user: &User,
    new_email: &str,
    pkce: bool,
    redirect: &str,
) -> Result<()> {
    check_frequency(state, user.email_change_sent_at)?;
    check_email_budget(state)?;
    let config = state.config();
    let prefix = if pkce { PKCE_PREFIX } else { "" };
    let otp_new = one_time::generate_otp(config.mailer.otp_length);
    let hash_new = format!("{prefix}{}", one_time::token_hash(new_email, &otp_new));
    let secure = config.mailer.secure_email_change && !user.email().is_empty();
    let (otp_current, hash_current) = if secure {
        let otp = one_time::generate_otp(config.mailer.otp_length);
        let hash = format!("{prefix}{}", one_time::token_hash(user.email(), &otp));
        (otp, hash)
    } else {
        (String::new(), String::new())
    };
    tx.query(
        "update auth.users set email_change = $2, email_change_token_new = $3, \
           email_change_token_current = $4, email_change_confirm_status = 0, \
           email_change_sent_at = now(), updated_at = now() where id = $1",
        &[&user.id, &new_email, &hash_new, &hash_current],
    )
    .await?;
    one_time::store(tx, user.id, TokenType::EmailChangeNew, &hash_new, new_email).await?;
    if secure {
        one_time::store(
            tx,
            user.id,
            TokenType::EmailChangeCurrent,
            &hash_current,
            user.email(),
        )
        .await?;
    }
    let mut d = data(state, info, user, redirect);
    d.new_email = new_email.to_string();
    let mut to_new = d.clone();
    to_new.token = otp_new;
    to_new.token_hash = hash_new;
    let mailer = state.mailer();
    let msg = mailer
        .render(&config.mailer, MailKind::EmailChange, new_email, &to_new)
        .await;
    mailer.send(&msg).await?;
    if secure {
        let mut to_current = d;
        to_current.token = otp_current;
        to_current.token_hash = hash_current;
        let msg = mailer
            .render(
                &config.mailer,
                MailKind::EmailChange,
                user.email(),
                &to_current,
            )
            .await;
        mailer.send(&msg).await?;
    }
    Ok(())
}

/// Validates and lower-cases an email address (GoTrue's `validateEmail`).
pub(crate) fn validate_email(email: &str) -> Result<String> {
    let email = email.trim();
    if email.is_empty() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "An email address is required",
        ));
    }
    if email.len() > 255 {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "An email address is too long",
        ));
    }
    let valid = match email.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !local.contains(char::is_whitespace)
                && !local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"'])
                && !domain.is_empty()
                && domain.contains('.')
                && !domain.starts_with(['.', '-'])
                && !domain.ends_with(['.', '-'])
                && !domain.contains("..")
                && domain
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        }
        None => false,
    };
    if !valid {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Unable to validate email address: invalid format",
        ));
    }
    Ok(email.to_lowercase())
}

/// Metadata sizes are bounded (GoTrue relies on its 1 MB body limit; a row this large would
/// only bloat every JWT): 422 `validation_failed` beyond 64 KiB of JSON.
pub(crate) fn check_metadata_size(v: &Value) -> Result<()> {
    if v.to_string().len() > 64 * 1024 {
        return Err(Error::unprocessable(
            code::VALIDATION_FAILED,
            "metadata is too large",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_emails() {
        assert_eq!(
            validate_email(" A@Example.COM ").expect("ok"),
            "a@example.com"
        );
        for bad in [
            "", "plain", "a@b", "a b@c.de", "@c.de", "a@.c.de", "a@c..de",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_data_keeps_its_own_keys() {
        let id = Uuid::nil();
        let data = json!({"email": "spoof", "name": "N"});
        let d = email_identity_data(id, "a@b.c", data.as_object().expect("object"));
        assert_eq!(d["email"], "a@b.c");
        assert_eq!(d["name"], "N");
        assert_eq!(d["email_verified"], false);
    }
}
