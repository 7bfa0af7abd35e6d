//! The custom access-token hook, as GoTrue runs it with a `pg-functions://` URI
//! (`internal/hooks/v0hooks/manager.go` `runPostgresHook`, `internal/tokens/service.go`
//! `GenerateAccessToken` and `validateTokenClaims`):
//!
//! - `HOOK_CUSTOM_ACCESS_TOKEN_ENABLED=true` and `HOOK_CUSTOM_ACCESS_TOKEN_URI=
//!   pg-functions://postgres/<schema>/<function>` (both also with the `GOTRUE_` prefix);
//! - every access token GoTrue mints (sign-in of any kind, PKCE exchange, verify, refresh) first
//!   calls `select "<schema>"."<function>"(event)` inside the transaction that writes the session,
//!   with `statement_timeout` 2 s, where `event` is `{user_id, claims, authentication_method}`;
//! - the function answers `{"claims": {…}}`, signed as the token as they are, or
//!   `{"error": {"http_code": N, "message": "…"}}`, answered with status N (500 when 0) and that
//!   message; a failing call is a 500 `Error running hook URI: <uri>`; claims that miss a required
//!   claim or carry one of the wrong JSON type are a 500 `output claims do not conform to the
//!   expected schema: …` (GoTrue's `MinimumViableTokenSchema`). Any error rolls the session back.
//!
//! GoTrue connects as `supabase_auth_admin`, so the function runs with that role's privileges;
//! here the call switches to that role for its duration (the admin pool logs in as a superuser),
//! so that the grants Supabase's guide prescribes (`grant execute … to supabase_auth_admin`, RLS
//! policies `to supabase_auth_admin`) mean the same. HTTP hooks are not supported: the
//! configuration refuses a non-`pg-functions` URI at startup.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{code, Error, Result};
use bucketbase_sql::ServiceTx;

/// GoTrue's `DefaultTimeout` for Postgres hooks, in milliseconds.
const TIMEOUT_MS: u32 = 2000;

/// A configured `pg-functions://` hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgFunctionHook {
    /// The URI as configured (named in error messages, as upstream).
    pub uri: String,
    /// `"schema"."function"`, quoted.
    function: String,
}

impl PgFunctionHook {
    /// Parses `pg-functions://<database>/<schema>/<function>` (GoTrue's
    /// `ExtensibilityPointConfiguration.ValidateExtensibilityPoint`: three path parts, each a
    /// plain identifier).
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = uri.strip_prefix("pg-functions://").ok_or_else(|| {
            if uri.starts_with("http://") || uri.starts_with("https://") {
                "only pg-functions:// hooks are supported".to_string()
            } else {
                format!("unsupported hook URI scheme in {uri:?}")
            }
        })?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [_database, schema, function] = parts.as_slice() else {
            return Err(format!(
                "{uri:?} must look like pg-functions://postgres/<schema>/<function>"
            ));
        };
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        if !plain(schema) || !plain(function) {
            return Err(format!(
                "{uri:?}: schema and function must be plain identifiers"
            ));
        }
        Ok(Self {
            uri: uri.to_string(),
            function: format!(
                "{}.{}",
                bucketbase_sql::quote_ident(schema),
                bucketbase_sql::quote_ident(function)
            ),
        })
    }

    /// Runs the hook for `claims` in `tx` and returns the claims to sign.
    pub async fn custom_access_token(
        &self,
        tx: &mut ServiceTx,
        user_id: Uuid,
        claims: Value,
        authentication_method: &str,
    ) -> Result<Value> {
        let event = json!({
            "user_id": user_id,
            "claims": claims,
            "authentication_method": authentication_method,
        })
        .to_string();
        let answer = self.call(tx, &event).await.map_err(|e| {
            tracing::warn!(hook = %self.uri, error = %e, "auth: hook errored out");
            Error::api(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::UNEXPECTED_FAILURE,
                format!("Error running hook URI: {}", self.uri),
            )
        })?;
        let output: Value = match answer.as_deref().map(serde_json::from_str) {
            Some(Ok(v)) => v,
            // SQL NULL, or text that is not JSON.
            None | Some(Err(_)) => {
                return Err(Error::api(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code::UNEXPECTED_FAILURE,
                    "Error unmarshaling Custom Access Token output.",
                ))
            }
        };
        if let Some(err) = output.get("error").filter(|e| e.is_object()) {
            let status = err
                .get("http_code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .filter(|c| *c != 0)
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = err.get("message").and_then(Value::as_str).unwrap_or("");
            return Err(Error::api(status, "", message));
        }
        let claims = output.get("claims").cloned().unwrap_or(Value::Null);
        validate_claims(&claims).map_err(|problems| {
            Error::api(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::UNEXPECTED_FAILURE,
                format!("output claims do not conform to the expected schema: \n{problems}"),
            )
        })?;
        Ok(claims)
    }

    /// The call itself, as the `supabase_auth_admin` role (when the login role may switch to it)
    /// with a 2 s statement timeout; both settings are restored after the call.
    async fn call(&self, tx: &mut ServiceTx, event: &str) -> Result<Option<String>> {
        let row = tx
            .query_one(
                "with previous as materialized (select current_setting('statement_timeout') as t) \
                 select previous.t, set_config('statement_timeout', $1, true), \
                   set_config('role', case when pg_has_role('supabase_auth_admin', 'member') \
                     then 'supabase_auth_admin' else 'none' end, true) \
                 from previous",
                &[&TIMEOUT_MS.to_string()],
            )
            .await?;
        let previous: String = row.try_get(0)?;
        let row = tx
            .query_one(
                &format!("select {}($1::text::jsonb)::text", self.function),
                &[&event],
            )
            .await?;
        let answer: Option<String> = row.try_get(0)?;
        tx.query(
            "select set_config('role', 'none', true), set_config('statement_timeout', $1, true)",
            &[&previous],
        )
        .await?;
        Ok(answer)
    }
}

