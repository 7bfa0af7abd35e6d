//! Supabase Storage (`/storage/v1`), as supabase/storage serves it: buckets (`bucket`) and
//! objects (`object`: upload, download, info, list, move, copy, remove, signed URLs), TUS
//! resumable uploads (`tus`), every statement under the caller's role so the `storage`
//! schema's RLS policies decide, and the bytes in a local directory or an S3 bucket (`store`).
//! The S3 protocol and image transforms are still to come (issue 12) and answer `501` in the
//! service's own error envelope, after reading the request body.

mod bucket;
pub mod config;
mod error;
mod key;
mod object;
mod request;
mod store;
mod sweep;
mod tus;

use axum::routing::{get, post};
use axum::Router;
use bucketbase_caller::{HasKeys, Keys};
use bucketbase_sql::Db;

pub use config::Config;
pub use error::Error;

/// Shared state of the service (cheap to clone).
#[derive(Clone)]
pub struct State {
    /// The service configuration.
    pub config: std::sync::Arc<Config>,
    db: Db,
    keys: Keys,
    store: store::Store,
}

impl State {
    /// The state over the server's pools and keys; opens the object store (creating the file
    /// backend's directory).
    pub fn new(config: Config, db: Db, keys: Keys) -> Result<Self, String> {
        let store = store::Store::open(&config.backend)?;
        Ok(Self {
            config: config.into(),
            db,
            keys,
            store,
        })
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HasKeys for State {
    fn keys(&self) -> &Keys {
        &self.keys
    }
}

/// The router, mounted by the server under `/storage/v1`.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/bucket", get(bucket::list).post(bucket::create))
        .route("/bucket/", get(bucket::list).post(bucket::create))
        .route(
            "/bucket/{id}",
            get(bucket::get).put(bucket::update).delete(bucket::delete),
        )
        .route("/bucket/{id}/empty", post(bucket::empty))
        .merge(object_routes())
        .merge(tus::routes())
        .fallback(not_implemented)
        .with_state(state)
}

/// The object routes (`src/http/routes/object/index.ts` upstream).
fn object_routes() -> Router<State> {
    use object::{download, list, manage, sign, upload};
    Router::new()
        .route(
            "/object/{bucket}/{*path}",
            post(upload::create)
                .put(upload::update)
                .get(download::authenticated)
                .head(download::authenticated)
                .delete(manage::remove_one),
        )
        .route(
            "/object/{bucket}",
            axum::routing::delete(manage::remove_many),
        )
        .route(
            "/object/authenticated/{bucket}/{*path}",
            get(download::authenticated).head(download::authenticated),
        )
        .route(
            "/object/public/{bucket}/{*path}",
            get(download::public).head(download::public),
        )
        .route("/object/info/{bucket}/{*path}", get(download::info))
        .route(
            "/object/info/authenticated/{bucket}/{*path}",
            get(download::info),
        )
        .route(
            "/object/info/public/{bucket}/{*path}",
            get(download::info_public),
        )
        .route(
            "/object/sign/{bucket}/{*path}",
            post(sign::create)
                .get(download::signed)
                .head(download::signed),
        )
        .route("/object/sign/{bucket}", post(sign::create_many))
        .route(
            "/object/upload/sign/{bucket}/{*path}",
            post(sign::create_upload).put(sign::upload_signed),
        )
        .route("/object/list/{bucket}", post(list::list))
        .route("/object/list-v2/{bucket}", post(list::list_v2))
        .route("/object/move", post(manage::move_object))
        .route("/object/copy", post(manage::copy_object))
        .route("/object/{bucket}/", post(missing_name).put(missing_name))
}

/// An upload without an object name.
async fn missing_name(body: axum::body::Body) -> Error {
    bucketbase_kit::drain_body(body).await;
    Error::InvalidKey(String::new())
}

/// The service as the server mounts it.
pub fn service(state: State) -> bucketbase_kit::Service {
    let sweeper = state.clone();
    bucketbase_kit::Service::new("storage", Some("/storage/v1"), router(state))
        .with_task(move |stop| sweep::run(sweeper, stop))
}

async fn not_implemented(body: axum::body::Body) -> Error {
    bucketbase_kit::drain_body(body).await;
    Error::NotImplemented
}
