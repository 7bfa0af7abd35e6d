//! The user and identity models of GoTrue (`internal/models/user.go`, `identity.go`): the rows
//! of `auth.users` / `auth.identities` and their JSON, field for field and in GoTrue's order
//! (omit-when-empty fields left out, `email`/`phone` as `""` when NULL, `identities` always an
//! array).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::Result;
use bucketbase_sql::ServiceTx;

/// The columns of `auth.users` the service reads, in the order [`User::from_row`] expects.
pub(crate) const USER_COLUMNS: &str = "u.id, u.aud, u.role, u.email, u.encrypted_password, \
    u.email_confirmed_at, u.invited_at, u.confirmation_token, u.confirmation_sent_at, \
    u.recovery_token, u.recovery_sent_at, u.email_change_token_new, u.email_change, \
    u.email_change_sent_at, u.last_sign_in_at, u.raw_app_meta_data, u.raw_user_meta_data, \
    u.created_at, u.updated_at, u.phone, u.phone_confirmed_at, u.phone_change, \
    u.phone_change_sent_at, u.confirmed_at, u.email_change_token_current, \
    u.email_change_confirm_status, u.banned_until, u.reauthentication_token, \
    u.reauthentication_sent_at, u.is_sso_user, u.deleted_at, u.is_anonymous";

/// The number of columns in [`USER_COLUMNS`].
pub(crate) const USER_COLUMN_COUNT: usize = 32;

/// A row of `auth.identities`.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// `id`: the row's uuid (`identity_id` in JSON).
    pub id: Uuid,
    /// `provider_id` (`id` in JSON).
    pub provider_id: String,
    /// `user_id`.
    pub user_id: Uuid,
    /// `identity_data`.
    pub identity_data: Value,
    /// `provider`.
    pub provider: String,
    /// `last_sign_in_at`.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// `created_at`.
    pub created_at: Option<DateTime<Utc>>,
    /// `updated_at`.
    pub updated_at: Option<DateTime<Utc>>,
    /// `email` (generated from `identity_data`).
    pub email: Option<String>,
}

/// A row of `auth.users` with its identities.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub(crate) struct User {
    pub id: Uuid,
    pub aud: Option<String>,
    pub role: Option<String>,
    pub email: Option<String>,
    pub encrypted_password: Option<String>,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub invited_at: Option<DateTime<Utc>>,
    pub confirmation_token: Option<String>,
    pub confirmation_sent_at: Option<DateTime<Utc>>,
    pub recovery_token: Option<String>,
    pub recovery_sent_at: Option<DateTime<Utc>>,
    pub email_change_token_new: Option<String>,
    pub email_change: Option<String>,
    pub email_change_sent_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub phone: Option<String>,
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    pub phone_change: Option<String>,
    pub phone_change_sent_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub email_change_token_current: Option<String>,
    pub email_change_confirm_status: i16,
    pub banned_until: Option<DateTime<Utc>>,
    pub reauthentication_token: Option<String>,
    pub reauthentication_sent_at: Option<DateTime<Utc>>,
    pub is_sso_user: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub is_anonymous: bool,
    pub identities: Vec<Identity>,
}

/// GoTrue's JSON time format (RFC 3339, UTC, fractional seconds as needed).
pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn object(v: Option<Value>) -> Value {
    match v {
        Some(Value::Object(m)) => Value::Object(m),
        _ => Value::Object(Map::new()),
    }
}

