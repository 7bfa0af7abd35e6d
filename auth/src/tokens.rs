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
//!
//! The common case (an active token of a live session) runs as one autocommitted statement
//! ([`ROTATE_FAST_SQL`]): one round trip, no explicit locks. Its `UPDATE … WHERE revoked is not
//! true` takes the token's row lock itself, and a concurrent refresh of the same token re-checks
//! that condition after the first commits, finds the token revoked and returns no row; every
//! such miss (and every error case) falls back to the locking path above, which answers exactly
//! as before.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::error::{code, Error, Result};
use crate::refresh_batch;
use crate::request::RequestInfo;
use crate::user::{User, IDENTITIES_SUBQUERY, USER_COLUMNS};
use crate::State;
use bucketbase_sql::ServiceTx;

/// A new opaque refresh token (GoTrue's `crypto.SecureAlphanumeric(12)`, lower case).
pub(crate) fn new_refresh_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// An `amr` entry.
#[derive(Debug, Clone)]
pub(crate) struct Amr {
    /// `password`, `otp`, `anonymous`, …
    pub method: String,
    /// Unix seconds.
    pub timestamp: i64,
}

/// The access-token claims of `user` for session `session_id` (contract §1.4, GoTrue's field
/// order).
pub(crate) fn claims(
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

/// The Session JSON (contract §1.2) around an access token signed at `now`.
pub(crate) fn session_body(
    state: &State,
    access_token: String,
    now: i64,
    refresh_token: &str,
    user: &User,
) -> Value {
    json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": state.config().jwt_exp,
        "expires_at": now + state.config().jwt_exp,
        "refresh_token": refresh_token,
        "user": user.to_json(),
    })
}

/// Signs `claims` as the access token of `user`, first handing them to the custom access-token
/// hook (in `tx`, the transaction that writes the session) when one is configured.
pub(crate) async fn sign_access_token(
    state: &State,
    tx: &mut ServiceTx,
    user: &User,
    claims: Value,
    authentication_method: &str,
) -> Result<String> {
    let claims = match &state.config().access_token_hook {
        Some(hook) => {
            hook.custom_access_token(tx, user.id, claims, authentication_method)
                .await?
        }
        None => claims,
    };
    Ok(state.keys().sign(&claims))
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
pub(crate) async fn issue_session(
    state: &State,
    tx: &mut ServiceTx,
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
    let now = Utc::now().timestamp();
    let claims = claims(state, info, user, session_id, "aal1", &amr, now);
    let access = sign_access_token(state, tx, user, claims, method).await?;
    Ok(session_body(state, access, now, &token, user))
}

/// The common refresh in one statement, for a batch of requests ([`crate::refresh_batch`]):
/// each element of the arrays `$1` (presented tokens), `$4` (their children), `$5` (user
/// agents), `$6` (`inet` texts) and `$7` (client addresses for the audit log) is one request.
/// Every active token whose user is not banned and whose session has not expired (`$2`
/// timebox, `$3` inactivity timeout, seconds or null) is revoked, its child inserted, its
/// session touched, and the `token_revoked` and `token_refreshed` audit rows written. Returns
/// one row per rotated request: its new token, the session id, `aal`, the AMR claims, the user
/// and its identities ([`ROTATED_USER_AT`]). A request whose token fails any condition, or
/// whose token an earlier element of the batch already rotated, gets no row.
pub(crate) const ROTATE_FAST_SQL: &str = "with req as (
    select * from unnest($1::text[], $4::text[], $5::text[], $6::text[], $7::text[])
      as r(token, new_token, user_agent, inet, ip)
  ), old as (
    update auth.refresh_tokens rt set revoked = true, updated_at = now()
    from req, auth.sessions s, auth.users u
    where rt.token = req.token and rt.revoked is not true
      and s.id = rt.session_id and u.id = s.user_id
      and (u.banned_until is null or u.banned_until <= now())
      and (s.not_after is null or s.not_after >= now())
      and ($2::float8 is null or s.created_at is null
           or s.created_at + make_interval(secs => $2::float8) >= now())
      and ($3::float8 is null
           or coalesce(s.refreshed_at at time zone 'utc', rt.updated_at, s.created_at, now())
              + make_interval(secs => $3::float8) >= now())
    returning req.new_token, s.id as session_id, coalesce(s.aal::text, 'aal1') as aal,
      (select coalesce(json_agg(json_build_object('method', c.authentication_method,
          'timestamp', extract(epoch from c.updated_at)::bigint) order by c.updated_at desc), '[]'::json)
         from auth.mfa_amr_claims c where c.session_id = s.id)::text as amr,
      {USER}, {IDENTITIES} as identities,
      case when coalesce(u.phone, '') = '' then coalesce(u.email, '') else u.phone end as actor_username,
      case when jsonb_typeof(u.raw_user_meta_data) = 'object' and u.raw_user_meta_data ? 'full_name'
        then u.raw_user_meta_data -> 'full_name' end as actor_name,
      jsonb_typeof(u.raw_user_meta_data) = 'object' and u.raw_user_meta_data ? 'full_name' as has_name,
      req.token as parent, req.user_agent as req_user_agent, req.inet as req_inet, req.ip as req_ip
  ), child as (
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
    select '00000000-0000-0000-0000-000000000000', old.new_token, old.id::text, false, now(), now(),
      old.parent, old.session_id
    from old
  ), touched as (
    update auth.sessions s set refreshed_at = now() at time zone 'utc', updated_at = now(),
      user_agent = old.req_user_agent, ip = old.req_inet::inet
    from old where s.id = old.session_id
  ), audit as (
    insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
    select '00000000-0000-0000-0000-000000000000', gen_random_uuid(),
      case when old.has_name then json_build_object('actor_id', old.id,
          'actor_via_sso', coalesce(old.is_sso_user, false), 'actor_username', old.actor_username,
          'action', a.action, 'log_type', 'token', 'actor_name', old.actor_name)
        else json_build_object('actor_id', old.id,
          'actor_via_sso', coalesce(old.is_sso_user, false), 'actor_username', old.actor_username,
          'action', a.action, 'log_type', 'token') end,
      now(), old.req_ip
    from old, (values ('token_revoked'), ('token_refreshed')) a(action)
  )
  select * from old";

