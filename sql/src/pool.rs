//! Connection pools. The server keeps two: `admin` (the configured database user, used for
//! migrations, schema introspection and the services' privileged bookkeeping) and `request`
//! (the `authenticator` login role, which only ever acts through `SET LOCAL ROLE`).

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::{DbError, Result};

/// A deadpool of tokio-postgres connections.
pub type Pool = deadpool_postgres::Pool;

/// The server's database handles: one pool for request work, one for privileged work.
#[derive(Clone)]
pub struct Db {
    /// Connections as `authenticator` (or the configured request URL): RLS applies.
    pub request: Pool,
    /// Connections as the configured (superuser or owner) database user.
    pub admin: Pool,
    /// The admin connection string, for the schema-cache listener.
    pub admin_url: String,
}

/// Builds a pool for `url` with at most `max_size` connections.
pub fn connect(url: &str, max_size: usize) -> Result<Pool> {
    connect_with_settings(url, max_size, &[])
}

/// Builds a pool for `url` with at most `max_size` connections, each started with the run-time
/// `settings` (name, value) as its session defaults (libpq's `options=-c name=value`). Values
/// are plain words: letters, digits, `_`, `.`, `-`.
pub fn connect_with_settings(
    url: &str,
    max_size: usize,
    settings: &[(&str, &str)],
) -> Result<Pool> {
    let mut pg = tokio_postgres::Config::from_str(url)
        .map_err(|e| DbError::Config(format!("invalid database URL: {e}")))?;
    if !settings.is_empty() {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        };
        if let Some((name, value)) = settings.iter().find(|(n, v)| !plain(n) || !plain(v)) {
            return Err(DbError::Config(format!(
                "setting {name}={value} is not a plain word"
            )));
        }
        let mut options = pg.get_options().unwrap_or("").to_string();
        for (name, value) in settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        pg.options(options.trim_start());
    }
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Config(e.to_string()))
}

/// Returns `url` with its user name replaced by `user` (password, host, port and database kept).
pub fn with_user(url: &str, user: &str) -> Result<String> {
    let pg = tokio_postgres::Config::from_str(url)
        .map_err(|e| DbError::Config(format!("invalid database URL: {e}")))?;
    let password = pg
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let host = match pg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let dbname = pg.get_dbname().unwrap_or("postgres");
    Ok(format!(
        "postgresql://{}:{}@{}:{}/{}",
        encode(user),
        encode(&password),
        host,
        port,
        encode(dbname)
    ))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Waits until a plain `SELECT 1` succeeds on `pool`, for at most `timeout`.
pub async fn wait_ready(pool: &Pool, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let attempt = async {
            let client = pool.get().await?;
            client.simple_query("select 1").await?;
            Ok::<_, DbError>(())
        }
        .await;
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_user() {
        let url = with_user(
            "postgresql://postgres:p%40ss@localhost:5433/app",
            "authenticator",
        )
        .expect("valid url");
        assert_eq!(url, "postgresql://authenticator:p%40ss@localhost:5433/app");
    }

    #[test]
    fn session_settings_must_be_plain_words() {
        let url = "postgresql://postgres@localhost:5432/app";
        assert!(connect_with_settings(url, 1, &[("enable_seqscan", "off")]).is_ok());
        for bad in [
            ("enable_seqscan", "off -c role=x"),
            ("search_path", "a,b"),
            ("", "on"),
        ] {
            assert!(connect_with_settings(url, 1, &[bad]).is_err(), "{bad:?}");
        }
    }
}
