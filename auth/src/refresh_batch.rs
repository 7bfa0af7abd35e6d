//! Group commit for the common token refresh: concurrent `grant_type=refresh_token` requests
//! that take the one-statement path ([`crate::tokens::ROTATE_FAST_SQL`]) are rotated together,
//! several per statement and per commit.
//!
//! GoTrue runs one transaction per refresh. Its per-statement costs (initialising a large plan,
//! the commit and its WAL flush, one round trip) are most of PostgreSQL's work for a refresh, so
//! sharing them is where refresh throughput comes from. Each request's outcome is still its
//! own: the statement takes an array per parameter, rotates every request whose token is active
//! and returns one row per rotated request, keyed by its new token. A request with no row (its
//! token was revoked, unknown or expired, or another request of the batch carried the same
//! token) and every request of a batch whose statement failed are answered by the locking path
//! ([`crate::tokens`]), after the batch has committed or rolled back; that path answers exactly
//! as for a single request, so batching never changes an answer.
//!
//! The dispatcher keeps at most [`max_in_flight`] batches in flight. While they run, new
//! requests queue, and the next batch takes all of them (at most [`MAX_BATCH`]); a lone request
//! on an idle server goes out at once, in a batch of one.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use bucketbase_sql::deadpool_postgres::Object;
use bucketbase_sql::Db;
use bucketbase_sql::{DbError, Pool};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

/// Batches in flight at once: one per CPU, at least two. The statement is CPU-bound in
/// PostgreSQL, so more concurrent batches than cores only shrink the batches (on 2 cores, 3 or
/// 4 in flight gave fewer refreshes per second than 2, and 1 fewer still).
pub fn max_in_flight() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// Most requests in one batch.
pub const MAX_BATCH: usize = 32;

/// One refresh waiting for its batch.
pub struct Request {
    /// The presented refresh token.
    pub token: String,
    /// Its child, to be issued.
    pub new_token: String,
    /// The `User-Agent` to record on the session.
    pub user_agent: Option<String>,
    /// The client address as `inet` text, for the session.
    pub inet: Option<String>,
    /// The client address as logged in the audit rows.
    pub ip: String,
}

/// What a batch did for one request.
pub enum Outcome {
    /// Rotated and committed: the row of [`crate::tokens::ROTATE_FAST_SQL`].
    Rotated(Row),
    /// Not rotated here: the locking path decides.
    Undecided,
}

struct Pending {
    request: Request,
    reply: oneshot::Sender<Outcome>,
}

/// Settings shared by every request of a batch.
#[derive(Clone, Copy)]
pub struct Limits {
    /// `SESSIONS_TIMEBOX`, seconds.
    pub timebox: Option<f64>,
    /// `SESSIONS_INACTIVITY_TIMEOUT`, seconds.
    pub inactivity: Option<f64>,
}

impl Limits {
    /// The session limits of `config`.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            timebox: seconds(config.sessions_timebox),
            inactivity: seconds(config.sessions_inactivity_timeout),
        }
    }
}

