//! Connection pools. The server keeps two: `admin` (the configured database user, used for
//! migrations, schema introspection and the services' privileged bookkeeping) and `request`
//! (the `authenticator` login role, which only ever acts through `SET LOCAL ROLE`).
//!
//! Each pool sits behind a [`ConnectGate`]: after a failed connection attempt the database
//! counts as down, and for a backoff that doubles from 100 ms to 2 s (with jitter) callers that
//! would need a new connection are answered at once with [`DbError::Unavailable`] instead of
//! each dialling the database, as PostgREST retries its pool with exponential backoff. When the
//! backoff has run out, one caller at a time tries again; the first success opens the gate.

use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::{DbError, Result};

/// The first wait after a failed connection attempt.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest wait between two attempts while the database stays down.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Whether new connections may be attempted, and when the next attempt is due.
#[derive(Debug, Default)]
pub struct ConnectGate {
    state: Mutex<GateState>,
    /// One caller at a time probes a database that is down.
    probing: AtomicBool,
}

#[derive(Debug, Default)]
struct GateState {
    /// Failed attempts in a row; 0 while the database is up.
    failures: u32,
    /// No attempt before this instant.
    retry_at: Option<Instant>,
    /// The last failure, as the client is told it.
    cause: String,
}

/// What [`ConnectGate::admit`] decided.
enum Admission<'a> {
    /// The database is up: go ahead.
    Open,
    /// The database is down and this caller is the one to try again, until the guard drops
    /// (when the call ends, also when its caller abandons it: a timeout, a client gone).
    Probe { _guard: ProbeGuard<'a> },
}

impl ConnectGate {
    fn admit(&self) -> Result<Admission<'_>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.failures == 0 {
            return Ok(Admission::Open);
        }
        let now = Instant::now();
        let due = state.retry_at.is_none_or(|at| now >= at);
        if due && !self.probing.swap(true, Ordering::AcqRel) {
            return Ok(Admission::Probe {
                _guard: ProbeGuard(self),
            });
        }
        Err(DbError::Unavailable {
            retry_after: state
                .retry_at
                .map_or(BACKOFF_MIN, |at| at.saturating_duration_since(now)),
            cause: state.cause.clone(),
        })
    }

    fn succeeded(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.failures > 0 {
            tracing::info!(after_failures = state.failures, "database reachable again");
        }
        *state = GateState::default();
    }

    fn failed(&self, cause: String) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.failures == 0 {
            tracing::warn!(error = %cause, "database unreachable; retrying with backoff");
        }
        state.failures = state.failures.saturating_add(1);
        let doubling = BACKOFF_MIN.saturating_mul(1u32 << state.failures.min(16).saturating_sub(1));
        let ceiling = doubling.min(BACKOFF_MAX);
        // Jitter: between half the ceiling and all of it, so many servers do not dial together.
        let fraction = 0.5 + 0.5 * (random_u64() as f64 / u64::MAX as f64);
        let wait = ceiling.mul_f64(fraction);
        state.retry_at = Some(Instant::now() + wait);
        state.cause = cause;
        wait
    }

    /// True while the last connection attempt failed.
    pub fn is_down(&self) -> bool {
        self.state.lock().map_or(true, |s| s.failures > 0)
    }
}

/// Clears [`ConnectGate::probing`] when dropped.
struct ProbeGuard<'a>(&'a ConnectGate);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        self.0.probing.store(false, Ordering::Release);
    }
}

/// A random number from the standard library's hasher keys (no extra dependency for jitter).
fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// A deadpool of tokio-postgres connections behind a [`ConnectGate`] (cheap to clone).
#[derive(Clone)]
pub struct Pool {
    inner: deadpool_postgres::Pool,
    gate: Arc<ConnectGate>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.inner.status())
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A connection: an idle one when there is one, else a new one unless the database is
    /// known to be down (then [`DbError::Unavailable`] at once).
    pub async fn get(&self) -> Result<Object> {
        let admission = if self.inner.status().available > 0 {
            // An idle connection needs no dialling; if it turns out broken, the pool replaces
            // it through the gate below on the next call.
            None
        } else {
            Some(self.gate.admit()?)
        };
        let probing = matches!(admission, Some(Admission::Probe { .. }));
        let outcome = self.inner.get().await;
        match outcome {
            Ok(object) => {
                if probing {
                    self.gate.succeeded();
                }
                Ok(object)
            }
            Err(deadpool_postgres::PoolError::Backend(e)) => {
                let cause = match e.as_db_error() {
                    // tokio-postgres shows these as a bare "db error": say what the server said.
                    Some(db) => format!("{}: {}", db.code().code(), db.message()),
                    None => e.to_string(),
                };
                let retry_after = self.gate.failed(cause.clone());
                Err(DbError::Unavailable { retry_after, cause })
            }
            Err(deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Create)) => {
                let cause = "timed out connecting to the database".to_string();
                let retry_after = self.gate.failed(cause.clone());
                Err(DbError::Unavailable { retry_after, cause })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The connect gate: whether the database counts as down.
    pub fn gate(&self) -> &ConnectGate {
        &self.gate
    }

    /// The pool's size and idle connections.
    pub fn status(&self) -> deadpool_postgres::Status {
        self.inner.status()
    }
}

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
    let inner = deadpool_postgres::Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Config(e.to_string()))?;
    Ok(Pool {
        inner,
        gate: Arc::new(ConnectGate::default()),
    })
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
    fn a_probe_dropped_mid_way_lets_the_next_caller_probe() {
        let gate = ConnectGate::default();
        gate.failed("refused".into());
        gate.state.lock().expect("gate").retry_at = Some(Instant::now());
        let probe = gate.admit();
        assert!(matches!(probe, Ok(Admission::Probe { .. })));
        // While the probe runs, others are answered at once.
        assert!(gate.admit().is_err());
        // The probing caller is dropped (a timeout around it fired): the gate is free again.
        drop(probe);
        assert!(matches!(gate.admit(), Ok(Admission::Probe { .. })));
    }

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
