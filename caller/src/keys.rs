//! JWT keys as PostgREST's `Auth.hs` uses them and Supabase configures them: the HS256
//! `JWT_SECRET`, asymmetric public keys from a JWKS (RS256/ES256, chosen by `kid`), and the
//! opaque `sb_publishable_…` / `sb_secret_…` API keys that Supabase's gateway maps to the
//! `anon` / `service_role` JWTs. Claims `exp`, `nbf` and `iat` are checked with 30 s of skew,
//! `aud` only when configured.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use thiserror::Error;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, as PostgREST.
pub const LEEWAY_SECONDS: i64 = 30;

/// Where the keys come from.
#[derive(Debug, Clone, Default)]
pub struct KeyConfig {
    /// `JWT_SECRET`: the HS256 secret (at least 32 characters).
    pub jwt_secret: String,
    /// `JWT_JWKS` / `JWT_JWKS_FILE`: a JWKS (or single JWK) JSON with asymmetric public keys.
    pub jwks: Option<String>,
    /// `JWT_AUD`: accepted audiences; empty means `aud` is not checked.
    pub audiences: Vec<String>,
    /// `SUPABASE_PUBLISHABLE_KEY`: opaque keys mapped to `anon`.
    pub publishable_keys: Vec<String>,
    /// `SUPABASE_SECRET_KEY`: opaque keys mapped to `service_role`.
    pub secret_keys: Vec<String>,
    /// Treat a request with no key at all as `anon` (the Supabase CLI's local gateway does).
    pub anon_without_key: bool,
}

/// Why a key or token was refused. The message texts are PostgREST's.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum KeyError {
    /// No `apikey` and no `Authorization` while anonymous access needs a key.
    #[error("No API key found in request")]
    Missing,
    /// `Authorization: Bearer ` with nothing after it.
    #[error("Empty JWT is sent in Authorization header")]
    Empty,
    /// Not three dot-separated parts.
    #[error("Expected 3 parts in JWT; got {0}")]
    Parts(usize),
    /// Header undecodable or algorithm not supported (including `none`).
    #[error("Wrong or unsupported encoding algorithm")]
    Algorithm,
    /// No configured key fits the token's algorithm or `kid`.
    #[error("No suitable key or wrong key type")]
    NoSuitableKey,
    /// Signature does not verify, or the payload is not a JSON object.
    #[error("JWT cryptographic operation failed")]
    Signature,
    /// `exp` is in the past (beyond the leeway).
    #[error("JWT expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("JWT not yet valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("JWT issued at future")]
    IssuedInFuture,
    /// `aud` does not match the configured audiences.
    #[error("JWT not in audience")]
    Audience,
    /// A time claim or `role` has the wrong type.
    #[error("The JWT 'exp' claim must be a number")]
    MalformedClaim,
    /// An `sb_…` key that is not configured here.
    #[error("Invalid API key")]
    UnknownApiKey,
}

/// Why the key configuration cannot be used (at start-up).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum KeyConfigError {
    /// `JWT_SECRET` is shorter than HS256 needs.
    #[error("JWT_SECRET must be at least 32 characters long")]
    ShortSecret,
    /// The JWKS text does not parse.
    #[error("the JWKS (JWT_JWKS / JWT_JWKS_FILE) is not valid JSON: {0}")]
    JwksJson(String),
    /// A JWK lacks a field its key type needs.
    #[error("JWK {kid:?} lacks \"{field}\"")]
    MissingField {
        /// The key's `kid`.
        kid: Option<String>,
        /// The missing member.
        field: String,
    },
    /// A JWK's key material does not decode.
    #[error("JWK {kid:?}: {reason}")]
    BadKey {
        /// The key's `kid`.
        kid: Option<String>,
        /// What the decoder said.
        reason: String,
    },
    /// A JWK of a key type other than RSA, EC or oct.
    #[error("JWK {kid:?} has unsupported kty {kty:?}")]
    UnsupportedKty {
        /// The key's `kid`.
        kid: Option<String>,
        /// Its `kty`.
        kty: String,
    },
}

