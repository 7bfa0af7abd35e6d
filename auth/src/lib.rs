//! The GoTrue-compatible `/auth/v1` service ([`api`]): sign-up, sign-in, sessions with rotating
//! refresh tokens, the user endpoints, email flows over SMTP, PKCE, and the admin API, all on
//! GoTrue's `auth` schema. Tokens are signed and verified with `bucketbase_caller::Keys`, the
//! layer every service shares; no other service depends on this crate.

// The error type carries GoTrue's envelope; it only travels on the error path.
#![allow(clippy::result_large_err)]

pub(crate) mod accounts;
pub(crate) mod api;
pub(crate) mod audit;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod hook;
pub(crate) mod mail;
pub(crate) mod one_time;
pub(crate) mod password;
pub(crate) mod rate_limit;
pub(crate) mod redirect;
/// The group commit of token refreshes; public for the tests of its fallback.
pub mod refresh_batch;
pub(crate) mod request;
pub(crate) mod tokens;
pub(crate) mod user;

use std::sync::Arc;

pub use config::{Config, ConfigError, MailerConfig, SmtpConfig};
pub use error::{Error, Result};
/// The statement a refresh batch runs (for [`refresh_batch::RefreshBatcher`]).
pub use tokens::fast_sql as refresh_statement;

use bucketbase_caller::Keys;
use bucketbase_sql::Db;

struct Inner {
    keys: Keys,
    config: Config,
    db: Db,
    hasher: password::Hasher,
    limiter: rate_limit::Limiter,
    mailer: mail::Mailer,
    redirects: redirect::RedirectPolicy,
    refresh_batcher: refresh_batch::RefreshBatcher,
}

/// Shared state of the `/auth/v1` service (cheap to clone).
#[derive(Clone)]
pub struct State(Arc<Inner>);

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl State {
    /// Builds the state from the configuration, the JWT keys and the database pools.
    pub fn new(config: Config, keys: Keys, db: Db) -> Self {
        Self(Arc::new(Inner {
            hasher: password::Hasher::new(config.hash_threads),
            limiter: rate_limit::Limiter::new(&config.rate_limits),
            mailer: mail::Mailer::new(config.smtp.clone()),
            redirects: redirect::RedirectPolicy::new(&config.site_url, &config.uri_allow_list),
            refresh_batcher: refresh_batch::RefreshBatcher::new(
                &db,
                refresh_batch::Limits::from_config(&config),
                tokens::fast_sql(),
            ),
            keys,
            config,
            db,
        }))
    }

    /// The group-commit front of the common token refresh.
    pub fn refresh_batcher(&self) -> &refresh_batch::RefreshBatcher {
        &self.0.refresh_batcher
    }

    /// The JWT keys.
    pub fn keys(&self) -> &Keys {
        &self.0.keys
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The database pools (auth writes through `admin`).
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// The password hasher.
    pub fn hasher(&self) -> &password::Hasher {
        &self.0.hasher
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &rate_limit::Limiter {
        &self.0.limiter
    }

    /// The mailer.
    pub fn mailer(&self) -> &mail::Mailer {
        &self.0.mailer
    }

    /// The redirect policy.
    pub fn redirects(&self) -> &redirect::RedirectPolicy {
        &self.0.redirects
    }
}

/// The `/auth/v1` router (mounted by the server under `/auth/v1`).
pub fn router(state: State) -> axum::Router {
    api::router(state)
}

/// The service as the server mounts it.
pub fn service(state: State) -> bucketbase_kit::Service {
    bucketbase_kit::Service::new("auth", Some("/auth/v1"), router(state))
}
