//! The database layer every Bucketbase service stands on: the connection pools, the embedded
//! migrations (the Supabase-shaped `auth`, `storage`, `realtime` schemas and the platform
//! schema), the one transaction core with its two faces (the caller's [`RequestTx`], which sets
//! role and JWT claims the way PostgREST does, and the privileged [`ServiceTx`]),
//! and the launcher for the embedded PostgreSQL cluster used by `bucketbase start`.
//!
//! No HTTP types live here.

pub mod embedded;
pub mod error;
pub mod migrate;
pub mod pool;
pub mod quote;
pub mod request_tx;
pub mod service_tx;
mod tx;

pub use error::{DbError, Result};
pub use pool::{Db, Pool};
pub use quote::{quote_ident, quote_literal};
pub use request_tx::{RequestContext, RequestTx};
pub use service_tx::{Params, ServiceTx};

pub use deadpool_postgres;
pub use tokio_postgres;
