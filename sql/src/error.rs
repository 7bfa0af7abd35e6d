//! The one error type of the database layer.

use thiserror::Error;

/// Result alias for the database layer.
pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// Everything that can go wrong talking to PostgreSQL.
#[derive(Debug, Error)]
pub enum DbError {
    /// An error PostgreSQL (or the wire protocol) reported.
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection could be taken from the pool.
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The database cannot be reached: the last connection attempt failed, and the next is
    /// not due before `retry_after` (see [`crate::pool::ConnectGate`]).
    #[error("database unavailable: {cause}")]
    Unavailable {
        /// When the next connection attempt is due.
        retry_after: std::time::Duration,
        /// The last connection failure, as the database client reported it.
        cause: String,
    },
    /// The connection string or pool settings are invalid.
    #[error("database configuration: {0}")]
    Config(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    /// A statement expected to return a row returned none.
    #[error("no row returned by: {0}")]
    NoRow(String),
    /// The embedded PostgreSQL cluster could not be prepared or started.
    #[error("{0}")]
    Embedded(String),
}

impl DbError {
    /// The PostgreSQL error behind this error, when there is one (SQLSTATE, message, detail, hint).
    pub fn as_db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        match self {
            DbError::Postgres(e) => e.as_db_error(),
            _ => None,
        }
    }
}
