//! Who is calling, for every Bucketbase service: the layer Supabase's gateway and PostgREST's
//! `Auth.hs` provide together. [`Keys`] holds the HS256 secret, the JWKS public keys and the
//! opaque `sb_…` keys and verifies tokens (alg, key, `exp`/`nbf`/`iat`, `aud`); [`authenticate`]
//! turns a request's `apikey` and `Authorization` headers into the [`Caller`] whose role and
//! claims the request runs under; [`Authenticated`] is the same as an axum extractor whose
//! rejection each service renders in its own envelope; [`Caller::request_context`] builds the
//! settings PostgREST gives every transaction (`role`, `request.jwt.claims`, `request.method`,
//! `request.path`, `request.headers`).
//!
//! Nothing here knows GoTrue: the auth service depends on this crate like every other service.

mod identify;
mod keys;

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::response::IntoResponse;
use http::request::Parts;

pub use identify::{
    authenticate, bearer_token, identify_token, request_headers_json, Caller, KeySource,
};
pub use keys::{KeyConfig, KeyConfigError, KeyError, Keys, LEEWAY_SECONDS};

/// A service state that holds the JWT keys, so [`Authenticated`] can verify callers.
pub trait HasKeys {
    /// The keys requests are verified with.
    fn keys(&self) -> &Keys;
}

impl HasKeys for Keys {
    fn keys(&self) -> &Keys {
        self
    }
}

/// Seconds since the Unix epoch, the clock tokens are checked against.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The authenticated caller as an axum extractor. `R` is the service's rejection: anything
/// built from a [`KeyError`] that renders as a response, so storage answers in Storage's
/// envelope and functions in theirs.
#[derive(Debug, Clone)]
pub struct Authenticated<R>(pub Caller, PhantomData<fn() -> R>);

impl<R> Authenticated<R> {
    /// The caller.
    pub fn into_inner(self) -> Caller {
        self.0
    }
}

impl<S, R> FromRequestParts<S> for Authenticated<R>
where
    S: HasKeys + Send + Sync,
    R: From<KeyError> + IntoResponse,
{
    type Rejection = R;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, R> {
        authenticate(state.keys(), &parts.headers, now())
            .map(|caller| Authenticated(caller, PhantomData))
            .map_err(R::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::Response;
    use serde_json::json;

    /// A rejection in some service's own envelope.
    #[derive(Debug)]
    struct Rejected(KeyError);

    impl From<KeyError> for Rejected {
        fn from(e: KeyError) -> Self {
            Rejected(e)
        }
    }

    impl IntoResponse for Rejected {
        fn into_response(self) -> Response {
            (http::StatusCode::UNAUTHORIZED, self.0.to_string()).into_response()
        }
    }

    fn keys() -> Keys {
        Keys::new(KeyConfig {
            jwt_secret: "super-secret-jwt-token-with-at-least-32-characters-long".into(),
            ..Default::default()
        })
        .expect("keys")
    }

    async fn extract(keys: &Keys, authorization: Option<&str>) -> Result<Caller, Rejected> {
        let mut request = http::Request::builder();
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        Authenticated::<Rejected>::from_request_parts(&mut parts, keys)
            .await
            .map(Authenticated::into_inner)
    }

    #[tokio::test]
    async fn the_extractor_verifies_and_rejects_in_the_services_envelope() {
        let k = keys();
        let token = k.sign(&json!({"role": "authenticated", "sub": "u", "exp": now() + 60}));
        let caller = extract(&k, Some(&format!("Bearer {token}")))
            .await
            .expect("caller");
        assert_eq!(
            (caller.role.as_str(), caller.user_id()),
            ("authenticated", Some("u"))
        );
        let expired = k.sign(&json!({"role": "authenticated", "exp": now() - 3600}));
        let Err(Rejected(e)) = extract(&k, Some(&format!("Bearer {expired}"))).await else {
            panic!("an expired token is refused");
        };
        assert_eq!(e, KeyError::Expired);
        let Err(Rejected(e)) = extract(&k, None).await else {
            panic!("no key is refused when anon needs one");
        };
        assert_eq!(e, KeyError::Missing);
    }
}
