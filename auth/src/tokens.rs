//! Sessions, access tokens and refresh tokens, as GoTrue's token service
//! (`internal/tokens/service.go`: `IssueRefreshToken`, `GenerateAccessToken`,
//! `RefreshTokenGrant`; `internal/models/refresh_token.go`, `sessions.go`).
//!
//! A sign-in creates an `auth.sessions` row, its first `auth.refresh_tokens` row (12 characters
//! `[a-z0-9]`, GoTrue's legacy format) and an `auth.mfa_amr_claims` row. A refresh locks the
//! token and session rows `FOR UPDATE`, then:
//! - token active: revoke it, issue its child (`parent` = the old token);
//! - token revoked but parent of the session's active token (the client lost the answer), or
//!   revoked within `SECURITY_REFRESH_TOKEN_REUSE_INTERVAL` (concurrent tabs): answer the active
//!   token again, never a second child, so one session never forks into two families;
//! - otherwise reuse is detected: the session is deleted and `refresh_token_already_used`
//!   returned.
//!
//! Two concurrent refreshes of one token serialize on the row lock; the second one finds the
//! token revoked and its child active, and returns that child.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::db::Tx;
use crate::error::{code, Error, Result};
use crate::request::RequestInfo;
use crate::user::{User, IDENTITIES_SUBQUERY, USER_COLUMNS};
use crate::State;

/// The nil instance id GoTrue writes everywhere.
pub const INSTANCE_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A new opaque refresh token (GoTrue's `crypto.SecureAlphanumeric(12)`, lower case).
pub fn new_refresh_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// An `amr` entry.
#[derive(Debug, Clone)]
pub struct Amr {
    /// `password`, `otp`, `anonymous`, …
    pub method: String,
    /// Unix seconds.
    pub timestamp: i64,
}

/// The access-token claims of `user` for session `session_id` (contract §1.4, GoTrue's field
/// order).
pub fn claims(
    state: &State,
    info: &RequestInfo,
    user: &User,
    session_id: Uuid,
    aal: &str,
    amr: &[Amr],
    now: i64,
) -> Value {
    json!({
        "iss": info.issuer(state),
        "sub": user.id,
        "aud": user.aud(),
        "exp": now + state.config().jwt_exp,
        "iat": now,
        "email": user.email(),
        "phone": user.phone(),
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "role": user.role(),
        "aal": aal,
        "amr": amr.iter().map(|a| json!({"method": a.method, "timestamp": a.timestamp})).collect::<Vec<_>>(),
        "session_id": session_id,
        "is_anonymous": user.is_anonymous,
    })
}

/// The Session JSON (contract §1.2).
pub fn session_json(
    state: &State,
    info: &RequestInfo,
    user: &User,
    session_id: Uuid,
    amr: &[Amr],
    refresh_token: &str,
) -> Value {
    let now = Utc::now().timestamp();
    let access = state
        .keys()
        .sign(&claims(state, info, user, session_id, "aal1", amr, now));
    json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": state.config().jwt_exp,
        "expires_at": now + state.config().jwt_exp,
        "refresh_token": refresh_token,
        "user": user.to_json(),
    })
}

const ISSUE_SQL: &str = "with s as (
    insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
    values ($1, $2, now(), now(), 'aal1', $3, $4::text::inet)
    returning id
  ), rt as (
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
    select '00000000-0000-0000-0000-000000000000', $5, $2::text, false, now(), now(), null, s.id from s
  ), amr as (
    insert into auth.mfa_amr_claims (session_id, created_at, updated_at, authentication_method, id)
    select s.id, now(), now(), $6, gen_random_uuid() from s
  ), u as (
    update auth.users set last_sign_in_at = now(), updated_at = now() where id = $2
    returning last_sign_in_at, updated_at
  )
  select (select last_sign_in_at from u), (select updated_at from u), extract(epoch from now())::bigint";