impl User {
    /// Reads a user from `row`, whose columns start at `at` in [`USER_COLUMNS`] order.
    pub(crate) fn from_row(row: &Row, at: usize) -> Result<Self> {
        let c = |i: usize| at + i;
        Ok(Self {
            id: row.try_get(c(0))?,
            aud: row.try_get(c(1))?,
            role: row.try_get(c(2))?,
            email: row.try_get(c(3))?,
            encrypted_password: row.try_get(c(4))?,
            email_confirmed_at: row.try_get(c(5))?,
            invited_at: row.try_get(c(6))?,
            confirmation_token: row.try_get(c(7))?,
            confirmation_sent_at: row.try_get(c(8))?,
            recovery_token: row.try_get(c(9))?,
            recovery_sent_at: row.try_get(c(10))?,
            email_change_token_new: row.try_get(c(11))?,
            email_change: row.try_get(c(12))?,
            email_change_sent_at: row.try_get(c(13))?,
            last_sign_in_at: row.try_get(c(14))?,
            app_metadata: object(row.try_get(c(15))?),
            user_metadata: object(row.try_get(c(16))?),
            created_at: row.try_get(c(17))?,
            updated_at: row.try_get(c(18))?,
            phone: row.try_get(c(19))?,
            phone_confirmed_at: row.try_get(c(20))?,
            phone_change: row.try_get(c(21))?,
            phone_change_sent_at: row.try_get(c(22))?,
            confirmed_at: row.try_get(c(23))?,
            email_change_token_current: row.try_get(c(24))?,
            email_change_confirm_status: row.try_get::<_, Option<i16>>(c(25))?.unwrap_or(0),
            banned_until: row.try_get(c(26))?,
            reauthentication_token: row.try_get(c(27))?,
            reauthentication_sent_at: row.try_get(c(28))?,
            is_sso_user: row.try_get(c(29))?,
            deleted_at: row.try_get(c(30))?,
            is_anonymous: row.try_get(c(31))?,
            identities: Vec::new(),
        })
    }

    /// The email, or `""`.
    pub(crate) fn email(&self) -> &str {
        self.email.as_deref().unwrap_or("")
    }

    /// The phone, or `""`.
    pub(crate) fn phone(&self) -> &str {
        self.phone.as_deref().unwrap_or("")
    }

    /// The role, or `""`.
    pub(crate) fn role(&self) -> &str {
        self.role.as_deref().unwrap_or("")
    }

    /// The audience, or `""`.
    pub(crate) fn aud(&self) -> &str {
        self.aud.as_deref().unwrap_or("")
    }

    /// True when the email is confirmed.
    pub(crate) fn is_confirmed(&self) -> bool {
        self.email_confirmed_at.is_some()
    }

    /// True when the phone number is confirmed (GoTrue's `IsPhoneConfirmed`).
    pub(crate) fn is_phone_confirmed(&self) -> bool {
        self.phone_confirmed_at.is_some()
    }

    /// True when a password is set.
    pub(crate) fn has_password(&self) -> bool {
        self.encrypted_password
            .as_deref()
            .is_some_and(|p| !p.is_empty())
    }

    /// True while `banned_until` is in the future.
    pub(crate) fn is_banned(&self) -> bool {
        self.banned_until.is_some_and(|t| t > Utc::now())
    }

