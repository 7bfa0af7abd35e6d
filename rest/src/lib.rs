//! The PostgREST-compatible data API at `/rest/v1`: `supabase.from(…)` and `supabase.rpc(…)`.
//!
//! The crate is layered as PostgREST is: `schema_cache` (`SchemaCache.hs`) loads relations,
//! relationships and functions; `plan` (`Plan.hs`) turns the request, parsed by the pure grammar
//! crate (`bucketbase_grammar`), into typed read, mutate and call plans against that cache;
//! `render` (`QueryBuilder.hs`, `SqlFragment.hs`) turns plans into parameterised SQL whose JSON
//! PostgreSQL builds; `api` (`App.hs`, `ApiRequest.hs`, `Response.hs`) is the HTTP glue that
//! runs the statement in one [`bucketbase_sql::RequestTx`] under the caller's role and claims.
//! `error` holds the one table of `PGRST` codes and the SQLSTATE mapping.

// The error type carries the full PostgREST envelope; it only travels on the error path.
#![allow(clippy::result_large_err)]

mod api;
mod error;
mod plan;
mod render;
mod schema_cache;

use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use bucketbase_caller::Keys;
use bucketbase_kit::{Env, EnvError, Shutdown};
use bucketbase_sql::Db;
use tokio::sync::RwLock;

pub use error::{Error, Result};
use schema_cache::SchemaCache;

/// Configuration of the REST service (PostgREST's settings, Supabase's values as defaults).
#[derive(Debug, Clone)]
pub struct Config {
    /// `db-schemas`: exposed schemas, the first is the default.
    pub schemas: Vec<String>,
    /// `db-extra-search-path`.
    pub extra_search_path: Vec<String>,
    /// `db-max-rows`.
    pub max_rows: Option<i64>,
    /// `db-anon-role`.
    pub anon_role: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// `db-tx-end = commit-allow-override`: honour `Prefer: tx=rollback`.
    pub allow_tx_override: bool,
    /// `db-pre-request`: a function (`name` or `schema.name`) called with no arguments after
    /// the request's settings and before its statement; it may raise to reject the request.
    pub pre_request: Option<String>,
    /// `db-aggregates-enabled` (`PGRST_DB_AGGREGATES_ENABLED`, default false); the in-database
    /// setting `pgrst.db_aggregates_enabled` wins, as PostgREST's in-database configuration.
    pub aggregates_enabled: bool,
    /// `db-plan-enabled` (`PGRST_DB_PLAN_ENABLED`, default false): the `EXPLAIN` media types;
    /// `pgrst.db_plan_enabled` wins.
    pub plan_enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            schemas: vec!["public".into(), "graphql_public".into()],
            extra_search_path: vec!["public".into(), "extensions".into()],
            max_rows: Some(1000),
            anon_role: "anon".into(),
            max_body_bytes: 10 * 1024 * 1024,
            allow_tx_override: true,
            pre_request: None,
            aggregates_enabled: false,
            plan_enabled: false,
        }
    }
}

impl Config {
    /// Reads PostgREST's variables as Supabase's self-hosting `.env` names them
    /// (`PGRST_DB_SCHEMAS`, `PGRST_DB_MAX_ROWS` (Supabase's 1000 when unset),
    /// `PGRST_DB_PRE_REQUEST`, `PGRST_DB_AGGREGATES_ENABLED`, `PGRST_DB_PLAN_ENABLED`).
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
        let defaults = Self::default();
        let schemas = env.list(&["PGRST_DB_SCHEMAS"]);
        Ok(Self {
            schemas: if schemas.is_empty() {
                defaults.schemas.clone()
            } else {
                schemas
            },
            max_rows: env
                .parsed(&["PGRST_DB_MAX_ROWS"], "a number")?
                .or(defaults.max_rows),
            pre_request: env.get(&["PGRST_DB_PRE_REQUEST"]).map(str::to_string),
            aggregates_enabled: env.flag(&["PGRST_DB_AGGREGATES_ENABLED"])?.unwrap_or(false),
            plan_enabled: env.flag(&["PGRST_DB_PLAN_ENABLED"])?.unwrap_or(false),
            ..defaults
        })
    }
}

struct Inner {
    config: Config,
    db: Db,
    keys: Keys,
    cache: RwLock<Option<Arc<SchemaCache>>>,
}

/// Shared state of the REST service (cheap to clone).
#[derive(Clone)]
pub struct State(Arc<Inner>);