/// Starts a session for `user` signed in by `method` (GoTrue's `IssueRefreshToken`): writes the
/// session, refresh token, AMR claim and `last_sign_in_at` in `tx`, and returns the Session JSON.
pub async fn issue_session(
    state: &State,
    tx: &mut Tx,
    info: &RequestInfo,
    user: &mut User,
    method: &str,
) -> Result<Value> {
    let session_id = Uuid::new_v4();
    let token = new_refresh_token();
    let row = tx
        .query_one(
            ISSUE_SQL,
            &[
                &session_id,
                &user.id,
                &info.user_agent,
                &info.inet(),
                &token,
                &method,
            ],
        )
        .await?;
    user.last_sign_in_at = row.try_get(0)?;
    user.updated_at = row
        .try_get::<_, Option<DateTime<Utc>>>(1)?
        .or(user.updated_at);
    let at: i64 = row.try_get(2)?;
    let amr = [Amr {
        method: method.to_string(),
        timestamp: at,
    }];
    Ok(session_json(state, info, user, session_id, &amr, &token))
}

const LOCK_SQL: &str = "select rt.id, rt.revoked, rt.updated_at, s.id, s.created_at, s.not_after, \
    s.refreshed_at, coalesce(s.aal::text, 'aal1'), \
    (select coalesce(json_agg(json_build_object('method', c.authentication_method, \
        'timestamp', extract(epoch from c.updated_at)::bigint) order by c.updated_at desc), '[]'::json) \
       from auth.mfa_amr_claims c where c.session_id = s.id)::text, \
    {USER}, {IDENTITIES} \
  from auth.refresh_tokens rt \
  join auth.sessions s on s.id = rt.session_id \
  join auth.users u on u.id = s.user_id \
  where rt.token = $1 \
  for update of rt, s";

const ROTATE_SQL: &str = "with old as (
    update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1
  ), new as (
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
    values ('00000000-0000-0000-0000-000000000000', $2, $3, false, now(), now(), $4, $5)
  ), s as (
    update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now(),
      user_agent = $6, ip = $7::text::inet where id = $5
  )
  insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
  values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), $8::text::json, now(), $9),
         ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), $10::text::json, now(), $9)";

const REISSUE_SQL: &str = "with s as (
    update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now(),
      user_agent = $2, ip = $3::text::inet where id = $1
  )
  insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
  values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), $4::text::json, now(), $5)";

