//! The privileged service connection (GoTrue's `storage.Connection` with `db.Transaction`): work
//! a service does as itself on the admin pool rather than as the caller, such as auth's writes
//! and, later, storage bookkeeping, the realtime reader and job workers. A [`ServiceTx`] is one
//! transaction whose `BEGIN` is pipelined with its first statement and whose `COMMIT` can be
//! pipelined with its last, so a two-statement endpoint costs two round trips; or, from
//! [`ServiceTx::read`], plain statements outside a transaction.

use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::tx::TxConnection;
use crate::{DbError, Pool, Result};

/// Statement parameters.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A privileged connection from the admin pool, optionally inside a transaction. Dropping it
/// with the transaction open rolls back before the connection returns to the pool.
pub struct ServiceTx {
    conn: TxConnection,
    /// `BEGIN` still to be sent with the next statement.
    pending_begin: bool,
}

impl std::fmt::Debug for ServiceTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTx")
            .field("open", &self.conn.open)
            .finish()
    }
}

impl ServiceTx {
    /// A transaction on a pooled connection; nothing is sent before the first statement.
    pub async fn begin(pool: &Pool) -> Result<Self> {
        Ok(Self {
            conn: TxConnection::new(pool.get().await?),
            pending_begin: true,
        })
    }

    /// A pooled connection without a transaction (reads).
    pub async fn read(pool: &Pool) -> Result<Self> {
        Ok(Self {
            conn: TxConnection::new(pool.get().await?),
            pending_begin: false,
        })
    }

    /// Runs `sql`; the first statement of a transaction carries the `BEGIN`.
    pub async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let begin = std::mem::take(&mut self.pending_begin);
        let conn = &mut self.conn;
        let client = conn
            .client
            .as_ref()
            .ok_or_else(|| DbError::Config("service transaction already closed".into()))?;
        let stmt = if begin {
            conn.open = true;
            let (b, s) = tokio::join!(client.batch_execute("begin"), client.prepare_cached(sql));
            b?;
            s?
        } else {
            client.prepare_cached(sql).await?
        };
        Ok(client.query(&stmt, params).await?)
    }

    /// Runs `sql` and returns at most one row.
    pub async fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Runs `sql` and returns exactly one row.
    pub async fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| DbError::NoRow(sql.to_string()))
    }

    /// Runs `sql` and commits in the same round trip.
    pub async fn query_and_commit(mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        if self.pending_begin {
            // Nothing sent yet: a single-statement transaction is just the statement.
            self.pending_begin = false;
            let client = self.conn.client()?;
            let stmt = client.prepare_cached(sql).await?;
            return Ok(client.query(&stmt, params).await?);
        }
        let client = self.conn.client()?;
        let stmt = client.prepare_cached(sql).await?;
        let (rows, commit) =
            tokio::join!(client.query(&stmt, params), client.batch_execute("commit"));
        // COMMIT after a failed statement rolls back; either way the transaction is over.
        self.conn.open = false;
        let rows = rows?;
        commit?;
        Ok(rows)
    }

    /// The connection, for statements pipelined by hand; a transaction must already be open
    /// (after a first [`query`](Self::query)).
    pub fn raw(&self) -> Result<&Object> {
        self.conn.client()
    }

    /// Records that the caller ended the transaction itself (a `COMMIT` sent through
    /// [`raw`](Self::raw)).
    pub fn mark_closed(&mut self) {
        self.pending_begin = false;
        self.conn.open = false;
    }

    /// Commits (a no-op when nothing was sent).
    pub async fn commit(mut self) -> Result<()> {
        self.pending_begin = false;
        self.conn.end("commit").await
    }

    /// Rolls back (a no-op when nothing was sent).
    pub async fn rollback(mut self) -> Result<()> {
        self.pending_begin = false;
        self.conn.end("rollback").await
    }
}
