//! The per-request transaction, as PostgREST runs it (`PostgREST.Query`/`App.hs`): one
//! transaction per request that first sets, with `set_config(…, true)`, the `search_path`, the
//! caller's `role`, `request.jwt.claims` (plus the legacy `request.jwt.claim.*` settings that
//! Supabase's `auth.uid()` also reads), `request.method`, `request.path` and `request.headers`,
//! and then runs the request's statement.
//!
//! The `BEGIN`, the settings, the first statement and (for reads) the `COMMIT` are pipelined on
//! the connection: one round trip when the statement is in the connection's statement cache.
//! On a cache miss the statement is prepared in the same pipeline, after the role switch (so
//! name resolution runs with the caller's privileges), and executed in a second round trip.

use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::tx::TxConnection;
use crate::{Pool, Result};

/// Everything the database learns about the caller before the statement runs.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The PostgreSQL role to switch to (`anon`, `authenticated`, `service_role`, …).
    pub role: String,
    /// The JWT claims as a JSON object, with `role` present.
    pub claims: serde_json::Value,
    /// The HTTP method (`GET`, `POST`, …).
    pub method: String,
    /// The request path as the service saw it (`/todos`).
    pub path: String,
    /// The request headers as a JSON object with lower-cased names, cookies excluded.
    pub headers: String,
    /// The `search_path` for the request (the selected schema and the extra search path).
    pub search_path: String,
    /// One more transaction-local setting a service gives its statements, as `(name, value)`
    /// (storage's `storage.operation`, which upstream's operation-aware policies read).
    pub local_setting: Option<(String, String)>,
}

/// Transaction access mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `BEGIN READ ONLY`: GET/HEAD, and calls to STABLE/IMMUTABLE functions.
    ReadOnly,
    /// `BEGIN READ WRITE`.
    ReadWrite,
}

const SETTINGS_SQL: &str = "select set_config('search_path', $1, true), \
     set_config('role', $2, true), \
     set_config('request.jwt.claims', $3, true), \
     set_config('request.jwt.claim.role', $2, true), \
     set_config('request.jwt.claim.sub', $4, true), \
     set_config('request.jwt.claim.email', $5, true), \
     set_config('request.method', $6, true), \
     set_config('request.path', $7, true), \
     set_config('request.headers', $8, true), \
     set_config(coalesce($9, 'bucketbase.unused'), coalesce($10, ''), true)";

/// One request's transaction on a pooled connection. Dropping it without [`commit`](Self::commit)
/// or [`rollback`](Self::rollback) rolls back in the background before the connection returns
/// to the pool.
pub struct RequestTx {
    conn: TxConnection,
    pending: Option<(RequestContext, Access)>,
}

impl fmt::Debug for RequestTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestTx")
            .field("open", &self.conn.open)
            .finish()
    }
}

impl RequestTx {
    /// Takes a connection from `pool`; nothing is sent until the first statement.
    pub async fn begin(pool: &Pool, ctx: RequestContext, access: Access) -> Result<Self> {
        let client = pool.get().await?;
        Ok(Self {
            conn: TxConnection::new(client),
            pending: Some((ctx, access)),
        })
    }