/// `grant_type=refresh_token` (GoTrue's `RefreshTokenGrant`, legacy tokens, with the rules in
/// the module documentation). Returns the Session JSON.
pub async fn refresh(state: &State, info: &RequestInfo, token: &str) -> Result<Value> {
    if token.len() < 12 {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Refresh token is not valid",
        ));
    }
    let config = state.config();
    let mut tx = Tx::begin(&state.db().admin).await?;
    let sql = LOCK_SQL
        .replace("{USER}", USER_COLUMNS)
        .replace("{IDENTITIES}", IDENTITIES_SUBQUERY);
    let Some(row) = tx.query_opt(&sql, &[&token]).await? else {
        // Either no such token, or a token whose session is gone.
        let orphan = tx
            .query_opt(
                "select 1 from auth.refresh_tokens where token = $1",
                &[&token],
            )
            .await?;
        return Err(match orphan {
            Some(_) => Error::bad_request(
                code::SESSION_NOT_FOUND,
                "Invalid Refresh Token: No Valid Session Found",
            ),
            None => Error::bad_request(
                code::REFRESH_TOKEN_NOT_FOUND,
                "Invalid Refresh Token: Refresh Token Not Found",
            ),
        });
    };
    let token_id: i64 = row.try_get(0)?;
    let revoked: Option<bool> = row.try_get(1)?;
    let token_updated: Option<DateTime<Utc>> = row.try_get(2)?;
    let session_id: Uuid = row.try_get(3)?;
    let session_created: Option<DateTime<Utc>> = row.try_get(4)?;
    let not_after: Option<DateTime<Utc>> = row.try_get(5)?;
    let refreshed_at: Option<chrono::NaiveDateTime> = row.try_get(6)?;
    let aal: String = row.try_get(7)?;
    let amr_text: String = row.try_get(8)?;
    let user = crate::user::user_with_identities(&row, 9)?;

    if user.is_banned() {
        return Err(Error::bad_request(
            code::USER_BANNED,
            "Invalid Refresh Token: User Banned",
        ));
    }
    let now = Utc::now();
    let last_refreshed = refreshed_at
        .map(|t| t.and_utc())
        .or(token_updated)
        .or(session_created)
        .unwrap_or(now);
    if not_after.is_some_and(|t| now > t)
        || config.sessions_timebox.is_some_and(|tb| {
            session_created
                .is_some_and(|c| now > c + chrono::Duration::from_std(tb).unwrap_or_default())
        })
    {
        return Err(Error::bad_request(
            code::SESSION_EXPIRED,
            "Invalid Refresh Token: Session Expired",
        ));
    }
    if config
        .sessions_inactivity_timeout
        .is_some_and(|it| now > last_refreshed + chrono::Duration::from_std(it).unwrap_or_default())
    {
        return Err(Error::bad_request(
            code::SESSION_EXPIRED,
            "Invalid Refresh Token: Session Expired (Inactivity)",
        ));
    }

    let actor = Actor::user(&user);
    let ua = info.user_agent.clone();
    let ip = info.inet();
    let refreshed = audit::payload(&actor, Action::TokenRefreshed, None).to_string();
    let issued = if revoked.unwrap_or(false) {
        // A revoked token: look at the session's active token with a fresh snapshot (taken
        // after the lock, so a concurrent refresh that just committed is visible).
        let active = tx
            .query_opt(
                "select token, parent from auth.refresh_tokens \
                 where session_id = $1 and revoked = false order by id desc limit 1",
                &[&session_id],
            )
            .await?;
        let active_token: Option<String> = active.as_ref().map(|r| r.try_get(0)).transpose()?;
        let active_parent: Option<String> =
            active.as_ref().map(|r| r.try_get(1)).transpose()?.flatten();
        let within_interval = token_updated.is_some_and(|t| {
            now <= t + chrono::Duration::seconds(config.refresh_token_reuse_interval)
        });
        match active_token {
            Some(active) if active_parent.as_deref() == Some(token) || within_interval => {
                let stmt = tx.raw()?.prepare_cached(REISSUE_SQL).await?;
                let client = tx.raw()?;
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                    [&session_id, &ua, &ip, &refreshed, &info.ip];
                let (w, c) = tokio::join!(
                    client.execute(&stmt, &params),
                    client.batch_execute("commit")
                );
                tx.mark_closed();
                w?;
                c?;
                active
            }
            _ => {
                // Reuse outside the interval: end the session (and with it every token of it).
                tx.query("delete from auth.sessions where id = $1", &[&session_id])
                    .await?;
                tx.commit().await?;
                tracing::warn!(session = %session_id, "auth: refresh token reuse detected, session revoked");
                return Err(Error::bad_request(
                    code::REFRESH_TOKEN_ALREADY_USED,
                    "Invalid Refresh Token: Already Used",
                ));
            }
        }
    } else {
        let new_token = new_refresh_token();
        let revoked_payload = audit::payload(&actor, Action::TokenRevoked, None).to_string();
        let uid = user.id.to_string();
        let stmt = tx.raw()?.prepare_cached(ROTATE_SQL).await?;
        let client = tx.raw()?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
            &token_id,
            &new_token,
            &uid,
            &token,
            &session_id,
            &ua,
            &ip,
            &revoked_payload,
            &info.ip,
            &refreshed,
        ];
        let (w, c) = tokio::join!(
            client.execute(&stmt, &params),
            client.batch_execute("commit")
        );
        tx.mark_closed();
        w?;
        c?;
        new_token
    };
    drop(tx);
    let amr: Vec<Amr> = serde_json::from_str::<Vec<Value>>(&amr_text)
        .unwrap_or_default()
        .iter()
        .map(|a| Amr {
            method: a["method"].as_str().unwrap_or("").to_string(),
            timestamp: a["timestamp"].as_i64().unwrap_or(0),
        })
        .collect();
    let now = now.timestamp();
    let access = state
        .keys()
        .sign(&claims(state, info, &user, session_id, &aal, &amr, now));
    Ok(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": config.jwt_exp,
        "expires_at": now + config.jwt_exp,
        "refresh_token": issued,
        "user": user.to_json(),
    }))
}

/// Records `action` for `user` in `tx`.
pub async fn audit_user(
    tx: &mut Tx,
    info: &RequestInfo,
    user: &User,
    action: Action,
    traits: Option<Value>,
) -> Result<()> {
    audit::record(tx, &Actor::user(user), action, traits, &info.ip).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_look_like_gotrues_legacy_ones() {
        let t = new_refresh_token();
        assert_eq!(t.len(), 12);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(t, new_refresh_token());
    }
}
