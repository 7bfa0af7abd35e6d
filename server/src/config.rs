//! Configuration from the environment, with the names of Supabase's self-hosting `.env`
//! (`docker/.env.example` upstream) wherever one exists, and `BUCKETBASE_*` otherwise.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context};

/// Everything the server reads from its environment.
#[derive(Clone)]
pub struct Config {
    /// `BUCKETBASE_HOST`: bind address (default 127.0.0.1).
    pub host: String,
    /// `BUCKETBASE_PORT` or `--port`: API port (default 54321; 0 picks one).
    pub port: u16,
    /// `BUCKETBASE_DATA_DIR` or `--data-dir` (default `./.bucketbase`).
    pub data_dir: PathBuf,
    /// `DATABASE_URL`, or composed from `POSTGRES_HOST`/`PORT`/`DB`/`USER`/`PASSWORD`.
    pub database_url: Option<String>,
    /// `PGRST_DB_URI`: connection for request work (default: the database URL as `authenticator`).
    pub request_url: Option<String>,
    /// `JWT_SECRET` (generated and kept in the data dir under `start` when absent).
    pub jwt_secret: Option<String>,
    /// `JWT_EXPIRY`: access-token lifetime in seconds (default 3600).
    pub jwt_expiry: u64,
    /// `JWT_JWKS` or the contents of `JWT_JWKS_FILE`.
    pub jwks: Option<String>,
    /// `JWT_AUD`: comma-separated accepted audiences.
    pub audiences: Vec<String>,
    /// `ANON_KEY`: the anon JWT to advertise (minted from the secret when absent).
    pub anon_key: Option<String>,
    /// `SERVICE_ROLE_KEY`: the service-role JWT to advertise.
    pub service_role_key: Option<String>,
    /// `SUPABASE_PUBLISHABLE_KEY`: opaque keys (comma-separated) mapped to `anon`.
    pub publishable_keys: Vec<String>,
    /// `SUPABASE_SECRET_KEY`: opaque keys (comma-separated) mapped to `service_role`.
    pub secret_keys: Vec<String>,
    /// `BUCKETBASE_ALLOW_ANON_WITHOUT_KEY`: admit requests with no key as `anon`.
    pub anon_without_key: Option<bool>,
    /// `SITE_URL`.
    pub site_url: String,
    /// `API_EXTERNAL_URL`.
    pub api_external_url: Option<String>,
    /// `PGRST_DB_SCHEMAS` (default `public,graphql_public`).
    pub db_schemas: Vec<String>,
    /// `PGRST_DB_MAX_ROWS` (default 1000).
    pub db_max_rows: Option<i64>,
    /// `PGRST_DB_AGGREGATES_ENABLED` (default false).
    pub db_aggregates_enabled: bool,
    /// `PGRST_DB_PLAN_ENABLED` (default false).
    pub db_plan_enabled: bool,
    /// `BUCKETBASE_PLATFORM`: apply the Bucket & MediaID platform schema (default true).
    pub platform: bool,
    /// `BUCKETBASE_DB_POOL` (or PostgREST's `PGRST_DB_POOL`): request pool size (default
    /// [`default_pool_size`]).
    pub pool_size: usize,
    /// `BUCKETBASE_DB_ADMIN_POOL`: admin pool size (default 8), which carries every auth
    /// statement.
    pub admin_pool_size: usize,
    /// `BUCKETBASE_CORS_ALLOWED_ORIGINS` (or `PGRST_SERVER_CORS_ALLOWED_ORIGINS`) and
    /// `BUCKETBASE_CORS_ALLOW_CREDENTIALS`: which browser origins may call the API.
    pub cors: crate::cors::CorsConfig,
    /// Where mail goes when `SMTP_HOST` is not set: `start` sets its data dir's `mail/`
    /// folder (the local mail catcher); `serve` sends no mail then.
    pub mail_catcher_dir: Option<PathBuf>,
    /// Every other variable, for services that read their own (`GOTRUE_*`, `SMTP_*`, …).
    pub env: HashMap<String, String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets and URLs with passwords stay out of logs.
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("db_schemas", &self.db_schemas)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

fn list(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn flag(name: &str, value: Option<&String>) -> anyhow::Result<Option<bool>> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(Some(true)),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(Some(false)),
        Some(v) => bail!("{name}={v:?} is not a boolean: use true or false"),
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Reads the configuration from `vars` (tests pass their own map).
    pub fn from_vars(env: HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty());
        let port = match get("BUCKETBASE_PORT") {
            Some(p) => p
                .parse()
                .with_context(|| format!("BUCKETBASE_PORT={p:?} is not a port number"))?,
            None => 54321,
        };
        let database_url = match get("DATABASE_URL") {
            Some(url) => Some(url.clone()),
            None => get("POSTGRES_HOST").map(|host| {
                format!(
                    "postgresql://{}:{}@{}:{}/{}",
                    get("POSTGRES_USER").map_or("postgres", String::as_str),
                    get("POSTGRES_PASSWORD").map_or("postgres", String::as_str),
                    host,
                    get("POSTGRES_PORT").map_or("5432", String::as_str),
                    get("POSTGRES_DB").map_or("postgres", String::as_str),
                )
            }),
        };
        let jwks = match (get("JWT_JWKS"), get("JWT_JWKS_FILE")) {
            (Some(j), _) => Some(j.clone()),
            (None, Some(path)) => Some(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read JWT_JWKS_FILE {path:?}: fix the path or unset it")
            })?),
            (None, None) => None,
        };
        let jwt_expiry = match get("JWT_EXPIRY") {
            Some(v) => v
                .parse()
                .with_context(|| format!("JWT_EXPIRY={v:?} is not a number of seconds"))?,
            None => 3600,
        };
        let db_max_rows = match get("PGRST_DB_MAX_ROWS") {
            Some(v) => Some(
                v.parse()
                    .with_context(|| format!("PGRST_DB_MAX_ROWS={v:?} is not a number"))?,
            ),
            None => None,
        };
        let pool_size = match get("BUCKETBASE_DB_POOL").or_else(|| get("PGRST_DB_POOL")) {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("BUCKETBASE_DB_POOL={v:?} is not a positive number"))?,
            None => default_pool_size(),
        };
        let admin_pool_size = match get("BUCKETBASE_DB_ADMIN_POOL") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| {
                    format!("BUCKETBASE_DB_ADMIN_POOL={v:?} is not a positive number")
                })?,
            None => 8,
        };
        let mut db_schemas = list(get("PGRST_DB_SCHEMAS"));
        if db_schemas.is_empty() {
            db_schemas = vec!["public".into(), "graphql_public".into()];
        }
        Ok(Self {
            host: get("BUCKETBASE_HOST")
                .cloned()
                .unwrap_or_else(|| "127.0.0.1".into()),
            port,
            data_dir: get("BUCKETBASE_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".bucketbase")),
            database_url,
            request_url: get("PGRST_DB_URI").cloned(),
            jwt_secret: get("JWT_SECRET").cloned(),
            jwt_expiry,
            jwks,
            audiences: list(get("JWT_AUD")),
            anon_key: get("ANON_KEY").cloned(),
            service_role_key: get("SERVICE_ROLE_KEY").cloned(),
            publishable_keys: list(get("SUPABASE_PUBLISHABLE_KEY")),
            secret_keys: list(get("SUPABASE_SECRET_KEY")),
            anon_without_key: flag(
                "BUCKETBASE_ALLOW_ANON_WITHOUT_KEY",
                get("BUCKETBASE_ALLOW_ANON_WITHOUT_KEY"),
            )?,
            site_url: get("SITE_URL")
                .cloned()
                .unwrap_or_else(|| "http://localhost:3000".into()),
            api_external_url: get("API_EXTERNAL_URL").cloned(),
            db_schemas,
            db_max_rows,
            db_aggregates_enabled: flag(
                "PGRST_DB_AGGREGATES_ENABLED",
                get("PGRST_DB_AGGREGATES_ENABLED"),
            )?
            .unwrap_or(false),
            db_plan_enabled: flag("PGRST_DB_PLAN_ENABLED", get("PGRST_DB_PLAN_ENABLED"))?
                .unwrap_or(false),
            platform: flag("BUCKETBASE_PLATFORM", get("BUCKETBASE_PLATFORM"))?.unwrap_or(true),
            pool_size,
            admin_pool_size,
            cors: crate::cors::CorsConfig::new(
                list(
                    get("BUCKETBASE_CORS_ALLOWED_ORIGINS")
                        .or_else(|| get("PGRST_SERVER_CORS_ALLOWED_ORIGINS")),
                ),
                flag(
                    "BUCKETBASE_CORS_ALLOW_CREDENTIALS",
                    get("BUCKETBASE_CORS_ALLOW_CREDENTIALS"),
                )?
                .unwrap_or(false),
            )?,
            mail_catcher_dir: None,
            env,
        })
    }
}

