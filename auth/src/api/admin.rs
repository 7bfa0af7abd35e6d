//! The admin API, as GoTrue's `admin.go` and `invite.go`: service-role callers list users
//! (`page`, `per_page`, `filter`, `sort`, `X-Total-Count`, `Link`), create, read, update and
//! delete them (soft or hard), and invite by mail (`generate_link` lives in its own module).

use axum::extract::{Path, State as S};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::accounts::{self, NewUser};
use crate::audit::{self, Action, Actor};
use crate::error::{code, ok_json, Error, Result};
use crate::mail::MailKind;
use crate::one_time;
use crate::password;
use crate::request::{parse_body, require_admin, JsonBody, RequestInfo};
use crate::user::{self, merge_metadata, User, IDENTITIES_SUBQUERY, USER_COLUMNS};
use crate::State;
use bucketbase_sql::ServiceTx;

/// The body of `POST /admin/users` and `PUT /admin/users/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AdminUserParams {
    id: Option<String>,
    aud: Option<String>,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    password_hash: Option<String>,
    email_confirm: bool,
    phone_confirm: bool,
    user_metadata: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
    ban_duration: Option<String>,
}

fn parse_user_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|_| Error::not_found(code::VALIDATION_FAILED, "user_id must be an UUID"))
}

async fn load(tx: &mut ServiceTx, id: Uuid) -> Result<User> {
    user::find_by_id(tx, id, true)
        .await?
        .ok_or_else(|| Error::not_found(code::USER_NOT_FOUND, "User not found"))
}

fn ban_until(duration: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    if duration == "none" {
        return Ok(None);
    }
    let d = bucketbase_kit::parse_duration(duration)
        .filter(|_| !duration.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| {
            Error::bad_request(
                code::VALIDATION_FAILED,
                format!("invalid format for ban duration: time: invalid duration {duration:?}"),
            )
        })?;
    Ok(Some(
        chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_default(),
    ))
}

/// `GET /admin/users?page=&per_page=&filter=&sort=`.
pub(crate) async fn list_users(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
) -> Result<Response> {
    require_admin(&state, &headers)?;
    let parse = |k: &str, default: i64| -> Result<i64> {
        match info
            .query
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
        {
            None => Ok(default),
            // Numbers past i64 (GoTrue parses a uint64) page past every user.
            Some(v) => v
                .parse::<u64>()
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
                .map_err(|e| {
                    Error::bad_request(
                        code::VALIDATION_FAILED,
                        format!("Bad Pagination Parameters: {e}"),
                    )
                }),
        }
    };
    let page = parse("page", 1)?.max(1);
    let per_page = parse("per_page", 50)?.max(1);
    let filter = info
        .query
        .get("filter")
        .map(|f| format!("%{}%", f.replace(['%', '_'], "")))
        .unwrap_or_else(|| "%".into());
    // GoTrue's `sort`: only `created_at`, `asc` or `desc` (default `created_at desc`).
    let direction = match info.query.get("sort").map(String::as_str) {
        None => "desc",
        Some(value) => {
            let mut parts = value.splitn(2, ' ');
            let field = parts.next().unwrap_or_default();
            if field != "created_at" {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    format!("Bad Sort Parameters: bad field for sort '{field}'"),
                ));
            }
            match parts.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("DESC") => "desc",
                Some("ASC") => "asc",
                Some(_) => {
                    return Err(Error::bad_request(
                        code::VALIDATION_FAILED,
                        format!(
                            "Bad Sort Parameters: bad direction for sort '{}', only 'asc' and 'desc' allowed",
                            value.split_once(' ').map(|x| x.1).unwrap_or_default()
                        ),
                    ))
                }
            }
        }
    };
    let aud = info.aud(&state);
    let mut tx = ServiceTx::read(&state.db().admin).await?;
    let total: i64 = tx
        .query_one(
            "select count(*) from auth.users u where u.aud = $1 and \
               (coalesce(u.email, '') ilike $2 or coalesce(u.phone, '') ilike $2 \
                or coalesce(u.raw_user_meta_data->>'full_name', '') ilike $2)",
            &[&aud, &filter],
        )
        .await?
        .try_get(0)?;
    let sql = format!(
        "select {USER_COLUMNS}, {IDENTITIES_SUBQUERY} from auth.users u where u.aud = $1 and \
           (coalesce(u.email, '') ilike $2 or coalesce(u.phone, '') ilike $2 \
            or coalesce(u.raw_user_meta_data->>'full_name', '') ilike $2) \
         order by u.created_at {direction}, u.id limit $3 offset $4"
    );
    let rows = tx
        .query(
            &sql,
            &[
                &aud,
                &filter,
                &per_page,
                &(page - 1).saturating_mul(per_page),
            ],
        )
        .await?;
    let users = rows
        .iter()
        .map(|r| user::user_with_identities(r, 0).map(|u| u.to_json()))
        .collect::<Result<Vec<_>>>()?;
    let pages = total.saturating_add(per_page - 1) / per_page;
    let mut link = String::new();
    let url = |p: i64| {
        let mut q: Vec<(String, String)> = info
            .query
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .filter(|(k, _)| k != "page" && k != "per_page")
            .collect();
        q.push(("page".into(), p.to_string()));
        q.push(("per_page".into(), per_page.to_string()));
        q.sort();
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(q);
        format!("</admin/users?{}>", s.finish())
    };
    if pages > page {
        link.push_str(&format!("{}; rel=\"next\", ", url(page.saturating_add(1))));
    }
    link.push_str(&format!("{}; rel=\"last\"", url(pages)));
    let res = ok_json(json!({"users": users, "aud": aud}));
    let res = super::meta::with_header(res, "x-total-count", &total.to_string());
    Ok(super::meta::with_header(res, "link", &link))
}

