//! The composition of the services under one port (what Supabase's Kong gateway routes to a
//! dozen containers): a list of [`Service`]s (`/rest/v1`, `/auth/v1`, `/realtime/v1`,
//! `/storage/v1`, `/functions/v1`) mounted the same way, `/health`, and the layers they share:
//! CORS and the one logger of internal errors.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use bucketbase_caller::{KeyConfig, Keys};
use bucketbase_kit::{BackgroundTask, Shutdown};
use bucketbase_sql::pool::{connect, with_user};
use bucketbase_sql::Db;
use tokio::net::TcpListener;

use crate::Config;

/// What the running server was built with, for callers that print or test it.
#[derive(Clone)]
pub struct Handles {
    /// Database pools.
    pub db: Db,
    /// JWT keys.
    pub keys: Keys,
    /// The anon API key (from `ANON_KEY` or minted).
    pub anon_key: String,
    /// The service-role API key (from `SERVICE_ROLE_KEY` or minted).
    pub service_role_key: String,
    /// The REST service, for callers that reload its schema cache and wait for it (tests).
    pub rest: bucketbase_rest::State,
}

/// A bound, configured server ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// The services' background tasks, started by [`Application::run_until`].
    tasks: Vec<BackgroundTask>,
    /// Handles to the server's parts.
    pub handles: Handles,
}

/// Fixed `iat`/`exp` for the minted API keys, so the same secret always yields the same keys
/// (the Supabase CLI's demo keys are built the same way).
pub const KEY_IAT: i64 = 1_700_000_000;

/// Binds the API listener, with a readable error when the port is taken.
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((host, port)).await.with_context(|| {
        format!("cannot listen on {host}:{port} (is it already in use?): choose another --port / BUCKETBASE_PORT")
    })
}

/// Gives `authenticator` the admin URL's password (see
/// [`bucketbase_sql::migrate::set_authenticator_password`]); a failure is only logged, since
/// the request pool's first connection says plainly whether logging in works.
pub async fn prepare_authenticator(database_url: &str) {
    if let Err(e) = bucketbase_sql::migrate::set_authenticator_password(database_url).await {
        tracing::warn!(error = %e, "cannot set the password of the authenticator role");
    }
}

#[derive(Clone)]
struct HealthState {
    db: Db,
}

/// `"ok"` when `pool` hands out a connection that answers `select 1` within 2 s.
async fn pool_health(pool: &bucketbase_sql::Pool) -> &'static str {
    let ok = async {
        let client = pool.get().await.ok()?;
        client.simple_query("select 1").await.ok()
    };
    match tokio::time::timeout(Duration::from_secs(2), ok).await {
        Ok(Some(_)) => "ok",
        _ => "unreachable",
    }
}

/// An OPTIONS request to storage's TUS endpoint that is not a CORS preflight (which carries
/// `Access-Control-Request-Method`).
fn is_tus_options(req: &axum::extract::Request) -> bool {
    req.method() == axum::http::Method::OPTIONS
        && !req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        && req.uri().path().starts_with("/storage/v1/upload/resumable")
}