    /// Runs `sql` inside the transaction; the first call also sends `BEGIN` and the settings in
    /// the same round trip.
    pub async fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.run(sql, params, false).await
    }

    /// Runs `sql` and commits, pipelined: a read-only request costs one round trip.
    pub async fn query_and_commit(
        mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        self.run(sql, params, true).await
    }

    async fn run(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        commit: bool,
    ) -> Result<Vec<Row>> {
        let pending = self.pending.take();
        // Borrow the field, not `self`, so `open` can be updated below.
        let conn = &mut self.conn;
        let client = conn
            .client
            .as_ref()
            .ok_or_else(|| crate::DbError::Config("request transaction already closed".into()))?;
        let stmt = match &pending {
            None => client.prepare_cached(sql).await?,
            Some((ctx, access)) => {
                // BEGIN, the settings and the statement's preparation go out together. The
                // statement is prepared after the role switch so that name resolution sees the
                // caller's privileges, not the login role's.
                let settings = client.prepare_cached(SETTINGS_SQL).await?;
                let begin = match access {
                    Access::ReadOnly => "begin isolation level read committed read only",
                    Access::ReadWrite => "begin isolation level read committed read write",
                };
                let sub = claim_text(&ctx.claims, "sub");
                let email = claim_text(&ctx.claims, "email");
                let claims = ctx.claims.to_string();
                let (extra_name, extra_value) = match &ctx.local_setting {
                    Some((n, v)) => (Some(n.as_str()), Some(v.as_str())),
                    None => (None, None),
                };
                let settings_params: [&(dyn ToSql + Sync); 10] = [
                    &ctx.search_path,
                    &ctx.role,
                    &claims,
                    &sub,
                    &email,
                    &ctx.method,
                    &ctx.path,
                    &ctx.headers,
                    &extra_name,
                    &extra_value,
                ];
                conn.open = true;
                let mut began = pin!(client.batch_execute(begin));
                let mut set = pin!(client.query(&settings, &settings_params));
                let mut prepared = pin!(client.prepare_cached(sql));
                // Polling each once queues BEGIN, the settings and (on a statement-cache miss)
                // the Parse on the connection, in that order.
                let began_now = poll_once(began.as_mut()).await;
                let set_now = poll_once(set.as_mut()).await;
                match poll_once(prepared.as_mut()).await {
                    // Cached: the statement (and COMMIT) join the same round trip.
                    Poll::Ready(Ok(stmt)) => {
                        let main = client.query(&stmt, params);
                        if commit {
                            let (b, s, rows, end) = tokio::join!(
                                finish(began_now, began),
                                finish(set_now, set),
                                main,
                                client.batch_execute("commit")
                            );
                            conn.open = false;
                            b?;
                            s?;
                            let rows = rows?;
                            end?;
                            return Ok(rows);
                        }
                        let (b, s, rows) =
                            tokio::join!(finish(began_now, began), finish(set_now, set), main);
                        b?;
                        s?;
                        return Ok(rows?);
                    }
                    Poll::Ready(Err(e)) => return Err(e.into()),
                    Poll::Pending => {
                        let (b, s, p) =
                            tokio::join!(finish(began_now, began), finish(set_now, set), prepared);
                        b?;
                        s?;
                        p?
                    }
                }
            }
        };
        if commit {
            let (rows, end) =
                tokio::join!(client.query(&stmt, params), client.batch_execute("commit"));
            conn.open = false;
            let rows = rows?;
            end?;
            Ok(rows)
        } else {
            Ok(client.query(&stmt, params).await?)
        }
    }

    /// Commits the transaction (a no-op when nothing was sent).
    pub async fn commit(mut self) -> Result<()> {
        self.conn.end("commit").await
    }

    /// Rolls the transaction back (a no-op when nothing was sent).
    pub async fn rollback(mut self) -> Result<()> {
        self.conn.end("rollback").await
    }
}

/// Polls `fut` once, returning what it answered without waiting.
async fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Completes a future that [`poll_once`] already polled.
async fn finish<F: Future>(first: Poll<F::Output>, fut: Pin<&mut F>) -> F::Output {
    match first {
        Poll::Ready(output) => output,
        Poll::Pending => fut.await,
    }
}

fn claim_text(claims: &serde_json::Value, key: &str) -> String {
    match claims.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub use bytes_text::Untyped as UntypedParam;

mod bytes_text {
    //! A parameter sent in text format with whatever type PostgreSQL inferred for it: PostgREST
    //! sends filter values and arguments as untyped literals, so `id=eq.5` binds `'5'` and
    //! PostgreSQL coerces it to the column's type (or answers `22P02`).

    use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};

    /// A text value bound with the type PostgreSQL inferred for its placeholder.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Untyped(pub String);

    impl ToSql for Untyped {
        fn to_sql(
            &self,
            _ty: &Type,
            out: &mut bytes::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            out.extend_from_slice(self.0.as_bytes());
            Ok(IsNull::No)
        }

        fn accepts(_ty: &Type) -> bool {
            true
        }

        fn encode_format(&self, _ty: &Type) -> Format {
            Format::Text
        }

        to_sql_checked!();
    }
}