/// `GET /admin/users/{id}`.
pub(crate) async fn get_user(
    S(state): S<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    require_admin(&state, &headers)?;
    let id = parse_user_id(&id)?;
    let mut tx = ServiceTx::read(&state.db().admin).await?;
    let user = user::find_by_id(&mut tx, id, false)
        .await?
        .ok_or_else(|| Error::not_found(code::USER_NOT_FOUND, "User not found"))?;
    Ok(ok_json(user.to_json()))
}

/// `GET /admin/users/{id}/factors`: no MFA factors exist here.
pub(crate) async fn list_factors(
    S(state): S<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    require_admin(&state, &headers)?;
    let id = parse_user_id(&id)?;
    let mut tx = ServiceTx::read(&state.db().admin).await?;
    user::find_by_id(&mut tx, id, false)
        .await?
        .ok_or_else(|| Error::not_found(code::USER_NOT_FOUND, "User not found"))?;
    Ok(ok_json(json!([])))
}

/// `POST /admin/users`.
pub(crate) async fn create_user(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
    JsonBody(p): JsonBody<AdminUserParams>,
) -> Result<Response> {
    let role = require_admin(&state, &headers)?;
    let config = state.config();
    let aud = p
        .aud
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| info.aud(&state));
    let email = match p.email.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(accounts::validate_email(e)?),
        None => None,
    };
    if email.is_none() {
        if p.phone.as_deref().is_some_and(|ph| !ph.is_empty()) {
            return Err(Error::bad_request(
                code::PHONE_PROVIDER_DISABLED,
                "Phone logins are disabled",
            ));
        }
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Cannot create a user without either an email or phone",
        ));
    }
    let password_given = p.password.as_deref().filter(|pw| !pw.is_empty());
    let hash_given = p.password_hash.as_deref().filter(|h| !h.is_empty());
    if password_given.is_some() && hash_given.is_some() {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            "Only a password or a password hash should be provided",
        ));
    }
    let id = match p.id.as_deref().filter(|i| !i.is_empty()) {
        Some(raw) => {
            let id = Uuid::parse_str(raw).map_err(|_| {
                Error::bad_request(
                    code::VALIDATION_FAILED,
                    "ID must conform to the uuid v4 format",
                )
            })?;
            if id.is_nil() {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "ID cannot be a nil uuid",
                ));
            }
            id
        }
        None => Uuid::new_v4(),
    };
    let banned_until = match p.ban_duration.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => ban_until(b)?,
        None => None,
    };
    for meta in [&p.user_metadata, &p.app_metadata].into_iter().flatten() {
        accounts::check_metadata_size(&Value::Object(meta.clone()))?;
    }
    let hash = match (password_given, hash_given) {
        (_, Some(h)) => {
            if !password::is_supported_hash(h) {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "Invalid password hash: only bcrypt and argon2 hashes are supported",
                ));
            }
            h.to_string()
        }
        (Some(pw), None) => {
            if pw.len() > password::MAX_PASSWORD_LENGTH {
                return Err(Error::bad_request(
                    code::VALIDATION_FAILED,
                    "password length exceeds 72 bytes",
                ));
            }
            state.hasher().hash(pw).await?
        }
        (None, None) => String::new(),
    };
    let email = email.unwrap_or_default();
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    if user::email_taken(&mut tx, &email, &aud, None).await? {
        return Err(Error::unprocessable(
            code::EMAIL_EXISTS,
            "A user with this email address has already been registered",
        ));
    }
    let mut app = json!({"provider": "email", "providers": ["email"]});
    if let Some(a) = &p.app_metadata {
        merge_metadata(&mut app, a);
    }
    accounts::insert_user(
        &mut tx,
        &NewUser {
            id,
            aud,
            role: p
                .role
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| config.jwt_default_group.clone()),
            email: Some(email.clone()),
            phone: None,
            password_hash: hash,
            app_metadata: app,
            user_metadata: Value::Object(p.user_metadata.clone().unwrap_or_default()),
            is_anonymous: false,
        },
    )
    .await?;
    accounts::ensure_identity(
        &mut tx,
        id,
        "email",
        &accounts::email_identity_data(id, &email, &Map::new()),
    )
    .await?;
    if p.email_confirm {
        accounts::confirm(&mut tx, id).await?;
    }
    if banned_until.is_some() {
        tx.query(
            "update auth.users set banned_until = $2 where id = $1",
            &[&id, &banned_until],
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &Actor::admin(&role),
        Action::UserSignedUp,
        Some(json!({"user_id": id, "user_email": email, "user_phone": "", "provider": "email"})),
        &info.ip,
    )
    .await?;
    let user = accounts::reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(ok_json(user.to_json()))
}

