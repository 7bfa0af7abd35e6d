//! The auth service's privileged database access (GoTrue's `storage.Connection` with
//! `db.Transaction`): every statement runs on the admin pool, and every endpoint's writes run in
//! one transaction. `BEGIN` is pipelined with the first statement and `COMMIT` with the last, so
//! a token refresh costs two round trips.

use bucketbase_sql::deadpool_postgres::Object;
use bucketbase_sql::Pool;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::error::{Error, Result};

/// A connection from the admin pool, optionally inside a transaction. Dropping an open
/// transaction rolls it back before the connection returns to the pool.
pub struct Tx {
    client: Option<Object>,
    /// `BEGIN` still to be sent with the next statement.
    pending_begin: bool,
    /// A transaction is open on the server.
    open: bool,
}

/// Statement parameters.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Tx {
    /// A transaction on a pooled admin connection; nothing is sent before the first statement.
    pub async fn begin(pool: &Pool) -> Result<Self> {
        Ok(Self {
            client: Some(pool.get().await?),
            pending_begin: true,
            open: false,
        })
    }

    /// A pooled admin connection without a transaction (reads).
    pub async fn read(pool: &Pool) -> Result<Self> {
        Ok(Self {
            client: Some(pool.get().await?),
            pending_begin: false,
            open: false,
        })
    }

    fn client(&self) -> Result<&Object> {
        self.client
            .as_ref()
            .ok_or_else(|| Error::internal("auth transaction already closed"))
    }

    /// Runs `sql`; the first statement of a transaction carries the `BEGIN`.
    pub async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let begin = std::mem::take(&mut self.pending_begin);
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| Error::internal("auth transaction already closed"))?;
        let stmt = if begin {
            self.open = true;
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
            .ok_or_else(|| Error::internal(format!("no row returned by: {sql}")))
    }

    /// Runs `sql` and commits in the same round trip.
    pub async fn query_and_commit(mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        if self.pending_begin {
            // Nothing sent yet: a single-statement transaction is just the statement.
            self.pending_begin = false;
            let client = self.client()?;
            let stmt = client.prepare_cached(sql).await?;
            return Ok(client.query(&stmt, params).await?);
        }
        let client = self.client()?;
        let stmt = client.prepare_cached(sql).await?;
        let (rows, commit) =
            tokio::join!(client.query(&stmt, params), client.batch_execute("commit"));
        // COMMIT after a failed statement rolls back; either way the transaction is over.
        self.open = false;
        let rows = rows?;
        commit?;
        Ok(rows)
    }

    /// The connection, for statements pipelined by hand; a transaction must already be open
    /// (after a first [`query`](Self::query)).
    pub fn raw(&self) -> Result<&Object> {
        self.client()
    }

    /// Records that the caller ended the transaction itself (a `COMMIT` sent through
    /// [`raw`](Self::raw)).
    pub fn mark_closed(&mut self) {
        self.pending_begin = false;
        self.open = false;
    }

    /// Commits (a no-op when nothing was sent).
    pub async fn commit(mut self) -> Result<()> {
        self.pending_begin = false;
        if self.open {
            self.open = false;
            self.client()?.batch_execute("commit").await?;
        }
        Ok(())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if let Some(client) = self.client.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(async move {
                        if client.batch_execute("rollback").await.is_err() {
                            let _ = Object::take(client);
                        }
                    });
                }
                Err(_) => {
                    let _ = Object::take(client);
                }
            }
        }
    }
}
