//! The one transaction core under both faces of database work: a pooled connection on which a
//! transaction may be open, that ends it with `COMMIT` or `ROLLBACK`, and that, when dropped with
//! the transaction still open (an error path, a cancelled request), rolls back in the background
//! before the connection returns to the pool. [`crate::RequestTx`] (the caller's transaction,
//! with PostgREST's role and claim settings) and [`crate::ServiceTx`] (the privileged service
//! connection: auth's writes, storage bookkeeping, the realtime reader, jobs) stand on it.

use deadpool_postgres::Object;

use crate::{DbError, Result};

/// A pooled connection and whether a transaction is open on it.
pub(crate) struct TxConnection {
    /// The connection; only `Drop` takes it out.
    pub(crate) client: Option<Object>,
    /// A transaction is open on the server.
    pub(crate) open: bool,
}

impl TxConnection {
    /// Wraps `client`; no transaction is open yet.
    pub(crate) fn new(client: Object) -> Self {
        Self {
            client: Some(client),
            open: false,
        }
    }

    /// The connection (only `Drop` takes it out).
    pub(crate) fn client(&self) -> Result<&Object> {
        self.client
            .as_ref()
            .ok_or_else(|| DbError::Config("transaction already closed".into()))
    }

    /// Ends the open transaction with `end` (`commit` or `rollback`); a no-op when none is open.
    pub(crate) async fn end(&mut self, end: &str) -> Result<()> {
        if self.open {
            self.open = false;
            self.client()?.batch_execute(end).await?;
        }
        Ok(())
    }
}

impl Drop for TxConnection {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if let Some(client) = self.client.take() {
            // Roll back before the connection goes back to the pool. Without a runtime (a
            // panic during shutdown), detach the connection instead so it is closed.
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
