//! One-time tokens and PKCE flow state, as GoTrue keeps them (`crypto.GenerateOtp`,
//! `crypto.GenerateTokenHash`, `models/one_time_token.go`, `models/flow_state.go`,
//! `api/pkce.go`): a mailed secret is a numeric OTP; what is stored (in the user's token column
//! and in `auth.one_time_tokens`) and put in links is `hex(SHA-224(email + otp))`, prefixed
//! `pkce_` in the PKCE flow. The OTP itself is never stored.

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha224, Sha256};
use uuid::Uuid;

use crate::error::{code, Error, Result};
use bucketbase_sql::ServiceTx;

/// The prefix of token hashes issued in the PKCE flow.
pub(crate) const PKCE_PREFIX: &str = "pkce_";

/// How long a flow state (and so an auth code) lives (GoTrue's 300 s minimum).
pub(crate) const FLOW_STATE_TTL_SECS: i64 = 300;

/// A numeric OTP of `len` digits.
pub(crate) fn generate_otp(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// `hex(SHA-224(email_or_phone + otp))`.
pub(crate) fn token_hash(email_or_phone: &str, otp: &str) -> String {
    let mut h = Sha224::new();
    h.update(email_or_phone.as_bytes());
    h.update(otp.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The token types of `auth.one_time_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenType {
    /// `confirmation_token` (sign-up, invite).
    Confirmation,
    /// `recovery_token` (recovery, magic link).
    Recovery,
    /// `email_change_token_current`.
    EmailChangeCurrent,
    /// `email_change_token_new`.
    EmailChangeNew,
    /// `reauthentication_token`.
    Reauthentication,
}

impl TokenType {
    /// The enum label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenType::Confirmation => "confirmation_token",
            TokenType::Recovery => "recovery_token",
            TokenType::EmailChangeCurrent => "email_change_token_current",
            TokenType::EmailChangeNew => "email_change_token_new",
            TokenType::Reauthentication => "reauthentication_token",
        }
    }
}

/// Stores the token hash of `kind` for `user_id` (replacing the previous one of that kind).
pub(crate) async fn store(
    tx: &mut ServiceTx,
    user_id: Uuid,
    kind: TokenType,
    hash: &str,
    relates_to: &str,
) -> Result<()> {
    tx.query(
        "insert into auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to, created_at, updated_at) \
         values (gen_random_uuid(), $1, $2::text::auth.one_time_token_type, $3, lower($4), now(), now()) \
         on conflict (user_id, token_type) do update \
           set id = excluded.id, token_hash = excluded.token_hash, relates_to = excluded.relates_to, \
               created_at = now(), updated_at = now()",
        &[&user_id, &kind.as_str(), &hash, &relates_to],
    )
    .await?;
    Ok(())
}

/// The user holding a token hash of one of `kinds`, if any.
pub(crate) async fn find_user(
    tx: &mut ServiceTx,
    hash: &str,
    kinds: &[TokenType],
) -> Result<Option<Uuid>> {
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let row = tx
        .query_opt(
            "select user_id from auth.one_time_tokens \
             where token_hash = $1 and token_type::text = any($2) limit 1",
            &[&hash, &kinds],
        )
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Deletes every one-time token of `user_id`.
pub(crate) async fn clear_all(tx: &mut ServiceTx, user_id: Uuid) -> Result<()> {
    tx.query(
        "delete from auth.one_time_tokens where user_id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// The PKCE parameters of a request, validated (GoTrue's `validatePKCEParams`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pkce {
    /// The challenge.
    pub challenge: String,
    /// `s256` or `plain`.
    pub method: &'static str,
}

/// Validates `code_challenge` / `code_challenge_method`; `None` means the implicit flow.
pub(crate) fn pkce_params(challenge: Option<&str>, method: Option<&str>) -> Result<Option<Pkce>> {
    let challenge = challenge.filter(|c| !c.is_empty());
    let method = method.filter(|m| !m.is_empty());
    match (challenge, method) {
        (None, None) => Ok(None),
        (Some(c), Some(m)) => {
            if !(43..=128).contains(&c.len()) {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "code challenge has to be between 43 and 128 characters",
                ));
            }
            if !c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._~-".contains(ch))
            {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes",
                ));
            }
            let method = match m.to_ascii_lowercase().as_str() {
                "s256" => "s256",
                "plain" => "plain",
                _ => {
                    return Err(Error::bad_request(
                        code::VALIDATION_FAILED,
                        format!("code challenge method {m} not supported"),
                    ))
                }
            };
            Ok(Some(Pkce {
                challenge: c.to_string(),
                method,
            }))
        }
        _ => Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "PKCE flow requires code_challenge_method and code_challenge",
        )),
    }
}

/// Creates a flow state for `user_id` (GoTrue's `generateFlowState`).
pub(crate) async fn create_flow_state(
    tx: &mut ServiceTx,
    pkce: &Pkce,
    provider_type: &str,
    authentication_method: &str,
    user_id: Uuid,
) -> Result<()> {
    tx.query(
        "insert into auth.flow_state (id, user_id, auth_code, code_challenge_method, code_challenge, \
           provider_type, created_at, updated_at, authentication_method) \
         values (gen_random_uuid(), $1, gen_random_uuid()::text, $2::text::auth.code_challenge_method, $3, \
           $4, now(), now(), $5)",
        &[
            &user_id,
            &pkce.method,
            &pkce.challenge,
            &provider_type,
            &authentication_method,
        ],
    )
    .await?;
    Ok(())
}

/// Marks the latest flow state of `user_id` for `authentication_method` as issued and returns
/// its auth code (GoTrue's `issueAuthCode`).
pub(crate) async fn issue_auth_code(
    tx: &mut ServiceTx,
    user_id: Uuid,
    authentication_method: &str,
) -> Result<String> {
    let row = tx
        .query_opt(
            "update auth.flow_state set auth_code_issued_at = now(), updated_at = now() \
             where id = (select id from auth.flow_state \
                          where user_id = $1 and authentication_method = $2 and auth_code is not null \
                          order by created_at desc limit 1) \
             returning auth_code",
            &[&user_id, &authentication_method],
        )
        .await?;
    match row {
        Some(r) => Ok(r.try_get(0)?),
        None => Err(Error::unprocessable(
            code::FLOW_STATE_NOT_FOUND,
            "No valid flow state found for user.",
        )),
    }
}

/// Checks `verifier` against a stored challenge.
pub(crate) fn verify_pkce(challenge: &str, method: &str, verifier: &str) -> Result<()> {
    let computed = match method {
        "s256" => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes())),
        "plain" => verifier.to_string(),
        _ => {
            return Err(Error::bad_request(
                code::BAD_CODE_VERIFIER,
                "code challenge method not supported",
            ))
        }
    };
    if computed.as_bytes() == challenge.as_bytes() {
        Ok(())
    } else {
        Err(Error::bad_request(
            code::BAD_CODE_VERIFIER,
            "code challenge does not match previously saved code verifier",
        ))
    }
}

/// The authentication method a verification type maps to (GoTrue's
/// `ParseAuthenticationMethod`).
pub(crate) fn authentication_method(verify_type: &str) -> &'static str {
    match verify_type {
        "signup" => "email/signup",
        "invite" => "invite",
        "magiclink" => "magiclink",
        "recovery" => "recovery",
        "email_change" => "email_change",
        _ => "otp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha224_hex_of_email_and_otp() {
        // sha224("a@b.c123456")
        let h = token_hash("a@b.c", "123456");
        assert_eq!(h.len(), 56);
        assert_eq!(h, token_hash("a@b.c", "123456"));
        assert_ne!(h, token_hash("a@b.c", "123457"));
    }

    #[test]
    fn otps_are_digits() {
        let o = generate_otp(8);
        assert_eq!(o.len(), 8);
        assert!(o.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn validates_pkce_parameters() {
        let c = "a".repeat(43);
        assert_eq!(pkce_params(None, None).expect("none"), None);
        assert!(pkce_params(Some(&c), None).is_err());
        assert!(pkce_params(Some("short"), Some("s256")).is_err());
        assert_eq!(
            pkce_params(Some(&c), Some("S256"))
                .expect("ok")
                .map(|p| p.method),
            Some("s256")
        );
    }

    #[test]
    fn verifies_s256_and_plain() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify_pkce(challenge, "s256", verifier).is_ok());
        assert!(verify_pkce(challenge, "s256", "other").is_err());
        assert!(verify_pkce("x", "plain", "x").is_ok());
    }
}
