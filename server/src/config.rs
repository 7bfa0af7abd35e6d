//! Configuration from the environment, with the names of Supabase's self-hosting `.env`
//! (`docker/.env.example` upstream) wherever one exists, and `BUCKETBASE_*` otherwise.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use bucketbase_kit::Env;

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
    /// The environment, for services that read their own (`GOTRUE_*`, `SMTP_*`, …).
    pub env: Env,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets and URLs with passwords stay out of logs.
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Reads the configuration from `vars` (tests pass their own map).
    pub fn from_vars(vars: HashMap<String, String>) -> anyhow::Result<Self> {
        Self::read(&Env::new(vars))
    }

    /// Reads the configuration through `env`, the one reader every service's
    /// `Config::from_env` uses.
    pub fn read(env: &Env) -> anyhow::Result<Self> {
        let port = env
            .parsed(&["BUCKETBASE_PORT"], "a port number")?
            .unwrap_or(54321);
        let database_url = match env.get(&["DATABASE_URL"]) {
            Some(url) => Some(url.to_string()),
            None => {
                let user = env.get(&["POSTGRES_USER"]).unwrap_or("postgres");
                let password = env.get(&["POSTGRES_PASSWORD"]).unwrap_or("postgres");
                let port = env.get(&["POSTGRES_PORT"]).unwrap_or("5432");
                let db = env.get(&["POSTGRES_DB"]).unwrap_or("postgres");
                env.get(&["POSTGRES_HOST"])
                    .map(|host| format!("postgresql://{user}:{password}@{host}:{port}/{db}"))
            }
        };
        let jwks = match (env.get(&["JWT_JWKS"]), env.get(&["JWT_JWKS_FILE"])) {
            (Some(j), _) => Some(j.to_string()),
            (None, Some(path)) => Some(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read JWT_JWKS_FILE {path:?}: fix the path or unset it")
            })?),
            (None, None) => None,
        };
        Ok(Self {
            host: env
                .get(&["BUCKETBASE_HOST"])
                .unwrap_or("127.0.0.1")
                .to_string(),
            port,
            data_dir: PathBuf::from(env.get(&["BUCKETBASE_DATA_DIR"]).unwrap_or(".bucketbase")),
            database_url,
            request_url: env.get(&["PGRST_DB_URI"]).map(str::to_string),
            jwt_secret: env.get(&["JWT_SECRET"]).map(str::to_string),
            jwt_expiry: env
                .parsed(&["JWT_EXPIRY"], "a number of seconds")?
                .unwrap_or(3600),
            jwks,
            audiences: env.list(&["JWT_AUD"]),
            anon_key: env.get(&["ANON_KEY"]).map(str::to_string),
            service_role_key: env.get(&["SERVICE_ROLE_KEY"]).map(str::to_string),
            publishable_keys: env.list(&["SUPABASE_PUBLISHABLE_KEY"]),
            secret_keys: env.list(&["SUPABASE_SECRET_KEY"]),
            anon_without_key: env.flag(&["BUCKETBASE_ALLOW_ANON_WITHOUT_KEY"])?,
            site_url: env
                .get(&["SITE_URL"])
                .unwrap_or("http://localhost:3000")
                .to_string(),
            api_external_url: env.get(&["API_EXTERNAL_URL"]).map(str::to_string),
            platform: env.flag(&["BUCKETBASE_PLATFORM"])?.unwrap_or(true),
            pool_size: env.positive(
                &["BUCKETBASE_DB_POOL", "PGRST_DB_POOL"],
                default_pool_size(),
            )?,
            admin_pool_size: env.positive(&["BUCKETBASE_DB_ADMIN_POOL"], 8)?,
            cors: crate::cors::CorsConfig::new(
                env.list(&[
                    "BUCKETBASE_CORS_ALLOWED_ORIGINS",
                    "PGRST_SERVER_CORS_ALLOWED_ORIGINS",
                ]),
                env.flag(&["BUCKETBASE_CORS_ALLOW_CREDENTIALS"])?
                    .unwrap_or(false),
            )?,
            mail_catcher_dir: None,
            env: env.clone(),
        })
    }
}

/// Every service's configuration, each read by its own `Config::from_env` through the same
/// [`Env`] as the server's.
pub struct ServiceConfigs {
    /// `/rest/v1`.
    pub rest: bucketbase_rest::Config,
    /// `/auth/v1`.
    pub auth: bucketbase_auth::Config,
    /// `/realtime/v1`.
    pub realtime: bucketbase_realtime::Config,
    /// `/storage/v1`.
    pub storage: bucketbase_storage::Config,
    /// `/functions/v1`.
    pub functions: bucketbase_functions::Config,
}

impl ServiceConfigs {
    /// Reads each service's variables from `config.env`.
    pub fn read(config: &Config) -> anyhow::Result<Self> {
        let env = &config.env;
        Ok(Self {
            rest: bucketbase_rest::Config::from_env(env)?,
            auth: bucketbase_auth::Config::from_env(
                env,
                &config.site_url,
                config.api_external_url.as_deref(),
                config.jwt_expiry,
            )?,
            realtime: bucketbase_realtime::Config::from_env(env)?,
            storage: bucketbase_storage::Config::from_env(env, &config.data_dir)?,
            functions: bucketbase_functions::Config::from_env(env)?,
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
        assert!(c.platform);
        assert_eq!(c.admin_pool_size, 8);
    }

    /// `docker/server-env.txt` lists exactly the variables the readers ask for (plus those a
    /// library reads, marked `# implicit`). Regenerate the list's names with
    /// `BUCKETBASE_PRINT_ENV=1 cargo test -p bucketbase-server env_list -- --nocapture`.
    #[test]
    fn env_list_matches_what_the_readers_ask_for() {
        let env = Env::new(HashMap::new());
        let config = Config::read(&env).expect("server config");
        ServiceConfigs::read(&config).expect("service configs");
        let asked: std::collections::BTreeSet<String> = env.names_asked().into_iter().collect();
        if std::env::var_os("BUCKETBASE_PRINT_ENV").is_some() {
            for name in &asked {
                println!("{name}");
            }
        }
        let text = include_str!("../../docker/server-env.txt");
        let mut listed = std::collections::BTreeSet::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, mark) = line.split_once('#').unwrap_or((line, ""));
            if mark.trim() != "implicit" {
                listed.insert(name.trim().to_string());
            }
        }
        let unlisted: Vec<_> = asked.difference(&listed).collect();
        let unread: Vec<_> = listed.difference(&asked).collect();
        assert!(
            unlisted.is_empty() && unread.is_empty(),
            "read but not in docker/server-env.txt: {unlisted:?}; listed but never read: {unread:?}"
        );
    }
}
