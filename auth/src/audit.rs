//! Rows of `auth.audit_log_entries`, as GoTrue's `models.NewAuditLogEntry` writes them:
//! `payload = {actor_id, actor_via_sso, actor_username, action, log_type, traits?}`, the
//! nil instance id, the client IP.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::Result;
use crate::user::User;
use bucketbase_sql::ServiceTx;

/// GoTrue's audit actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Action {
    Login,
    Logout,
    UserSignedUp,
    UserInvited,
    UserDeleted,
    UserModified,
    UserRecoveryRequested,
    UserReauthenticateRequested,
    UserConfirmationRequested,
    UserRepeatedSignUp,
    UserUpdatedPassword,
    TokenRevoked,
    TokenRefreshed,
}

impl Action {
    /// The `action` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Logout => "logout",
            Action::UserSignedUp => "user_signedup",
            Action::UserInvited => "user_invited",
            Action::UserDeleted => "user_deleted",
            Action::UserModified => "user_modified",
            Action::UserRecoveryRequested => "user_recovery_requested",
            Action::UserReauthenticateRequested => "user_reauthenticate_requested",
            Action::UserConfirmationRequested => "user_confirmation_requested",
            Action::UserRepeatedSignUp => "user_repeated_signup",
            Action::UserUpdatedPassword => "user_updated_password",
            Action::TokenRevoked => "token_revoked",
            Action::TokenRefreshed => "token_refreshed",
        }
    }

    /// The `log_type` value.
    pub(crate) fn log_type(self) -> &'static str {
        match self {
            Action::Login | Action::Logout => "account",
            Action::UserSignedUp | Action::UserInvited | Action::UserDeleted => "team",
            Action::TokenRevoked | Action::TokenRefreshed => "token",
            _ => "user",
        }
    }
}

/// Who did it: a user, or an admin key (GoTrue's admin pseudo-user: nil id, role as name).
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    /// The actor's user id (nil for admins).
    pub id: Uuid,
    /// Email or phone (phone wins), or the admin role.
    pub username: String,
    /// `raw_user_meta_data.full_name`, when set.
    pub name: Option<Value>,
    /// `is_sso_user`.
    pub via_sso: bool,
}

impl Actor {
    /// The actor for `user`.
    pub(crate) fn user(user: &User) -> Self {
        let username = if user.phone().is_empty() {
            user.email().to_string()
        } else {
            user.phone().to_string()
        };
        Self {
            id: user.id,
            username,
            name: user.user_metadata.get("full_name").cloned(),
            via_sso: user.is_sso_user,
        }
    }

    /// The admin pseudo-actor for an API key with `role`.
    pub(crate) fn admin(role: &str) -> Self {
        Self {
            id: Uuid::nil(),
            username: role.to_string(),
            name: None,
            via_sso: false,
        }
    }
}

/// The JSON payload of an entry.
pub(crate) fn payload(actor: &Actor, action: Action, traits: Option<Value>) -> Value {
    let mut p = json!({
        "actor_id": actor.id,
        "actor_via_sso": actor.via_sso,
        "actor_username": actor.username,
        "action": action.name(),
        "log_type": action.log_type(),
    });
    if let Some(name) = &actor.name {
        p["actor_name"] = name.clone();
    }
    if let Some(t) = traits {
        p["traits"] = t;
    }
    p
}

/// The INSERT for one entry: parameters `$1` payload (json), `$2` ip address.
pub(crate) const INSERT_SQL: &str =
    "insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address) \
     values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), $1::text::json, now(), $2)";

/// Writes one entry.
pub(crate) async fn record(
    tx: &mut ServiceTx,
    actor: &Actor,
    action: Action,
    traits: Option<Value>,
    ip: &str,
) -> Result<()> {
    let p = payload(actor, action, traits).to_string();
    tx.query(INSERT_SQL, &[&p, &ip]).await?;
    Ok(())
}