/// `PUT /admin/users/{id}`.
pub(crate) async fn update_user(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<AdminUserParams>,
) -> Result<Response> {
    let role = require_admin(&state, &headers)?;
    let config = state.config();
    let id = parse_user_id(&id)?;
    let email = match p.email.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(accounts::validate_email(e)?),
        None => None,
    };
    if p.phone.as_deref().is_some_and(|ph| !ph.is_empty()) {
        return Err(Error::bad_request(
            code::PHONE_PROVIDER_DISABLED,
            "Phone logins are disabled",
        ));
    }
    let banned_until = match p.ban_duration.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => Some(ban_until(b)?),
        None => None,
    };
    let hash = match &p.password {
        Some(pw) => {
            password::check_strength(
                pw,
                config.password_min_length,
                &config.password_required_characters,
            )?;
            Some(state.hasher().hash(pw).await?)
        }
        None => None,
    };
    for meta in [&p.user_metadata, &p.app_metadata].into_iter().flatten() {
        accounts::check_metadata_size(&Value::Object(meta.clone()))?;
    }
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let user = load(&mut tx, id).await?;
    if let Some(r) = p.role.as_deref().filter(|r| !r.is_empty()) {
        tx.query(
            "update auth.users set role = $2, updated_at = now() where id = $1",
            &[&id, &r],
        )
        .await?;
    }
    if p.email_confirm {
        accounts::confirm(&mut tx, id).await?;
    }
    if let Some(hash) = &hash {
        tx.query(
            "update auth.users set encrypted_password = $2, confirmation_token = '', \
               recovery_token = '', email_change_token_current = '', email_change_token_new = '', \
               reauthentication_token = '', updated_at = now() where id = $1",
            &[&id, hash],
        )
        .await?;
        one_time::clear_all(&mut tx, id).await?;
        tx.query("delete from auth.sessions where user_id = $1", &[&id])
            .await?;
    }
    if let Some(e) = &email {
        if e != user.email() && user::email_taken(&mut tx, e, user.aud(), Some(id)).await? {
            return Err(Error::unprocessable(
                code::EMAIL_EXISTS,
                "A user with this email address has already been registered",
            ));
        }
        let updated = tx
            .query(
                "update auth.identities set identity_data = identity_data || \
                   jsonb_build_object('email', $2::text, 'email_verified', $3::bool), updated_at = now() \
                 where user_id = $1 and provider = 'email' returning id",
                &[&id, e, &p.email_confirm],
            )
            .await?;
        if updated.is_empty() {
            let mut data = accounts::email_identity_data(id, e, &Map::new());
            data["email_verified"] = json!(p.email_confirm);
            accounts::ensure_identity(&mut tx, id, "email", &data).await?;
        }
        tx.query(
            "update auth.users set email = $2, updated_at = now(), \
               is_anonymous = case when $3 then false else is_anonymous end where id = $1",
            &[&id, e, &p.email_confirm],
        )
        .await?;
        accounts::update_providers(&mut tx, id).await?;
    }
    if let Some(a) = &p.app_metadata {
        let mut current = accounts::reload(&mut tx, id).await?.app_metadata;
        merge_metadata(&mut current, a);
        tx.query(
            "update auth.users set raw_app_meta_data = $2, updated_at = now() where id = $1",
            &[&id, &current],
        )
        .await?;
    }
    if let Some(m) = &p.user_metadata {
        let mut current = user.user_metadata.clone();
        merge_metadata(&mut current, m);
        tx.query(
            "update auth.users set raw_user_meta_data = $2, updated_at = now() where id = $1",
            &[&id, &current],
        )
        .await?;
    }
    if let Some(until) = banned_until {
        tx.query(
            "update auth.users set banned_until = $2, updated_at = now() where id = $1",
            &[&id, &until],
        )
        .await?;
    }
    let updated = accounts::reload(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &Actor::admin(&role),
        Action::UserModified,
        Some(json!({"user_id": id, "user_email": updated.email(), "user_phone": updated.phone()})),
        &info.ip,
    )
    .await?;
    tx.commit().await?;
    Ok(ok_json(updated.to_json()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeleteParams {
    should_soft_delete: bool,
}

/// `DELETE /admin/users/{id}` with `{should_soft_delete}`.
pub(crate) async fn delete_user(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response> {
    let role = require_admin(&state, &headers)?;
    let id = parse_user_id(&id)?;
    let p: DeleteParams = parse_body(&body)?;
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let user = load(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &Actor::admin(&role),
        Action::UserDeleted,
        Some(json!({"user_id": id, "user_email": user.email(), "user_phone": user.phone()})),
        &info.ip,
    )
    .await?;
    if p.should_soft_delete {
        if user.deleted_at.is_none() {
            // GoTrue's SoftDeleteUser: addresses obfuscated, secrets cleared, sessions gone,
            // identities detached.
            tx.query(
                "update auth.users set \
                   email = case when email is null then null else encode(sha256(convert_to(id::text || email, 'utf8')), 'hex') || '@deleted.invalid' end, \
                   phone = null, encrypted_password = '', email_change = '', phone_change = '', \
                   confirmation_token = '', recovery_token = '', email_change_token_current = '', \
                   email_change_token_new = '', phone_change_token = '', deleted_at = now(), \
                   updated_at = now() where id = $1",
                &[&id],
            )
            .await?;
            tx.query(
                "update auth.identities set provider_id = encode(sha256(convert_to(id::text || provider_id, 'utf8')), 'hex'), \
                   identity_data = '{}'::jsonb where user_id = $1",
                &[&id],
            )
            .await?;
            one_time::clear_all(&mut tx, id).await?;
            tx.query("delete from auth.mfa_factors where user_id = $1", &[&id])
                .await?;
            tx.query("delete from auth.sessions where user_id = $1", &[&id])
                .await?;
        }
    } else {
        tx.query("delete from auth.users where id = $1", &[&id])
            .await?;
    }
    tx.commit().await?;
    Ok(ok_json(json!({})))
}

/// The body of `POST /invite`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InviteParams {
    email: Option<String>,
    data: Option<Map<String, Value>>,
}

/// `POST /invite`.
pub(crate) async fn invite(
    S(state): S<State>,
    info: RequestInfo,
    headers: HeaderMap,
    JsonBody(p): JsonBody<InviteParams>,
) -> Result<Response> {
    let role = require_admin(&state, &headers)?;
    let email = accounts::validate_email(p.email.as_deref().unwrap_or(""))?;
    let data = p.data.unwrap_or_default();
    accounts::check_metadata_size(&Value::Object(data.clone()))?;
    let aud = info.aud(&state);
    let redirect = accounts::redirect_for(&state, &info, None);
    let mut tx = ServiceTx::begin(&state.db().admin).await?;
    let id = match user::find_by_email(&mut tx, &email, &aud).await? {
        Some(u) if u.is_confirmed() => {
            return Err(Error::unprocessable(
                code::EMAIL_EXISTS,
                "A user with this email address has already been registered",
            ))
        }
        Some(u) => u.id,
        None => {
            let id = Uuid::new_v4();
            accounts::insert_user(
                &mut tx,
                &NewUser::email(
                    id,
                    &aud,
                    &state.config().jwt_default_group,
                    &email,
                    String::new(),
                    &data,
                ),
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
    audit::record(
        &mut tx,
        &Actor::admin(&role),
        Action::UserInvited,
        Some(json!({"user_id": id, "user_email": email})),
        &info.ip,
    )
    .await?;
    accounts::send_token_mail(
        &state,
        &mut tx,
        &info,
        &user,
        MailKind::Invite,
        false,
        &redirect,
    )
    .await?;
    let user = accounts::reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(ok_json(user.to_json()))
}