/// `/health`: 200 when every pool the services depend on answers, 503 naming the one that
/// does not otherwise.
async fn health(State(state): State<HealthState>) -> impl IntoResponse {
    let (admin, request) =
        tokio::join!(pool_health(&state.db.admin), pool_health(&state.db.request));
    let ok = admin == "ok" && request == "ok";
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": if ok { "ok" } else { "unreachable" },
        "pools": {"admin": admin, "request": request},
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

impl Application {
    /// Connects, migrates, loads the schema cache and composes the routers. `listener` is bound
    /// already; `database_url` is the admin connection; `jwt_secret` signs and verifies tokens;
    /// `anon_without_key` is the default for requests without any key.
    pub async fn build(
        config: &Config,
        listener: TcpListener,
        database_url: &str,
        jwt_secret: &str,
        anon_without_key: bool,
    ) -> anyhow::Result<Self> {
        let keys = Keys::new(KeyConfig {
            jwt_secret: jwt_secret.to_string(),
            jwks: config.jwks.clone(),
            audiences: config.audiences.clone(),
            publishable_keys: config.publishable_keys.clone(),
            secret_keys: config.secret_keys.clone(),
            anon_without_key: config.anon_without_key.unwrap_or(anon_without_key),
        })?;
        let started = std::time::Instant::now();
        bucketbase_sql::migrate::run(
            database_url,
            &bucketbase_sql::migrate::server_sets(config.platform),
        )
        .await
        .context("cannot migrate the database (check DATABASE_URL and that the server is up)")?;
        let request_url = match &config.request_url {
            Some(url) => url.clone(),
            None => {
                prepare_authenticator(database_url).await;
                with_user(database_url, "authenticator")?
            }
        };
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "migrated"
        );
        let db = Db {
            request: connect(&request_url, config.pool_size)?,
            admin: connect(database_url, config.admin_pool_size)?,
            admin_url: database_url.to_string(),
        };
        // A request pool that cannot log in would answer every REST call with a timeout:
        // refuse to start instead, with the reason.
        drop(db.request.get().await.map_err(|e| {
            anyhow::anyhow!(
                "the request pool cannot connect to the database ({}): {e}; set PGRST_DB_URI to \
                 a login role that can, or let `bucketbase migrate` give `authenticator` the \
                 password of DATABASE_URL",
                if config.request_url.is_some() {
                    "PGRST_DB_URI"
                } else {
                    "DATABASE_URL as authenticator"
                }
            )
        })?);
        let anon_key = config
            .anon_key
            .clone()
            .unwrap_or_else(|| keys.api_key("anon", KEY_IAT));
        let service_role_key = config
            .service_role_key
            .clone()
            .unwrap_or_else(|| keys.api_key("service_role", KEY_IAT));

        let services = crate::config::ServiceConfigs::read(config)?;
        let rest = bucketbase_rest::State::new(services.rest, db.clone(), keys.clone());
        rest.reload_schema()
            .await
            .context("cannot load the schema cache")?;
        let mut auth_config = services.auth;
        if auth_config.smtp.host.is_none() {
            auth_config.smtp.catcher_dir = config.mail_catcher_dir.clone();
            match &config.mail_catcher_dir {
                Some(dir) => tracing::info!(dir = %dir.display(),
                    "SMTP_HOST is not set: mail goes to the local mail catcher"),
                None => tracing::warn!(
                    "SMTP_HOST is not set: confirmation, recovery, invite and magic-link mails \
                     are not sent (as GoTrue without a mailer); set SMTP_HOST to send them"
                ),
            }
        }
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "schema cache loaded"
        );
        let auth = bucketbase_auth::State::new(auth_config, keys.clone(), db.clone());
        let mounted = vec![
            bucketbase_rest::service(rest.clone()),
            bucketbase_auth::service(auth),
            bucketbase_realtime::service(bucketbase_realtime::State {
                config: services.realtime.into(),
            }),
            bucketbase_storage::service(
                bucketbase_storage::State::new(services.storage, db.clone(), keys.clone())
                    .map_err(anyhow::Error::msg)?,
            ),
            bucketbase_functions::service(bucketbase_functions::State {
                config: services.functions.into(),
            }),
        ];
        let mut router = Router::new().route(
            "/health",
            get(health).with_state(HealthState { db: db.clone() }),
        );
        let mut tasks = Vec::new();
        for mut service in mounted {
            router = service.mount(router);
            tasks.append(&mut service.tasks);
        }
        let router = router.layer(axum::middleware::from_fn(
            bucketbase_kit::log_internal_causes,
        ));
        // The CORS layer answers every OPTIONS itself; a TUS client's OPTIONS that is no
        // preflight goes past it to storage, which says what it supports (Tus-Version, …).
        let direct = router.clone();
        let router = router
            .layer(config.cors.layer())
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let direct = direct.clone();
                    async move {
                        if is_tus_options(&req) {
                            use tower::ServiceExt;
                            match direct.oneshot(req).await {
                                Ok(res) => res,
                                Err(never) => match never {},
                            }
                        } else {
                            next.run(req).await
                        }
                    }
                },
            ))
            .layer(axum::middleware::map_response(
                |mut res: axum::response::Response| async move {
                    res.headers_mut()
                        .entry(header::VARY)
                        .or_insert(header::HeaderValue::from_static("Origin"));
                    res
                },
            ));
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ready to serve"
        );
        Ok(Self {
            listener,
            router,
            tasks,
            handles: Handles {
                db,
                keys,
                anon_key,
                service_role_key,
                rest,
            },
        })
    }

    /// The port the API listens on.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and stops the
    /// services' background tasks.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (trigger, stop) = Shutdown::new();
        let tasks: Vec<_> = self
            .tasks
            .into_iter()
            .map(|task| tokio::spawn(task(stop.clone())))
            .collect();
        // Peer addresses feed auth's per-IP rate limits.
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("server error");
        trigger.fire();
        for task in tasks {
            let _ = task.await;
        }
        served
    }
}
