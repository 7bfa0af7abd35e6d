//! `bucketbase start` and `bucketbase serve`: the lifecycle around [`Application`]. `start`
//! runs the embedded PostgreSQL cluster (like the Supabase CLI's local stack: API on PORT,
//! database on PORT + 1), keeps a generated JWT secret in the data dir, prints the URLs and keys,
//! and on Ctrl-C / SIGTERM stops the server and then the database.

use std::path::Path;

use anyhow::Context;
use bucketbase_sql::embedded::{Cluster, ClusterConfig};
use rand::RngCore;

use crate::app::{bind, Application};
use crate::Config;

const SECRET_FILE: &str = "jwt_secret";
const DB_PASSWORD: &str = "postgres";

/// Reads the JWT secret kept in `data_dir`, if any.
pub fn read_secret(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(SECRET_FILE))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn secret_for(data_dir: &Path) -> anyhow::Result<String> {
    if let Some(s) = read_secret(data_dir) {
        return Ok(s);
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    use base64::Engine;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let path = data_dir.join(SECRET_FILE);
    std::fs::write(&path, &secret).with_context(|| {
        format!(
            "cannot write {}: choose a writable --data-dir",
            path.display()
        )
    })?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(secret)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn print_ready(app: &Application, host: &str, db_url: &str, secret: &str) {
    println!("API URL: http://{host}:{}", app.port());
    println!("DB URL: {db_url}");
    println!("JWT secret: {secret}");
    println!("anon key: {}", app.handles.anon_key);
    println!("service_role key: {}", app.handles.service_role_key);
}

/// `bucketbase start`.
pub async fn start(mut config: Config) -> anyhow::Result<()> {
    config.mail_catcher_dir = Some(config.data_dir.join("mail"));
    let listener = bind(&config.host, config.port).await?;
    let port = listener.local_addr()?.port();
    let data_dir = config.data_dir.clone();
    let cluster = match &config.database_url {
        Some(_) => None,
        None => {
            let db_port = port
                .checked_add(1)
                .context("--port must leave room for the database on PORT + 1")?;
            let cluster = Cluster::new(ClusterConfig {
                data_dir: data_dir.join("db"),
                port: db_port,
                password: DB_PASSWORD.into(),
                ephemeral: false,
                tie_to_parent: true,
            })
            .await?;
            // A postmaster left running by a server that was killed holds the port: stop it
            // cleanly before deciding the port belongs to something else.
            cluster.stop_leftover().await?;
            // Refuse before creating anything when the database port is taken.
            std::net::TcpListener::bind(("127.0.0.1", db_port)).map_err(|_| {
                anyhow::anyhow!(
                    "port {db_port} (the database port) is already in use: stop what uses it, or \
                     choose another --port (the database uses --port + 1)"
                )
            })?;
            Some(cluster)
        }
    };
    let fresh_dir = !data_dir.exists();
    std::fs::create_dir_all(&data_dir).with_context(|| {
        format!(
            "cannot create the data dir {}: choose a writable --data-dir",
            data_dir.display()
        )
    })?;
    let cleanup = |e: anyhow::Error| {
        if fresh_dir {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        e
    };
    let secret = match &config.jwt_secret {
        Some(s) => s.clone(),
        None => secret_for(&data_dir).map_err(cleanup)?,
    };
    let Some(cluster) = cluster else {
        let url = config.database_url.clone().unwrap_or_default();
        let app = Application::build(&config, listener, &url, &secret, true).await?;
        print_ready(&app, &config.host, &url, &secret);
        return app.run_until(shutdown_signal()).await;
    };
    cluster
        .init_if_needed()
        .await
        .map_err(|e| cleanup(e.into()))?;
    cluster.start().await.map_err(|e| cleanup(e.into()))?;
    let db_url = cluster.url("postgres");
    let app = match Application::build(&config, listener, &db_url, &secret, true).await {
        Ok(app) => app,
        Err(e) => {
            let _ = cluster.stop().await;
            return Err(cleanup(e));
        }
    };
    print_ready(&app, &config.host, &db_url, &secret);
    let served = app.run_until(shutdown_signal()).await;
    cluster.stop().await.context("stopping PostgreSQL")?;
    served
}

/// `bucketbase serve`.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let url = config
        .database_url
        .clone()
        .context("DATABASE_URL (or POSTGRES_HOST and POSTGRES_PASSWORD) is not set: `serve` needs a database; `bucketbase start` runs an embedded one")?;
    let secret = config
        .jwt_secret
        .clone()
        .context("JWT_SECRET is not set: `serve` needs the secret your keys are signed with")?;
    let listener = bind(&config.host, config.port).await?;
    let app = Application::build(&config, listener, &url, &secret, false).await?;
    tracing::info!(port = app.port(), "bucketbase serving");
    app.run_until(shutdown_signal()).await
}