/// The planner settings of the batch connections (see [`RefreshBatcher::new`]).
pub const PLANNER_SETTINGS: &[(&str, &str)] = &[
    ("enable_seqscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
];

/// A configured duration in seconds, as the SQL statements take it.
pub(crate) fn seconds(d: Option<std::time::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// Where batches get their connection: the batcher's own, or the admin pool once those are
/// refused (a pooler in front of PostgreSQL may reject startup options).
struct Connections {
    tuned: Option<Pool>,
    admin: Pool,
    tuned_refused: AtomicBool,
}

impl Connections {
    async fn get(&self) -> Result<Object, DbError> {
        if let Some(tuned) = self
            .tuned
            .as_ref()
            .filter(|_| !self.tuned_refused.load(Relaxed))
        {
            match tuned.get().await {
                Ok(client) => return Ok(client),
                Err(refused) => {
                    // Only a refusal the admin pool does not share is the settings' fault.
                    let client = self.admin.get().await?;
                    if !self.tuned_refused.swap(true, Relaxed) {
                        tracing::warn!(error = %refused, "refresh batches: connections with \
                            planner settings refused; batching on the admin pool instead");
                    }
                    return Ok(client);
                }
            }
        }
        self.admin.get().await
    }
}

/// The batching front of the one-statement refresh; its dispatcher task starts on first use.
pub struct RefreshBatcher {
    sender: OnceLock<mpsc::UnboundedSender<Pending>>,
    connections: Arc<Connections>,
    limits: Limits,
    sql: &'static str,
}

impl RefreshBatcher {
    /// A batcher running `sql` (the filled-in [`crate::tokens::ROTATE_FAST_SQL`]) on its own
    /// [`max_in_flight`] connections to `db`'s admin database (the admin pool itself if those
    /// cannot be configured).
    ///
    /// Those connections plan with sequential scans, hash and merge joins disabled. Every access
    /// of the statement is a keyed lookup, and its plan is cached once per connection: a plan
    /// made while the auth tables are small (a new project, or before autovacuum's first
    /// `ANALYZE`) would otherwise scan them in full on every refresh as they grow.
    pub fn new(db: &Db, limits: Limits, sql: &'static str) -> Self {
        Self::with_settings(db, limits, sql, PLANNER_SETTINGS)
    }

    /// [`Self::new`] with other session `settings` for the batch connections. When PostgreSQL
    /// (or a pooler) refuses those connections while the admin pool connects, batches run on
    /// the admin pool from then on, and a warning says so once.
    pub fn with_settings(
        db: &Db,
        limits: Limits,
        sql: &'static str,
        settings: &[(&str, &str)],
    ) -> Self {
        let tuned =
            bucketbase_sql::pool::connect_with_settings(&db.admin_url, max_in_flight(), settings)
                .ok();
        Self {
            sender: OnceLock::new(),
            connections: Arc::new(Connections {
                tuned,
                admin: db.admin.clone(),
                tuned_refused: AtomicBool::new(false),
            }),
            limits,
            sql,
        }
    }

    /// Rotates `request` in the next batch and waits for that batch to commit.
    pub async fn rotate(&self, request: Request) -> Outcome {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(dispatch(
                receiver,
                self.connections.clone(),
                self.limits,
                self.sql,
            ));
            sender
        });
        let (reply, answer) = oneshot::channel();
        if sender.send(Pending { request, reply }).is_err() {
            return Outcome::Undecided;
        }
        answer.await.unwrap_or(Outcome::Undecided)
    }
}

/// Takes queued requests in batches, at most [`max_in_flight`] running at once.
async fn dispatch(
    mut receiver: mpsc::UnboundedReceiver<Pending>,
    connections: Arc<Connections>,
    limits: Limits,
    sql: &'static str,
) {
    let slots = Arc::new(Semaphore::new(max_in_flight()));
    while let Some(first) = receiver.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let connections = connections.clone();
        tokio::spawn(async move {
            run_batch(&connections, limits, sql, batch).await;
            drop(slot);
        });
    }
}

/// Runs one batch and answers each of its requests.
async fn run_batch(
    connections: &Connections,
    limits: Limits,
    sql: &'static str,
    batch: Vec<Pending>,
) {
    let mut rows = match execute(connections, limits, sql, &batch).await {
        Ok(rows) => rows,
        Err(e) => {
            // A session deleted (logout, reuse detection) while its child was inserted, a
            // deadlock with such a delete, or anything else: the statement left nothing behind,
            // and the locking path answers each request (and reports a persistent error).
            if !e.code().is_some_and(|c| {
                *c == SqlState::FOREIGN_KEY_VIOLATION || *c == SqlState::T_R_DEADLOCK_DETECTED
            }) {
                tracing::debug!(error = %e, "refresh batch failed; falling back per request");
            }
            Vec::new()
        }
    };
    for pending in batch {
        let position = rows.iter().position(|row| {
            row.try_get::<_, &str>(0)
                .is_ok_and(|t| t == pending.request.new_token)
        });
        let outcome = match position {
            Some(i) => Outcome::Rotated(rows.swap_remove(i)),
            None => Outcome::Undecided,
        };
        // The requester may have gone away (client disconnected); its rotation stands, as a
        // single refresh's would.
        let _ = pending.reply.send(outcome);
    }
}

async fn execute(
    connections: &Connections,
    limits: Limits,
    sql: &'static str,
    batch: &[Pending],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let client = match connections.get().await {
        Ok(client) => client,
        // No connection: the locking path reports the pool's error to each request.
        Err(e) => {
            tracing::debug!(error = %e, "refresh batch: no connection");
            return Ok(Vec::new());
        }
    };
    let tokens: Vec<&str> = batch.iter().map(|p| p.request.token.as_str()).collect();
    let new_tokens: Vec<&str> = batch.iter().map(|p| p.request.new_token.as_str()).collect();
    let agents: Vec<Option<&str>> = batch
        .iter()
        .map(|p| p.request.user_agent.as_deref())
        .collect();
    let inets: Vec<Option<&str>> = batch.iter().map(|p| p.request.inet.as_deref()).collect();
    let ips: Vec<&str> = batch.iter().map(|p| p.request.ip.as_str()).collect();
    let statement = client.prepare_cached(sql).await?;
    client
        .query(
            &statement,
            &[
                &tokens,
                &limits.timebox,
                &limits.inactivity,
                &new_tokens,
                &agents,
                &inets,
                &ips,
            ],
        )
        .await
}