/// The request pool's default size: four connections per core. PostgreSQL on the same cores
/// serves short statements fastest with a few backends per core; on 2 cores a pool of 8 gave
/// 10-20 % more reads/s than 16 and no p99 stalls (bench/rest.sh). A database elsewhere, or
/// slow statements, may want more: set `BUCKETBASE_DB_POOL`.
pub fn default_pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn composes_database_url_from_postgres_vars() {
        let c = Config::from_vars(vars(&[
            ("POSTGRES_HOST", "db"),
            ("POSTGRES_PASSWORD", "pw"),
            ("POSTGRES_PORT", "5433"),
        ]))
        .expect("config");
        assert_eq!(
            c.database_url.as_deref(),
            Some("postgresql://postgres:pw@db:5433/postgres")
        );
    }

    #[test]
    fn refuses_bad_values_with_a_clear_message() {
        let e = Config::from_vars(vars(&[("BUCKETBASE_PORT", "abc")])).err();
        assert!(e.expect("error").to_string().contains("BUCKETBASE_PORT"));
        let e = Config::from_vars(vars(&[("JWT_JWKS_FILE", "/nonexistent/jwks.json")])).err();
        assert!(e.expect("error").to_string().contains("JWT_JWKS_FILE"));
        let e = Config::from_vars(vars(&[("BUCKETBASE_PLATFORM", "maybe")])).err();
        assert!(e
            .expect("error")
            .to_string()
            .contains("BUCKETBASE_PLATFORM"));
        let e = Config::from_vars(vars(&[("BUCKETBASE_DB_ADMIN_POOL", "0")])).err();
        assert!(e
            .expect("error")
            .to_string()
            .contains("BUCKETBASE_DB_ADMIN_POOL"));
    }

    #[test]
    fn defaults_like_supabase() {
        let c = Config::from_vars(HashMap::new()).expect("config");
        assert_eq!(c.port, 54321);
        assert_eq!(c.db_schemas, vec!["public", "graphql_public"]);
        assert!(c.platform);
        assert_eq!(c.admin_pool_size, 8);
    }
}