impl State {
    /// Builds the state; the schema cache is empty until [`State::reload_schema`].
    pub fn new(config: Config, db: Db, keys: Keys) -> Self {
        Self(Arc::new(Inner {
            config,
            db,
            keys,
            cache: RwLock::new(None),
        }))
    }

    /// Introspects the exposed schemas again and swaps the cache in.
    pub async fn reload_schema(&self) -> Result<(), bucketbase_sql::DbError> {
        let client = self.0.db.admin.get().await?;
        let zones = self.cache().await.map(|c| c.timezones.clone());
        let mut cache = SchemaCache::load(&client, &self.0.config.schemas, zones).await?;
        // Configuration values stand in for in-database settings that are not set.
        let config = &self.0.config;
        for (name, on) in [
            ("db_aggregates_enabled", config.aggregates_enabled),
            ("db_plan_enabled", config.plan_enabled),
        ] {
            cache
                .settings
                .entry(name.to_string())
                .or_insert_with(|| on.to_string());
        }
        *self.0.cache.write().await = Some(Arc::new(cache));
        tracing::debug!("schema cache loaded");
        Ok(())
    }

    /// The current schema cache (`None` before the first load).
    pub(crate) async fn cache(&self) -> Option<Arc<SchemaCache>> {
        self.0.cache.read().await.clone()
    }
}

/// The `/rest/v1` router, with its prefix (merged into the server's router, so that both
/// `/rest/v1` and `/rest/v1/` reach the OpenAPI root as the client's `getOpenApiSpec()` needs).
pub fn router(state: State) -> Router {
    Router::new()
        .route("/rest/v1", any(api::handler::root))
        .route("/rest/v1/", any(api::handler::root))
        .route("/rest/v1/openapi.json", any(api::handler::openapi_v3))
        .route("/rest/v1/{name}", any(api::handler::relation))
        .route("/rest/v1/rpc/{name}", any(api::handler::rpc))
        .route("/rest/v1/{name}/{*rest}", any(api::handler::invalid_path))
        .with_state(state)
}

/// The service as the server mounts it: the router, and the schema-cache listener as its
/// background task.
pub fn service(state: State) -> bucketbase_kit::Service {
    let listener = state.clone();
    bucketbase_kit::Service::new("rest", None, router(state))
        .with_task(move |stop| run(listener, stop))
}

/// Listens for `NOTIFY pgrst` and reloads the schema cache on `'reload schema'` (or an empty
/// payload), as PostgREST does; reconnects when the connection drops, until `stop` fires.
pub async fn run(state: State, mut stop: Shutdown) {
    use bucketbase_sql::tokio_postgres::{AsyncMessage, NoTls};
    use futures_util::StreamExt;
    loop {
        if stop.is_signalled() {
            return;
        }
        let connected = bucketbase_sql::tokio_postgres::connect(&state.0.db.admin_url, NoTls).await;
        let (client, mut connection) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "schema listener cannot connect; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                    _ = stop.signalled() => return,
                }
            }
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let pump = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(msg)) = messages.next().await {
                if let AsyncMessage::Notification(n) = msg {
                    let _ = tx.send(n.payload().to_string());
                }
            }
        });
        if client.batch_execute("listen pgrst").await.is_err() {
            pump.abort();
            continue;
        }
        // Changes made before LISTEN took effect (including between the server's first load and
        // this first connection) were not notified to us: load once more now.
        let _ = state.reload_schema().await;
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(payload) if payload.is_empty() || payload == "reload schema" => {
                        if let Err(e) = state.reload_schema().await {
                            tracing::warn!(error = %e, "schema reload failed");
                        }
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = stop.signalled() => {
                    pump.abort();
                    return;
                }
            }
        }
        pump.abort();
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn reads_pgrst_variables_with_supabases_defaults() {
        let empty = Config::from_env(&Env::new(Default::default())).expect("config");
        assert_eq!(empty.schemas, vec!["public", "graphql_public"]);
        assert_eq!(empty.max_rows, Some(1000));
        let vars = [
            ("PGRST_DB_SCHEMAS", "api, public"),
            ("PGRST_DB_MAX_ROWS", "50"),
            ("PGRST_DB_PLAN_ENABLED", "true"),
        ];
        let env = Env::from_pairs(&vars);
        let c = Config::from_env(&env).expect("config");
        assert_eq!(c.schemas, vec!["api", "public"]);
        assert_eq!((c.max_rows, c.plan_enabled), (Some(50), true));
        let bad = Env::from_pairs(&[("PGRST_DB_MAX_ROWS", "lots")]);
        assert!(Config::from_env(&bad).is_err());
    }
}