    /// GoTrue's User JSON.
    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        let opt = |m: &mut Map<String, Value>, k: &str, v: &Option<DateTime<Utc>>| {
            if let Some(t) = v {
                m.insert(k.into(), Value::String(ts(t)));
            }
        };
        let nonempty = |m: &mut Map<String, Value>, k: &str, v: &Option<String>| {
            if let Some(s) = v.as_deref().filter(|s| !s.is_empty()) {
                m.insert(k.into(), Value::String(s.to_string()));
            }
        };
        m.insert("id".into(), json!(self.id));
        m.insert("aud".into(), json!(self.aud()));
        m.insert("role".into(), json!(self.role()));
        m.insert("email".into(), json!(self.email()));
        opt(&mut m, "email_confirmed_at", &self.email_confirmed_at);
        opt(&mut m, "invited_at", &self.invited_at);
        m.insert("phone".into(), json!(self.phone()));
        opt(&mut m, "phone_confirmed_at", &self.phone_confirmed_at);
        opt(&mut m, "confirmation_sent_at", &self.confirmation_sent_at);
        opt(&mut m, "confirmed_at", &self.confirmed_at);
        opt(&mut m, "recovery_sent_at", &self.recovery_sent_at);
        nonempty(&mut m, "new_email", &self.email_change);
        opt(&mut m, "email_change_sent_at", &self.email_change_sent_at);
        nonempty(&mut m, "new_phone", &self.phone_change);
        opt(&mut m, "phone_change_sent_at", &self.phone_change_sent_at);
        opt(
            &mut m,
            "reauthentication_sent_at",
            &self.reauthentication_sent_at,
        );
        opt(&mut m, "last_sign_in_at", &self.last_sign_in_at);
        m.insert("app_metadata".into(), self.app_metadata.clone());
        m.insert("user_metadata".into(), self.user_metadata.clone());
        m.insert(
            "identities".into(),
            Value::Array(self.identities.iter().map(Identity::to_json).collect()),
        );
        m.insert(
            "created_at".into(),
            json!(self.created_at.as_ref().map(ts).unwrap_or_default()),
        );
        m.insert(
            "updated_at".into(),
            json!(self.updated_at.as_ref().map(ts).unwrap_or_default()),
        );
        opt(&mut m, "banned_until", &self.banned_until);
        opt(&mut m, "deleted_at", &self.deleted_at);
        m.insert("is_anonymous".into(), json!(self.is_anonymous));
        Value::Object(m)
    }
}

impl Identity {
    /// GoTrue's Identity JSON (`identity_id` is the row id, `id` the provider's id).
    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("identity_id".into(), json!(self.id));
        m.insert("id".into(), json!(self.provider_id));
        m.insert("user_id".into(), json!(self.user_id));
        m.insert("identity_data".into(), self.identity_data.clone());
        m.insert("provider".into(), json!(self.provider));
        if let Some(t) = &self.last_sign_in_at {
            m.insert("last_sign_in_at".into(), json!(ts(t)));
        }
        m.insert(
            "created_at".into(),
            json!(self.created_at.as_ref().map(ts).unwrap_or_default()),
        );
        m.insert(
            "updated_at".into(),
            json!(self.updated_at.as_ref().map(ts).unwrap_or_default()),
        );
        if let Some(e) = self.email.as_deref().filter(|e| !e.is_empty()) {
            m.insert("email".into(), json!(e));
        }
        Value::Object(m)
    }
}

/// A scalar subquery giving the identities of user `u` as JSON text (parse with
/// [`parse_identities`]), so one statement loads a user with identities.
pub(crate) const IDENTITIES_SUBQUERY: &str =
    "(select coalesce(json_agg(i order by i.created_at, i.id), '[]'::json) \
     from auth.identities i where i.user_id = u.id)::text";

#[derive(serde::Deserialize)]
struct IdentityJson {
    id: Uuid,
    provider_id: String,
    user_id: Uuid,
    identity_data: Value,
    provider: String,
    last_sign_in_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    email: Option<String>,
}

/// Parses the text of [`IDENTITIES_SUBQUERY`].
pub(crate) fn parse_identities(text: &str) -> Result<Vec<Identity>> {
    let list: Vec<IdentityJson> = serde_json::from_str(text)
        .map_err(|e| crate::error::Error::internal(format!("identities json: {e}")))?;
    Ok(list
        .into_iter()
        .map(|i| Identity {
            id: i.id,
            provider_id: i.provider_id,
            user_id: i.user_id,
            identity_data: i.identity_data,
            provider: i.provider,
            last_sign_in_at: i.last_sign_in_at,
            created_at: i.created_at,
            updated_at: i.updated_at,
            email: i.email,
        })
        .collect())
}

/// Reads a user followed by the [`IDENTITIES_SUBQUERY`] column from `row` at `at`.
pub(crate) fn user_with_identities(row: &Row, at: usize) -> Result<User> {
    let mut user = User::from_row(row, at)?;
    let text: String = row.try_get(at + USER_COLUMN_COUNT)?;
    user.identities = parse_identities(&text)?;
    Ok(user)
}