impl KeyError {
    /// True for claim-validation failures (PostgREST `PGRST303`), false for decoding/signature
    /// failures (`PGRST301`).
    pub fn is_claims_error(&self) -> bool {
        matches!(
            self,
            KeyError::Expired
                | KeyError::NotYetValid
                | KeyError::IssuedInFuture
                | KeyError::Audience
                | KeyError::MalformedClaim
        )
    }
}

struct PublicKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

struct Inner {
    config: KeyConfig,
    hs_decode: DecodingKey,
    hs_encode: EncodingKey,
    public: Vec<PublicKey>,
    /// Tokens whose signature verified, with their claims (PostgREST's JWT cache): the time
    /// claims are checked again on every use.
    verified: std::sync::Mutex<VerifiedCache>,
}

/// How many verified tokens the cache keeps before it starts over.
const VERIFIED_CACHE_SIZE: usize = 4096;
/// The bytes the cache may hold (as estimated by [`cache_cost`]) before it starts over.
const VERIFIED_CACHE_BYTES: usize = 16 << 20;
/// Tokens longer than this are verified on every use and never cached: a token carrying the
/// maximum user metadata (~88 KB) would otherwise cost ~110 KB of cache each.
const MAX_CACHED_TOKEN: usize = 8 << 10;

/// Verified tokens and their claims, bounded by count and by estimated bytes.
#[derive(Default)]
struct VerifiedCache {
    claims: std::collections::HashMap<String, Value>,
    bytes: usize,
}

/// What one cached token costs: the key, plus its decoded claims, which take about as many
/// bytes again as the token's text (measured: ~1.25x for large metadata), so twice its length.
fn cache_cost(token: &str) -> usize {
    token.len() * 2 + 64
}

impl VerifiedCache {
    fn insert(&mut self, token: &str, claims: Value) {
        if token.len() > MAX_CACHED_TOKEN {
            return;
        }
        let cost = cache_cost(token);
        if self.claims.len() >= VERIFIED_CACHE_SIZE || self.bytes + cost > VERIFIED_CACHE_BYTES {
            self.claims.clear();
            self.bytes = 0;
        }
        if self.claims.insert(token.to_string(), claims).is_none() {
            self.bytes += cost;
        }
    }
}

