//! `POST /token`, as GoTrue's `token.go` and `token_refresh.go`: `grant_type=password`,
//! `refresh_token` and `pkce`; `id_token` and `web3` answer that their providers are disabled.
//! Every grant shares the `RATE_LIMIT_TOKEN_REFRESH` bucket.

use axum::extract::State as S;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit::Action;
use crate::error::{code, ok_json, Error, Result};
use crate::one_time::{self, FLOW_STATE_TTL_SECS};
use crate::password;
use crate::rate_limit::Limit;
use crate::request::{parse_body, RequestInfo};
use crate::tokens;
use crate::user;
use crate::State;
use bucketbase_sql::ServiceTx;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordGrant {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RefreshGrant {
    refresh_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PkceGrant {
    auth_code: Option<String>,
    code_verifier: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IdTokenGrant {
    provider: Option<String>,
    issuer: Option<String>,
}

const INVALID_LOGIN: &str = "Invalid login credentials";

/// The OIDC providers GoTrue knows by name or issuer for `grant_type=id_token`.
const ID_TOKEN_ISSUERS: [(&str, &str); 4] = [
    ("apple", "https://appleid.apple.com"),
    ("google", "https://accounts.google.com"),
    ("facebook", "https://www.facebook.com"),
    ("kakao", "https://kauth.kakao.com"),
];

/// GoTrue's answer to `grant_type=id_token` with no provider enabled: a provider it knows is
/// "not enabled", anything else is a custom provider that is not allowed.
fn id_token_refusal(p: IdTokenGrant) -> Error {
    let provider = p.provider.unwrap_or_default();
    let issuer = p.issuer.unwrap_or_default();
    match ID_TOKEN_ISSUERS
        .iter()
        .find(|(name, iss)| *name == provider || *iss == issuer)
    {
        Some((_, iss)) => Error::bad_request(
            code::PROVIDER_DISABLED,
            format!("Provider (issuer {iss:?}) is not enabled"),
        ),
        None => Error::bad_request(
            code::VALIDATION_FAILED,
            format!("Custom OIDC provider {provider:?} not allowed"),
        ),
    }
}

/// `POST /token?grant_type=…`.
pub(crate) async fn token(
    S(state): S<State>,
    info: RequestInfo,
    body: axum::body::Bytes,
) -> Result<Response> {
    let grant = info
        .query
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or("");
    if !matches!(
        grant,
        "password" | "refresh_token" | "pkce" | "id_token" | "web3"
    ) {
        return Err(Error::bad_request(
            code::INVALID_CREDENTIALS,
            "unsupported_grant_type",
        ));
    }
    state.limiter().check(Limit::Token, &info.limit_key)?;
    match grant {
        "password" => password_grant(&state, &info, parse_body(&body)?).await,
        "refresh_token" => {
            let p: RefreshGrant = parse_body(&body)?;
            let token = p.refresh_token.unwrap_or_default();
            if token.is_empty() {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "Refresh token is not valid",
                ));
            }
            Ok(ok_json(tokens::refresh(&state, &info, &token).await?))
        }
        "pkce" => pkce_grant(&state, &info, parse_body(&body)?).await,
        "id_token" => Err(id_token_refusal(parse_body(&body)?)),
        _ => Err(Error::unprocessable(
            code::WEB3_PROVIDER_DISABLED,
            "Web3 provider is disabled",
        )),
    }
}

async fn password_grant(state: &State, info: &RequestInfo, p: PasswordGrant) -> Result<Response> {
    let config = state.config();
    let email = p.email.as_deref().filter(|e| !e.is_empty());
    let phone = p.phone.as_deref().filter(|e| !e.is_empty());
    if email.is_some() && phone.is_some() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Only an email address or phone number should be provided on login.",
        ));
    }
    let aud = info.aud(state);
    let (found, provider) = {
        let mut read = ServiceTx::read(&state.db().admin).await?;
        if let Some(email) = email {
            if !config.email_enabled {
                return Err(Error::unprocessable(
                    code::EMAIL_PROVIDER_DISABLED,
                    "Email logins are disabled",
                ));
            }
            (user::find_by_email(&mut read, email, &aud).await?, "email")
        } else if let Some(phone) = phone {
            if !config.phone_enabled {
                return Err(Error::unprocessable(
                    code::PHONE_PROVIDER_DISABLED,
                    "Phone logins are disabled",
                ));
            }
            let phone = crate::accounts::format_phone(phone);
            (user::find_by_phone(&mut read, &phone, &aud).await?, "phone")
        } else {
            return Err(Error::bad_request(
                code::VALIDATION_FAILED,
                "missing email or phone",
            ));
        }
    };
    let password = p.password.unwrap_or_default();
    // Unknown users and users without a password are checked against a dummy hash, so the
    // answer takes as long as a wrong password.
    let hash = found
        .as_ref()
        .and_then(|u| u.encrypted_password.clone())
        .filter(|h| !h.is_empty());
    if found.as_ref().is_some_and(|u| u.is_banned()) {
        return Err(Error::bad_request(code::USER_BANNED, "User is banned"));
    }
    let verified = state.hasher().verify(&password, hash.as_deref()).await?;
    let Some(mut user) = found.filter(|_| verified.ok) else {
        return Err(Error::bad_request(code::INVALID_CREDENTIALS, INVALID_LOGIN));
    };
    let weak = password::check_strength(
        &password,
        config.password_min_length,
        &config.password_required_characters,
    )
    .err()
    .map(|e| e.to_api())
    .filter(|e| e.code == code::WEAK_PASSWORD)
    .map(|e| json!({"message": e.message, "reasons": e.reasons}));
    if provider == "email" && !user.is_confirmed() {
        return Err(Error::bad_request(
            code::EMAIL_NOT_CONFIRMED,
            "Email not confirmed",
        ));
    }
    if provider == "phone" && !user.is_phone_confirmed() {
        return Err(Error::bad_request(
            code::PHONE_NOT_CONFIRMED,
            "Phone not confirmed",
        ));
    }
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    if let Some(new_hash) = &verified.rehash {
        // An imported bcrypt hash: store the Argon2id hash of the now-known password.
        tx.query(
            "update auth.users set encrypted_password = $2 where id = $1",
            &[&user.id, new_hash],
        )
        .await?;
    }
    tokens::audit_user(
        &mut tx,
        info,
        &user,
        Action::Login,
        Some(json!({"provider": provider})),
    )
    .await?;
    let mut session = tokens::issue_session(state, &mut tx, info, &mut user, "password").await?;
    tx.commit().await?;
    if let (Some(w), Value::Object(m)) = (weak, &mut session) {
        m.insert("weak_password".into(), w);
    }
    Ok(ok_json(session))
}