/// Finds a user (with identities) by id; `lock` takes the row `FOR UPDATE`.
pub(crate) async fn find_by_id(tx: &mut ServiceTx, id: Uuid, lock: bool) -> Result<Option<User>> {
    let sql = format!(
        "select {USER_COLUMNS}, {IDENTITIES_SUBQUERY} from auth.users u where u.id = $1{}",
        if lock { " for update of u" } else { "" }
    );
    match tx.query_opt(&sql, &[&id]).await? {
        Some(row) => Ok(Some(user_with_identities(&row, 0)?)),
        None => Ok(None),
    }
}

/// Finds a non-SSO user by phone number and audience, GoTrue's `FindUserByPhoneAndAudience`.
pub(crate) async fn find_by_phone(
    tx: &mut ServiceTx,
    phone: &str,
    aud: &str,
) -> Result<Option<User>> {
    let sql = format!(
        "select {USER_COLUMNS}, {IDENTITIES_SUBQUERY} from auth.users u \
         where u.phone = $1 and u.aud = $2 and u.is_sso_user = false limit 1"
    );
    match tx.query_opt(&sql, &[&phone, &aud]).await? {
        Some(row) => Ok(Some(user_with_identities(&row, 0)?)),
        None => Ok(None),
    }
}

/// Finds a non-SSO user by email (case-insensitive) and audience, GoTrue's
/// `FindUserByEmailAndAudience`. Like GoTrue's, the query names the (nil) instance, which lets
/// it use `users_instance_id_email_idx` instead of reading every user.
pub(crate) async fn find_by_email(
    tx: &mut ServiceTx,
    email: &str,
    aud: &str,
) -> Result<Option<User>> {
    let sql = format!(
        "select {USER_COLUMNS}, {IDENTITIES_SUBQUERY} from auth.users u \
         where u.instance_id = '00000000-0000-0000-0000-000000000000' \
           and lower(u.email) = lower($1) and u.aud = $2 and u.is_sso_user = false \
         limit 1"
    );
    match tx.query_opt(&sql, &[&email, &aud]).await? {
        Some(row) => Ok(Some(user_with_identities(&row, 0)?)),
        None => Ok(None),
    }
}

/// True when another non-SSO user (not `except`) of `aud` already uses `email`, through
/// `auth.users` or an email identity (GoTrue's `IsDuplicatedEmail`).
pub(crate) async fn email_taken(
    tx: &mut ServiceTx,
    email: &str,
    aud: &str,
    except: Option<Uuid>,
) -> Result<bool> {
    let row = tx
        .query_one(
            "select exists (
               select 1 from auth.users u
                where u.instance_id = '00000000-0000-0000-0000-000000000000'
                  and lower(u.email) = lower($1) and u.aud = $2 and u.is_sso_user = false
                  and ($3::uuid is null or u.id <> $3)
               union all
               select 1 from auth.identities i join auth.users u on u.id = i.user_id
                where i.email = lower($1) and u.aud = $2 and ($3::uuid is null or u.id <> $3)
             )",
            &[&email, &aud, &except],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Merges `updates` into a metadata object the way GoTrue does: `null` deletes a key.
pub(crate) fn merge_metadata(target: &mut Value, updates: &Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(obj) = target.as_object_mut() {
        for (k, v) in updates {
            if v.is_null() {
                obj.remove(k);
            } else {
                obj.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_deletes_null_keys() {
        let mut v = json!({"a": 1, "b": 2});
        let upd = json!({"b": null, "c": 3});
        merge_metadata(&mut v, upd.as_object().expect("object"));
        assert_eq!(v, json!({"a": 1, "c": 3}));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.123456+00:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(ts(&t), "2024-01-02T03:04:05.123456Z");
    }
}
