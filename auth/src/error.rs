//! Errors of the auth crate.

use thiserror::Error;

/// Result alias of the auth crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the auth service.
#[derive(Debug, Error)]
pub enum Error {
    /// The caller's key or token was refused.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// A database failure.
    #[error(transparent)]
    Db(#[from] bucketbase_sql::DbError),
}