async fn pkce_grant(state: &State, info: &RequestInfo, p: PkceGrant) -> Result<Response> {
    let auth_code = p.auth_code.unwrap_or_default();
    let verifier = p.code_verifier.unwrap_or_default();
    if auth_code.is_empty() || verifier.is_empty() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "invalid request: both auth code and code verifier should be non-empty",
        ));
    }
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let row = tx
        .query_opt(
            "select id, user_id, code_challenge, code_challenge_method::text, authentication_method, \
               provider_type, \
               extract(epoch from (now() - coalesce(case when authentication_method = 'magiclink' \
                 then auth_code_issued_at end, created_at)))::bigint \
             from auth.flow_state where auth_code = $1 for update",
            &[&auth_code],
        )
        .await?;
    let not_found = || {
        Error::not_found(
            code::FLOW_STATE_NOT_FOUND,
            "invalid flow state, no valid flow state found",
        )
    };
    let row = row.ok_or_else(not_found)?;
    let flow_id: uuid::Uuid = row.try_get(0)?;
    let user_id: Option<uuid::Uuid> = row.try_get(1)?;
    let user_id = user_id.ok_or_else(not_found)?;
    let challenge: Option<String> = row.try_get(2)?;
    let method: Option<String> = row.try_get(3)?;
    let auth_method: String = row.try_get(4)?;
    let provider_type: String = row.try_get(5)?;
    let age: i64 = row.try_get(6)?;
    if age > FLOW_STATE_TTL_SECS {
        return Err(Error::unprocessable(
            code::FLOW_STATE_EXPIRED,
            "invalid flow state, flow state has expired",
        ));
    }
    let mut user = user::find_by_id(&mut tx, user_id, false)
        .await?
        .ok_or_else(not_found)?;
    one_time::verify_pkce(
        challenge.as_deref().unwrap_or(""),
        method.as_deref().unwrap_or(""),
        &verifier,
    )?;
    tokens::audit_user(
        &mut tx,
        info,
        &user,
        Action::Login,
        Some(json!({"provider_type": provider_type})),
    )
    .await?;
    let session = tokens::issue_session(state, &mut tx, info, &mut user, &auth_method).await?;
    tx.query("delete from auth.flow_state where id = $1", &[&flow_id])
        .await?;
    tx.commit().await?;
    Ok(ok_json(session))
}