/// The column of [`ROTATE_FAST_SQL`]'s answer where the user starts.
pub(crate) const ROTATED_USER_AT: usize = 4;

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
pub(crate) async fn refresh(state: &State, info: &RequestInfo, token: &str) -> Result<Value> {
    if token.len() < 12 {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Refresh token is not valid",
        ));
    }
    let config = state.config();
    // The one-statement path commits before the token is signed and checks no other session, so
    // a hook (which runs in the refresh's transaction) or single-session mode takes the locking
    // path.
    if config.access_token_hook.is_none() && !config.sessions_single_per_user {
        if let Some(session) = rotate_fast(state, info, token).await? {
            return Ok(session);
        }
    }
    refresh_locked(state, info, token).await
}

/// [`ROTATE_FAST_SQL`], in the next batch: the Session JSON, or `None` when the locking path
/// must decide.
async fn rotate_fast(state: &State, info: &RequestInfo, token: &str) -> Result<Option<Value>> {
    let new_token = new_refresh_token();
    let request = refresh_batch::Request {
        token: token.to_string(),
        new_token: new_token.clone(),
        user_agent: info.user_agent.clone(),
        inet: info.inet(),
        ip: info.ip.clone(),
    };
    let refresh_batch::Outcome::Rotated(row) = state.refresh_batcher().rotate(request).await else {
        return Ok(None);
    };
    let session_id: Uuid = row.try_get(1)?;
    let aal: String = row.try_get(2)?;
    let amr_text: String = row.try_get(3)?;
    let user = crate::user::user_with_identities(&row, ROTATED_USER_AT)?;
    Ok(Some(refreshed_session(
        state, info, &user, session_id, &aal, &amr_text, &new_token,
    )))
}

/// `sql` with its `{USER}` and `{IDENTITIES}` column lists filled in.
fn with_user_columns(sql: &str) -> String {
    sql.replace("{USER}", USER_COLUMNS)
        .replace("{IDENTITIES}", IDENTITIES_SUBQUERY)
}

/// [`ROTATE_FAST_SQL`] with its column lists filled in, built once: the statement cache is keyed
/// by the text, which is hashed on every request.
pub fn fast_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| with_user_columns(ROTATE_FAST_SQL));
    &SQL
}

/// `LOCK_SQL` with its column lists filled in, built once.
fn lock_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| with_user_columns(LOCK_SQL));
    &SQL
}

/// The access-token claims after a refresh (`amr_text` is the JSON array of AMR claims), and the
/// time they were issued.
fn refresh_claims(
    state: &State,
    info: &RequestInfo,
    user: &User,
    session_id: Uuid,
    aal: &str,
    amr_text: &str,
) -> (Value, i64) {
    let amr: Vec<Amr> = serde_json::from_str::<Vec<Value>>(amr_text)
        .unwrap_or_default()
        .iter()
        .map(|a| Amr {
            method: a["method"].as_str().unwrap_or("").to_string(),
            timestamp: a["timestamp"].as_i64().unwrap_or(0),
        })
        .collect();
    let now = Utc::now().timestamp();
    (claims(state, info, user, session_id, aal, &amr, now), now)
}

