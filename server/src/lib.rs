//! The `bucketbase` server: configuration from Supabase's self-hosting environment names, the
//! composition of the service routers under one port, and the lifecycle (`start` with the
//! embedded PostgreSQL, `serve` against `DATABASE_URL`, `migrate`, `keys`).

pub mod app;
pub mod config;
pub mod cors;
pub mod lifecycle;

pub use app::Application;
pub use config::Config;