/// The JSON types GoTrue's `MinimumViableTokenSchema` gives each known claim.
const CLAIM_TYPES: [(&str, &[&str]); 15] = [
    ("aud", &["string", "array"]),
    ("exp", &["integer"]),
    ("jti", &["string"]),
    ("iat", &["integer"]),
    ("iss", &["string"]),
    ("nbf", &["integer"]),
    ("sub", &["string"]),
    ("email", &["string"]),
    ("phone", &["string"]),
    ("app_metadata", &["object"]),
    ("user_metadata", &["object"]),
    ("role", &["string"]),
    ("aal", &["string"]),
    ("amr", &["array"]),
    ("session_id", &["string"]),
];

/// Claims the schema requires.
const REQUIRED: [&str; 10] = [
    "aud",
    "exp",
    "iat",
    "sub",
    "email",
    "phone",
    "role",
    "aal",
    "session_id",
    "is_anonymous",
];

/// The JSON-schema type name of `v` (`integer` for whole numbers).
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `claims` against GoTrue's schema; the problems, one `- …` line each, in
/// gojsonschema's wording.
fn validate_claims(claims: &Value) -> std::result::Result<(), String> {
    let Some(map) = claims.as_object() else {
        return Err(format!(
            "- (root): Invalid type. Expected: object, given: {}\n",
            type_name(claims)
        ));
    };
    let mut problems = String::new();
    for name in REQUIRED {
        if !map.contains_key(name) {
            problems.push_str(&format!("- (root): {name} is required\n"));
        }
    }
    check_types(map, &mut problems);
    if let Some(Value::Array(amr)) = map.get("amr") {
        for (i, item) in amr.iter().enumerate() {
            if !item.is_object() {
                problems.push_str(&format!(
                    "- amr.{i}: Invalid type. Expected: object, given: {}\n",
                    type_name(item)
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_types(map: &Map<String, Value>, problems: &mut String) {
    for (name, allowed) in CLAIM_TYPES {
        let Some(value) = map.get(name) else { continue };
        let given = type_name(value);
        if !allowed.contains(&given) {
            problems.push_str(&format!(
                "- {name}: Invalid type. Expected: {}, given: {given}\n",
                allowed.join("/")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pg_function_uris_only() {
        let hook =
            PgFunctionHook::parse("pg-functions://postgres/public/custom_access_token_hook").ok();
        assert_eq!(
            hook.map(|h| h.function),
            Some("\"public\".\"custom_access_token_hook\"".to_string())
        );
        for bad in [
            "https://example.com/hook",
            "pg-functions://postgres/public",
            "pg-functions://postgres/public/fn/extra",
            "pg-functions://postgres/pub;lic/fn",
            "pg-functions://postgres/public/\"fn\"",
            "ftp://x/y/z",
        ] {
            assert!(PgFunctionHook::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn validates_claims_as_gotrue_schema() {
        let good = json!({"aud": "authenticated", "exp": 1, "iat": 1, "sub": "u", "email": "",
            "phone": "", "role": "authenticated", "aal": "aal1", "session_id": "s",
            "is_anonymous": false, "amr": [{"method": "password"}], "user_role": "admin"});
        assert_eq!(validate_claims(&good), Ok(()));

        let mut missing = good.clone();
        if let Some(m) = missing.as_object_mut() {
            m.remove("role");
        }
        assert_eq!(
            validate_claims(&missing),
            Err("- (root): role is required\n".to_string())
        );

        let mut wrong = good.clone();
        wrong["exp"] = json!("soon");
        wrong["amr"] = json!(["password"]);
        assert_eq!(
            validate_claims(&wrong),
            Err("- exp: Invalid type. Expected: integer, given: string\n\
                 - amr.0: Invalid type. Expected: object, given: string\n"
                .to_string())
        );
        assert!(validate_claims(&json!([])).is_err());
    }
}
