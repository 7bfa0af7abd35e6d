//! Who is calling: the one extraction every service runs on a request, mirroring Supabase's
//! gateway (which maps `apikey` and opaque keys to JWTs) followed by PostgREST's `Auth.hs`
//! (which verifies the bearer JWT and takes the role from its `role` claim).

use http::HeaderMap;
use serde_json::{json, Value};

use crate::keys::{KeyError, Keys};

/// How the caller's identity arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// A verified JWT (user session or legacy API key).
    Jwt,
    /// An opaque `sb_publishable_…` / `sb_secret_…` key.
    Opaque,
    /// No key at all, admitted as `anon` by configuration.
    None,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The database role the request runs as.
    pub role: String,
    /// The JWT claims (with `role` always present).
    pub claims: Value,
    /// How the identity arrived.
    pub source: KeySource,
    /// The bearer token as sent, when it was a JWT.
    pub token: Option<String>,
}

impl Caller {
    /// The `sub` claim, when present.
    pub fn user_id(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// True for the `service_role`.
    pub fn is_service_role(&self) -> bool {
        self.role == "service_role"
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, token trimmed; it may
/// be empty), or `None` when there is no such header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    header(headers, "authorization").and_then(|h| {
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    })
}

/// The caller behind `token` alone: an opaque `sb_…` key mapped to its role, or a verified JWT
/// whose `role` claim (default `anon`) names the role.
pub fn identify_token(keys: &Keys, token: &str, now: i64) -> Result<Caller, KeyError> {
    if token.starts_with("sb_") {
        let role = keys.opaque_role(token)?;
        return Ok(Caller {
            role: role.into(),
            claims: json!({ "role": role }),
            source: KeySource::Opaque,
            token: None,
        });
    }
    let mut claims = keys.verify(token, now)?;
    let role = claims
        .get("role")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .unwrap_or("anon")
        .to_string();
    if let Some(obj) = claims.as_object_mut() {
        obj.insert("role".into(), Value::String(role.clone()));
    }
    Ok(Caller {
        role,
        claims,
        source: KeySource::Jwt,
        token: Some(token.to_string()),
    })
}

/// Identifies the caller from `apikey` and `Authorization: Bearer …` at time `now`.
pub fn authenticate(keys: &Keys, headers: &HeaderMap, now: i64) -> Result<Caller, KeyError> {
    let bearer = bearer_token(headers);
    let token = match (bearer, header(headers, "apikey")) {
        // `Bearer sb_…` is normal supabase-js traffic with opaque keys: fall back to apikey
        // only when the bearer is opaque too (the gateway's rule).
        (Some(t), _) if !t.starts_with("sb_") => t,
        (Some(t), apikey) => apikey.filter(|k| !k.is_empty()).unwrap_or(t),
        (None, Some(k)) if !k.is_empty() => k,
        (None, _) => {
            if keys.config().anon_without_key {
                return Ok(Caller {
                    role: "anon".into(),
                    claims: json!({"role": "anon"}),
                    source: KeySource::None,
                    token: None,
                });
            }
            return Err(KeyError::Missing);
        }
    };
    identify_token(keys, token, now)
}

/// `request.headers` as PostgREST sets it: a JSON object of the headers with lower-cased names
/// (a repeated header keeps its last value), cookies excluded.
pub fn request_headers_json(headers: &HeaderMap) -> String {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        if name == "cookie" {
            continue;
        }
        if let Ok(v) = value.to_str() {
            map.insert(name.as_str().to_string(), Value::String(v.to_string()));
        }
    }
    Value::Object(map).to_string()
}

