//! Authentication for every Bucketbase service: the JWT keys ([`keys`]), the caller extraction
//! every service runs on each request ([`caller`]), and the GoTrue-compatible `/auth/v1` API.

pub mod caller;
pub mod error;
pub mod keys;

pub use caller::{authenticate, Caller, KeySource};
pub use error::{Error, Result};
pub use keys::{KeyConfig, KeyError, Keys};

use axum::Router;

/// Configuration of the `/auth/v1` service.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `SITE_URL`: where email links land by default.
    pub site_url: String,
}

/// Shared state of the `/auth/v1` service (cheap to clone).
#[derive(Clone)]
pub struct State {
    /// The JWT keys.
    pub keys: Keys,
    /// Service configuration.
    pub config: std::sync::Arc<Config>,
}

/// The `/auth/v1` router (mounted by the server under `/auth/v1`).
pub fn router(state: State) -> Router {
    Router::new()
        .route(
            "/health",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({
                    "version": env!("CARGO_PKG_VERSION"),
                    "name": "GoTrue",
                    "description": "GoTrue is a user registration and authentication API"
                }))
            }),
        )
        .with_state(state)
}