/// The Session JSON after a refresh, signed without a hook.
fn refreshed_session(
    state: &State,
    info: &RequestInfo,
    user: &User,
    session_id: Uuid,
    aal: &str,
    amr_text: &str,
    refresh_token: &str,
) -> Value {
    let (claims, now) = refresh_claims(state, info, user, session_id, aal, amr_text);
    let access = state.keys().sign(&claims);
    session_body(state, access, now, refresh_token, user)
}

/// The refresh with `FOR UPDATE` locks: revoked, unknown and expired tokens, and fast-path misses.
async fn refresh_locked(state: &State, info: &RequestInfo, token: &str) -> Result<Value> {
    let config = state.config();
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let Some(row) = tx.query_opt(lock_sql(), &[&token]).await? else {
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
    if config.sessions_single_per_user {
        // GoTrue's `LastRefreshedAt(&token.UpdatedAt)`: the session's refresh time, else the
        // token's update time when later than the session's creation, else the creation.
        let this_refreshed = refreshed_at
            .map(|t| t.and_utc())
            .or(token_updated.filter(|t| session_created.is_none_or(|c| *t > c)))
            .or(session_created)
            .unwrap_or(now);
        if newer_session_exists(&mut tx, config, user.id, session_id, this_refreshed).await? {
            return Err(Error::bad_request(
                code::SESSION_EXPIRED,
                "Invalid Refresh Token: Session Expired (Revoked by Newer Login)",
            ));
        }
    }

    // With a hook the writes stay uncommitted until the hook has answered, so that its error
    // leaves the token unrotated, as in GoTrue's single transaction.
    let hooked = config.access_token_hook.is_some();
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
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                    [&session_id, &ua, &ip, &refreshed, &info.ip];
                write_then_commit(&mut tx, REISSUE_SQL, &params, !hooked).await?;
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
        write_then_commit(&mut tx, ROTATE_SQL, &params, !hooked).await?;
        new_token
    };
    if hooked {
        let (claims, now) = refresh_claims(state, info, &user, session_id, &aal, &amr_text);
        let access = sign_access_token(state, &mut tx, &user, claims, "token_refresh").await?;
        tx.commit().await?;
        return Ok(session_body(state, access, now, &issued, &user));
    }
    drop(tx);
    Ok(refreshed_session(
        state, info, &user, session_id, &aal, &amr_text, &issued,
    ))
}

/// Runs `sql` in `tx`; with `commit`, the COMMIT is pipelined with it (one round trip) and the
/// transaction ends, otherwise it stays open.
async fn write_then_commit(
    tx: &mut ServiceTx,
    sql: &str,
    params: bucketbase_sql::Params<'_>,
    commit: bool,
) -> Result<()> {
    if !commit {
        tx.query(sql, params).await?;
        return Ok(());
    }
    let stmt = tx.raw()?.prepare_cached(sql).await?;
    let client = tx.raw()?;
    let (w, c) = tokio::join!(
        client.execute(&stmt, params),
        client.batch_execute("commit")
    );
    tx.mark_closed();
    w?;
    c?;
    Ok(())
}

/// Whether `user` has another live session refreshed after `this_refreshed` (GoTrue's
/// `SESSIONS_SINGLE_PER_USER` check: sessions past their `not_after`, time-box or inactivity
/// timeout do not count).
async fn newer_session_exists(
    tx: &mut ServiceTx,
    config: &crate::config::Config,
    user_id: Uuid,
    session_id: Uuid,
    this_refreshed: DateTime<Utc>,
) -> Result<bool> {
    let row = tx
        .query_one(
            "select exists (select 1 from auth.sessions o \
               where o.user_id = $1 and o.id <> $2 \
                 and (o.not_after is null or o.not_after >= now()) \
                 and ($3::float8 is null \
                      or o.created_at + make_interval(secs => $3::float8) >= now()) \
                 and ($4::float8 is null \
                      or coalesce(o.refreshed_at at time zone 'utc', o.created_at) \
                         + make_interval(secs => $4::float8) >= now()) \
                 and coalesce(o.refreshed_at at time zone 'utc', o.created_at) > $5)",
            &[
                &user_id,
                &session_id,
                &refresh_batch::seconds(config.sessions_timebox),
                &refresh_batch::seconds(config.sessions_inactivity_timeout),
                &this_refreshed,
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Records `action` for `user` in `tx`.
pub(crate) async fn audit_user(
    tx: &mut ServiceTx,
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