impl Caller {
    /// The per-request database settings for this caller, as PostgREST sets them before every
    /// statement: role, claims, `request.method`, `request.path`, `request.headers`, and the
    /// `search_path` (already quoted and comma-separated).
    pub fn request_context(
        &self,
        method: &http::Method,
        path: &str,
        headers: &HeaderMap,
        search_path: String,
    ) -> bucketbase_sql::RequestContext {
        bucketbase_sql::RequestContext {
            role: self.role.clone(),
            claims: self.claims.clone(),
            method: method.to_string(),
            path: path.to_string(),
            headers: request_headers_json(headers),
            search_path,
            local_setting: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyConfig;
    use bucketbase_sql::RequestContext;

    fn keys(anon_without_key: bool) -> Keys {
        Keys::new(KeyConfig {
            jwt_secret: "super-secret-jwt-token-with-at-least-32-characters-long".into(),
            publishable_keys: vec!["sb_publishable_pub".into()],
            secret_keys: vec!["sb_secret_sec".into()],
            anon_without_key,
            ..Default::default()
        })
        .expect("keys")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn no_key_is_anon_only_when_allowed() {
        assert_eq!(
            authenticate(&keys(true), &HeaderMap::new(), 0)
                .expect("anon")
                .role,
            "anon"
        );
        assert_eq!(
            authenticate(&keys(false), &HeaderMap::new(), 0).err(),
            Some(KeyError::Missing)
        );
    }

    #[test]
    fn bearer_jwt_wins_over_apikey() {
        let k = keys(false);
        let user = k.sign(&json!({"role": "authenticated", "sub": "u"}));
        let anon = k.api_key("anon", 0);
        let bearer = format!("Bearer {user}");
        let c = authenticate(
            &k,
            &headers(&[("apikey", &anon), ("authorization", &bearer)]),
            0,
        )
        .expect("caller");
        assert_eq!(c.role, "authenticated");
        assert_eq!(c.user_id(), Some("u"));
    }

    #[test]
    fn bearer_opaque_key_maps_to_role_without_decoding() {
        let k = keys(false);
        let c = authenticate(
            &k,
            &headers(&[
                ("apikey", "sb_secret_sec"),
                ("authorization", "Bearer sb_secret_sec"),
            ]),
            0,
        )
        .expect("caller");
        assert_eq!(c.role, "service_role");
        let c = authenticate(
            &k,
            &headers(&[("authorization", "Bearer sb_publishable_pub")]),
            0,
        )
        .expect("caller");
        assert_eq!(c.role, "anon");
        assert_eq!(
            authenticate(
                &k,
                &headers(&[("authorization", "Bearer sb_secret_bad")]),
                0
            )
            .err(),
            Some(KeyError::UnknownApiKey)
        );
    }

    #[test]
    fn missing_role_claim_means_anon() {
        let k = keys(false);
        let t = k.sign(&json!({"sub": "x"}));
        let c = authenticate(&k, &headers(&[("apikey", &t)]), 0).expect("caller");
        assert_eq!(c.role, "anon");
        assert_eq!(c.claims["role"], "anon");
    }

    #[test]
    fn empty_bearer_is_refused() {
        let k = keys(true);
        assert_eq!(
            authenticate(&k, &headers(&[("authorization", "Bearer ")]), 0).err(),
            Some(KeyError::Empty)
        );
    }

    #[test]
    fn request_context_carries_role_claims_and_headers_without_cookies() {
        let k = keys(false);
        let token = k.sign(&json!({"role": "authenticated", "sub": "u1"}));
        let bearer = format!("Bearer {token}");
        let h = headers(&[
            ("authorization", &bearer),
            ("cookie", "session=secret"),
            ("x-client-info", "supabase-js/2"),
        ]);
        let c = authenticate(&k, &h, 0).expect("caller");
        let RequestContext {
            role,
            claims,
            method,
            path,
            headers,
            search_path,
            ..
        } = c.request_context(&http::Method::PATCH, "/todos", &h, "\"public\"".into());
        assert_eq!(
            (role.as_str(), method.as_str(), path.as_str()),
            ("authenticated", "PATCH", "/todos")
        );
        assert_eq!(claims["sub"], "u1");
        assert_eq!(search_path, "\"public\"");
        let headers: Value = serde_json::from_str(&headers).expect("json");
        assert_eq!(headers["x-client-info"], "supabase-js/2");
        assert!(
            headers.get("cookie").is_none(),
            "cookies stay out of request.headers"
        );
    }

    #[test]
    fn bearer_token_reads_the_scheme_case_insensitively() {
        assert_eq!(
            bearer_token(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
