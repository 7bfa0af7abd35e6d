//! The service kit: what every Bucketbase service (REST, auth, storage, realtime, functions) is
//! built from, so that each renders errors, reads its configuration, stops and is mounted the
//! same way.
//!
//! - [`ServiceError`]: an error that knows its status, its wire code from the service's own code
//!   table and its body in the upstream's envelope; an internal cause travels with the response
//!   and is logged once, by [`log_internal_causes`], never where the error is built.
//! - [`Env`]: the one environment reader, with Supabase's names and aliases, typed values and
//!   [`EnvError`]s, which also records every name it was asked for (so the documented list of
//!   variables is checked against what the code reads).
//! - [`Shutdown`]: the one stop signal that listeners, websockets, the replication reader and
//!   job workers observe.
//! - [`Service`]: a router and its background tasks, as the server mounts it.

mod env;
mod error;
mod service;
mod shutdown;

pub use env::{parse_duration, Env, EnvError};
pub use error::{drain_body, log_internal_causes, respond, InternalCause, ServiceError};
pub use service::{BackgroundTask, Service};
pub use shutdown::{Shutdown, ShutdownTrigger};
