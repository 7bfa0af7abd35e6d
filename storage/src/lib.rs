//! Supabase Storage (`/storage/v1`), as supabase/storage serves it. The bucket endpoints are
//! built (`bucket`): list, get, create, update, empty and delete `storage.buckets` under the
//! caller's role, so RLS decides. Objects, signed URLs, TUS uploads, the S3 protocol and image
//! transforms are still to come (issue 12) and answer `501` in the service's own error envelope,
//! after reading the request body.

mod bucket;
mod error;
mod request;

use axum::routing::{get, post};
use axum::Router;
use bucketbase_caller::{HasKeys, Keys};
use bucketbase_kit::{Env, EnvError};
use bucketbase_sql::Db;

pub use error::Error;

/// Configuration of the service.
#[derive(Debug, Clone, Default)]
pub struct Config {}

impl Config {
    /// Reads the service's variables (none yet).
    pub fn from_env(_env: &Env) -> Result<Self, EnvError> {
        Ok(Self {})
    }
}

/// Shared state of the service (cheap to clone).
#[derive(Clone)]
pub struct State {
    /// The service configuration.
    pub config: std::sync::Arc<Config>,
    db: Db,
    keys: Keys,
}

impl State {
    /// The state over the server's pools and keys.
    pub fn new(config: Config, db: Db, keys: Keys) -> Self {
        Self {
            config: config.into(),
            db,
            keys,
        }
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HasKeys for State {
    fn keys(&self) -> &Keys {
        &self.keys
    }
}

/// The router, mounted by the server under `/storage/v1`.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/bucket", get(bucket::list).post(bucket::create))
        .route("/bucket/", get(bucket::list).post(bucket::create))
        .route(
            "/bucket/{id}",
            get(bucket::get).put(bucket::update).delete(bucket::delete),
        )
        .route("/bucket/{id}/empty", post(bucket::empty))
        .fallback(not_implemented)
        .with_state(state)
}

/// The service as the server mounts it.
pub fn service(state: State) -> bucketbase_kit::Service {
    bucketbase_kit::Service::new("storage", Some("/storage/v1"), router(state))
}

async fn not_implemented(body: axum::body::Body) -> Error {
    bucketbase_kit::drain_body(body).await;
    Error::NotImplemented
}