/// The verified key set (cheap to clone).
#[derive(Clone)]
pub struct Keys(Arc<Inner>);

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_struct("Keys")
            .field("public_keys", &self.0.public.len())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Builds the key set; fails with a readable message on a bad JWKS or a short secret.
    pub fn new(config: KeyConfig) -> Result<Self, KeyConfigError> {
        if config.jwt_secret.len() < 32 {
            return Err(KeyConfigError::ShortSecret);
        }
        let mut public = Vec::new();
        if let Some(text) = &config.jwks {
            let parsed: Value =
                serde_json::from_str(text).map_err(|e| KeyConfigError::JwksJson(e.to_string()))?;
            // A JWKS `{"keys": [...]}` (PostgREST's), a bare array of JWKs (GoTrue's
            // `GOTRUE_JWT_KEYS`, the CLI's `signing_keys.json`), or one JWK.
            let list = match parsed {
                Value::Array(keys) => keys,
                other => match other.get("keys") {
                    Some(Value::Array(keys)) => keys.clone(),
                    _ => vec![other],
                },
            };
            for jwk in list {
                if let Some(key) = public_key_from_jwk(&jwk)? {
                    public.push(key);
                }
            }
        }
        Ok(Self(Arc::new(Inner {
            hs_decode: DecodingKey::from_secret(config.jwt_secret.as_bytes()),
            hs_encode: EncodingKey::from_secret(config.jwt_secret.as_bytes()),
            public,
            config,
            verified: std::sync::Mutex::new(VerifiedCache::default()),
        })))
    }

    /// The configuration the keys were built from.
    pub fn config(&self) -> &KeyConfig {
        &self.0.config
    }

    /// Signs `claims` with the HS256 secret.
    pub fn sign(&self, claims: &Value) -> String {
        // Serializing a serde_json::Value with HS256 cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.0.hs_encode)
            .unwrap_or_default()
    }

    /// An API key JWT for `role` (`anon` or `service_role`), valid for ten years from `now`.
    pub fn api_key(&self, role: &str, now: i64) -> String {
        self.sign(&json!({
            "iss": "bucketbase",
            "role": role,
            "iat": now,
            "exp": now + 10 * 365 * 24 * 3600,
        }))
    }

    /// Verifies a JWT and validates its claims at time `now` (seconds since the epoch).
    pub fn verify(&self, token: &str, now: i64) -> Result<Value, KeyError> {
        if token.is_empty() {
            return Err(KeyError::Empty);
        }
        let cached = self
            .0
            .verified
            .lock()
            .ok()
            .and_then(|cache| cache.claims.get(token).cloned());
        if let Some(claims) = cached {
            return self.validate_claims(claims, now);
        }
        let claims = self.verify_signature(token)?;
        if let Ok(mut cache) = self.0.verified.lock() {
            cache.insert(token, claims.clone());
        }
        self.validate_claims(claims, now)
    }

    /// Checks the token's shape, algorithm, key and signature; returns its payload.
    fn verify_signature(&self, token: &str) -> Result<Value, KeyError> {
        let parts = token.split('.').count();
        if parts != 3 {
            return Err(KeyError::Parts(parts));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| KeyError::Algorithm)?;
        let candidates: Vec<(&DecodingKey, Algorithm)> = match header.alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                if header.kid.is_some()
                    && !self.0.public.is_empty()
                    && self.0.public.iter().all(|k| k.kid != header.kid)
                    && header.alg != Algorithm::HS256
                {
                    return Err(KeyError::NoSuitableKey);
                }
                vec![(&self.0.hs_decode, header.alg)]
            }
            alg => {
                let keys: Vec<_> = self
                    .0
                    .public
                    .iter()
                    .filter(|k| k.algorithm == alg)
                    .filter(|k| header.kid.is_none() || k.kid == header.kid)
                    .map(|k| (&k.key, alg))
                    .collect();
                if keys.is_empty() {
                    return Err(KeyError::NoSuitableKey);
                }
                keys
            }
        };
        let mut last = KeyError::Signature;
        for (key, alg) in candidates {
            let mut validation = Validation::new(alg);
            validation.validate_exp = false;
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            match jsonwebtoken::decode::<Value>(token, key, &validation) {
                Ok(data) if data.claims.is_object() => return Ok(data.claims),
                Ok(_) => return Err(KeyError::Signature),
                Err(e) => {
                    last = match e.kind() {
                        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => KeyError::Algorithm,
                        _ => KeyError::Signature,
                    }
                }
            }
        }
        Err(last)
    }

    fn validate_claims(&self, claims: Value, now: i64) -> Result<Value, KeyError> {
        if !claims.is_object() {
            return Err(KeyError::Signature);
        }
        let time = |name: &str| -> Result<Option<i64>, KeyError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as i64)),
                Some(_) => Err(KeyError::MalformedClaim),
            }
        };
        if let Some(exp) = time("exp")? {
            if now > exp + LEEWAY_SECONDS {
                return Err(KeyError::Expired);
            }
        }
        if let Some(nbf) = time("nbf")? {
            if now + LEEWAY_SECONDS < nbf {
                return Err(KeyError::NotYetValid);
            }
        }
        if let Some(iat) = time("iat")? {
            if now + LEEWAY_SECONDS < iat {
                return Err(KeyError::IssuedInFuture);
            }
        }
        let audiences = &self.0.config.audiences;
        if !audiences.is_empty() {
            let ok = match claims.get("aud") {
                None | Some(Value::Null) => true,
                Some(Value::String(a)) => audiences.contains(a),
                Some(Value::Array(list)) => {
                    list.is_empty()
                        || list
                            .iter()
                            .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a)))
                }
                Some(_) => false,
            };
            if !ok {
                return Err(KeyError::Audience);
            }
        }
        match claims.get("role") {
            None | Some(Value::String(_)) => Ok(claims),
            Some(_) => Err(KeyError::MalformedClaim),
        }
    }

    /// Maps an opaque `sb_publishable_…` / `sb_secret_…` key to its role.
    pub fn opaque_role(&self, key: &str) -> Result<&'static str, KeyError> {
        let config = &self.0.config;
        if config.secret_keys.iter().any(|k| constant_time_eq(k, key)) {
            Ok("service_role")
        } else if config
            .publishable_keys
            .iter()
            .any(|k| constant_time_eq(k, key))
        {
            Ok("anon")
        } else {
            Err(KeyError::UnknownApiKey)
        }
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn public_key_from_jwk(jwk: &Value) -> Result<Option<PublicKey>, KeyConfigError> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_string);
    let field = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| KeyConfigError::MissingField {
                kid: kid.clone(),
                field: name.to_string(),
            })
    };
    let bad = |e: jsonwebtoken::errors::Error| KeyConfigError::BadKey {
        kid: kid.clone(),
        reason: e.to_string(),
    };
    match kty {
        "RSA" => {
            let key = DecodingKey::from_rsa_components(field("n")?, field("e")?).map_err(bad)?;
            let algorithm = match jwk.get("alg").and_then(Value::as_str) {
                Some("RS384") => Algorithm::RS384,
                Some("RS512") => Algorithm::RS512,
                _ => Algorithm::RS256,
            };
            Ok(Some(PublicKey {
                kid,
                algorithm,
                key,
            }))
        }
        "EC" => {
            let key = DecodingKey::from_ec_components(field("x")?, field("y")?).map_err(bad)?;
            let algorithm = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-384") => Algorithm::ES384,
                _ => Algorithm::ES256,
            };
            Ok(Some(PublicKey {
                kid,
                algorithm,
                key,
            }))
        }
        // Symmetric keys in a Supabase JWKS carry the legacy secret, which JWT_SECRET already is.
        "oct" => Ok(None),
        other => Err(KeyConfigError::UnsupportedKty {
            kid,
            kty: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

    fn keys() -> Keys {
        Keys::new(KeyConfig {
            jwt_secret: SECRET.into(),
            ..Default::default()
        })
        .expect("keys")
    }

    #[test]
    fn round_trips_a_signed_token() {
        let k = keys();
        let t = k.sign(&json!({"role": "authenticated", "sub": "u1", "exp": 2_000}));
        let claims = k.verify(&t, 1_000).expect("valid");
        assert_eq!(claims["sub"], "u1");
    }

    #[test]
    fn rejects_expired_beyond_leeway_only() {
        let k = keys();
        let t = k.sign(&json!({"role": "anon", "exp": 1_000}));
        assert!(k.verify(&t, 1_029).is_ok());
        assert_eq!(k.verify(&t, 1_031), Err(KeyError::Expired));
    }

    #[test]
    fn a_cached_token_still_expires_and_forgeries_are_not_cached() {
        let k = keys();
        let t = k.sign(&json!({"role": "anon", "exp": 1_000}));
        assert!(k.verify(&t, 1_000).is_ok());
        assert!(k.verify(&t, 1_000).is_ok(), "served from the cache");
        assert_eq!(k.verify(&t, 1_031), Err(KeyError::Expired));
        let mut forged = t.clone();
        forged.push('x');
        assert_eq!(k.verify(&forged, 1_000), Err(KeyError::Signature));
        assert_eq!(k.verify(&forged, 1_000), Err(KeyError::Signature));
    }

    #[test]
    fn the_verified_cache_is_bounded_by_bytes_and_skips_oversized_tokens() {
        let k = keys();
        let cached = |k: &Keys| {
            let c = k.0.verified.lock().expect("lock");
            (c.claims.len(), c.bytes)
        };
        // A token with maximum metadata verifies, but is not kept.
        let big =
            k.sign(&json!({"role": "authenticated", "user_metadata": {"x": "y".repeat(88_000)}}));
        assert!(k.verify(&big, 1_000).is_ok());
        assert!(k.verify(&big, 1_000).is_ok());
        assert_eq!(cached(&k), (0, 0));
        // Many mid-sized tokens never hold more than the byte budget.
        let mut peak = 0;
        for i in 0..3_000 {
            let t = k.sign(&json!({"role": "authenticated", "sub": i, "pad": "p".repeat(6_000)}));
            assert!(k.verify(&t, 1_000).is_ok());
            peak = peak.max(cached(&k).1);
        }
        assert!(peak > 0 && peak <= VERIFIED_CACHE_BYTES, "peak {peak}");
        let (count, bytes) = cached(&k);
        assert!(count > 0 && count < 3_000, "{count} tokens, {bytes} bytes");
    }

    #[test]
    fn rejects_nbf_and_iat_in_future() {
        let k = keys();
        let t = k.sign(&json!({"role": "anon", "nbf": 2_000}));
        assert_eq!(k.verify(&t, 1_000), Err(KeyError::NotYetValid));
        let t = k.sign(&json!({"role": "anon", "iat": 2_000}));
        assert_eq!(k.verify(&t, 1_000), Err(KeyError::IssuedInFuture));
    }

    #[test]
    fn rejects_alg_none_and_garbage() {
        let k = keys();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(r#"{"role":"service_role"}"#)
        );
        assert_eq!(k.verify(&none, 0), Err(KeyError::Algorithm));
        assert_eq!(k.verify("abc", 0), Err(KeyError::Parts(1)));
        assert_eq!(k.verify("", 0), Err(KeyError::Empty));
    }

    #[test]
    fn rejects_wrong_key_and_tampered_payload() {
        let k = keys();
        let other = Keys::new(KeyConfig {
            jwt_secret: "another-secret-that-is-long-enough-1234567890".into(),
            ..Default::default()
        })
        .expect("keys");
        let t = other.sign(&json!({"role": "service_role"}));
        assert_eq!(k.verify(&t, 0), Err(KeyError::Signature));

        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = k.sign(&json!({"role": "anon"}));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = b64.encode(r#"{"role":"service_role"}"#);
        parts[1] = &forged;
        assert_eq!(k.verify(&parts.join("."), 0), Err(KeyError::Signature));
    }

    #[test]
    fn checks_audience_when_configured() {
        let k = Keys::new(KeyConfig {
            jwt_secret: SECRET.into(),
            audiences: vec!["authenticated".into()],
            ..Default::default()
        })
        .expect("keys");
        let ok = k.sign(&json!({"aud": "authenticated"}));
        assert!(k.verify(&ok, 0).is_ok());
        let bad = k.sign(&json!({"aud": "other"}));
        assert_eq!(k.verify(&bad, 0), Err(KeyError::Audience));
        let list = k.sign(&json!({"aud": ["x", "authenticated"]}));
        assert!(k.verify(&list, 0).is_ok());
    }

    #[test]
    fn unknown_kid_for_asymmetric_token_has_no_key() {
        let k = keys();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = format!(
            "{}.{}.{}",
            b64.encode(r#"{"alg":"RS256","typ":"JWT","kid":"nope"}"#),
            b64.encode(r#"{"role":"service_role"}"#),
            b64.encode("sig")
        );
        assert_eq!(k.verify(&t, 0), Err(KeyError::NoSuitableKey));
    }

    #[test]
    fn maps_opaque_keys() {
        let k = Keys::new(KeyConfig {
            jwt_secret: SECRET.into(),
            publishable_keys: vec!["sb_publishable_abc".into()],
            secret_keys: vec!["sb_secret_xyz".into()],
            ..Default::default()
        })
        .expect("keys");
        assert_eq!(k.opaque_role("sb_publishable_abc"), Ok("anon"));
        assert_eq!(k.opaque_role("sb_secret_xyz"), Ok("service_role"));
        assert_eq!(
            k.opaque_role("sb_secret_other"),
            Err(KeyError::UnknownApiKey)
        );
    }

    #[test]
    fn reads_a_bare_array_of_jwks_as_gotrue_writes_them() {
        let config = |jwks: &str| KeyConfig {
            jwt_secret: SECRET.into(),
            jwks: Some(jwks.into()),
            ..Default::default()
        };
        assert!(Keys::new(config(r#"[{"kty":"oct","k":"c2VjcmV0"}]"#)).is_ok());
        assert!(Keys::new(config(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#)).is_ok());
        assert_eq!(
            Keys::new(config(r#"[{"kty":"RSA","kid":"a"}]"#)).err(),
            Some(KeyConfigError::MissingField {
                kid: Some("a".into()),
                field: "n".into()
            })
        );
    }

    #[test]
    fn rejects_a_bad_jwks() {
        let r = Keys::new(KeyConfig {
            jwt_secret: SECRET.into(),
            jwks: Some("{not json".into()),
            ..Default::default()
        });
        assert!(r.is_err());
    }
}
