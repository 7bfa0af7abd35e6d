//! The test harness: one throwaway PostgreSQL cluster per test process (its own port and temp
//! dir, `wal_level=logical`, run as the `postgres` OS user when root), a template database
//! migrated once, a fresh database copied from it for every test, and [`TestApp::spawn`] which
//! runs the real server on port 0 against it. `DATABASE_URL` points the harness at an existing
//! server instead of starting a cluster.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::Context;
use bucketbase_sql::embedded::{Cluster, ClusterConfig};
use bucketbase_sql::tokio_postgres::{self, NoTls};
use tokio::sync::OnceCell;

/// The JWT secret every test server uses.
pub const JWT_SECRET: &str = "test-secret-that-is-at-least-32-characters-long";
const TEMPLATE: &str = "bb_template";
const PASSWORD: &str = "postgres";

/// Where the harness's PostgreSQL lives.
struct Server {
    /// URL of the superuser on the `postgres` database, with `{db}` to replace.
    url_for: Box<dyn Fn(&str) -> String + Send + Sync>,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn free_port() -> u16 {
    for _ in 0..50 {
        if let Ok(l) = std::net::TcpListener::bind("127.0.0.1:0") {
            if let Ok(addr) = l.local_addr() {
                return addr.port();
            }
        }
    }
    55_000
}

async fn start_server() -> anyhow::Result<Server> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let base = url.clone();
        let server = Server {
            url_for: Box::new(move |db| replace_db(&base, db)),
        };
        prepare_template(&server).await?;
        return Ok(server);
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("bucketbase-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let cluster = Cluster::new(ClusterConfig {
        data_dir: dir.join("db"),
        port: free_port(),
        password: PASSWORD.into(),
        ephemeral: true,
    })
    .await?;
    cluster.init_if_needed().await?;
    cluster.start().await?;
    watch_for_exit(&dir, &cluster);
    let port = cluster.port();
    let _ = CLUSTER.set(cluster);
    let server = Server {
        url_for: Box::new(move |db| {
            format!("postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/{db}")
        }),
    };
    prepare_template(&server).await?;
    Ok(server)
}

/// Stops the cluster and removes its directory when this test process exits, however it exits.
fn watch_for_exit(dir: &std::path::Path, _cluster: &Cluster) {
    let pid = std::process::id();
    let db = dir.join("db");
    let bindir = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|mut e| e.next())
        .and_then(|e| e.ok())
        .map(|e| e.path().join("bin"));
    let pg_ctl = bindir
        .map(|b| b.join("pg_ctl").display().to_string())
        .unwrap_or_else(|| "pg_ctl".into());
    let as_postgres = if bucketbase_sql::embedded::running_as_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {as_postgres}{pg_ctl} -D '{}' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
        db.display(),
        dir.display()
    );
    let _ = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

fn replace_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i)
            if url[..i].contains("://") && url[..i].len() > url.find("://").unwrap_or(0) + 3 =>
        {
            let query = url[i + 1..]
                .find('?')
                .map(|q| &url[i + 1 + q..])
                .unwrap_or("");
            format!("{}/{}{}", &url[..i], db, query)
        }
        _ => format!("{url}/{db}"),
    }
}

async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

async fn prepare_template(server: &Server) -> anyhow::Result<()> {
    let admin = connect(&(server.url_for)("postgres")).await?;
    admin
        .batch_execute(&format!("drop database if exists {TEMPLATE} with (force)"))
        .await?;
    admin
        .batch_execute(&format!("create database {TEMPLATE}"))
        .await?;
    bucketbase_sql::migrate::run(
        &(server.url_for)(TEMPLATE),
        bucketbase_sql::migrate::MigrationSets { platform: true },
    )
    .await
    .context("migrating the template database")?;
    admin
        .batch_execute(&format!(
            "alter role authenticator with login password {}",
            bucketbase_sql::quote_literal(PASSWORD)
        ))
        .await?;
    Ok(())
}

/// A fresh database copied from the migrated template; returns its superuser URL.
pub async fn fresh_database() -> anyhow::Result<String> {
    let server = SERVER.get_or_try_init(start_server).await?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = connect(&(server.url_for)("postgres")).await?;
    admin
        .batch_execute(&format!("create database {name} template {TEMPLATE}"))
        .await?;
    Ok((server.url_for)(&name))
}

/// A running server against a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The anon API key.
    pub anon_key: String,
    /// The service_role API key.
    pub service_role_key: String,
    /// A superuser connection to the test's database (for fixtures and assertions).
    pub db: tokio_postgres::Client,
    /// The superuser URL of the test's database.
    pub db_url: String,
    /// The server's JWT keys (to mint user tokens).
    pub keys: bucketbase_auth::Keys,
    /// An HTTP client.
    pub http: reqwest::Client,
}

impl TestApp {
    /// Spawns the real server on port 0 with default configuration.
    pub async fn spawn() -> anyhow::Result<Self> {
        Self::spawn_with(HashMap::new()).await
    }

    /// Spawns the server with extra environment variables (`PGRST_DB_MAX_ROWS`, …).
    pub async fn spawn_with(env: HashMap<String, String>) -> anyhow::Result<Self> {
        let db_url = fresh_database().await?;
        let db = connect(&db_url).await?;
        Self::spawn_on(db_url, db, env, None).await
    }

    /// Spawns the server against `db_url`, running `setup_sql` first (so the schema cache sees it).
    pub async fn spawn_with_sql(setup_sql: &str) -> anyhow::Result<Self> {
        let db_url = fresh_database().await?;
        let db = connect(&db_url).await?;
        db.batch_execute(setup_sql).await.context("fixture SQL")?;
        Self::spawn_on(db_url, db, HashMap::new(), None).await
    }

    async fn spawn_on(
        db_url: String,
        db: tokio_postgres::Client,
        mut env: HashMap<String, String>,
        _unused: Option<()>,
    ) -> anyhow::Result<Self> {
        env.insert("DATABASE_URL".into(), db_url.clone());
        env.insert("JWT_SECRET".into(), JWT_SECRET.into());
        env.insert("BUCKETBASE_DB_POOL".into(), "4".into());
        env.entry("BUCKETBASE_PLATFORM".into())
            .or_insert_with(|| "true".into());
        let config = bucketbase_server::Config::from_vars(env)?;
        let listener = bucketbase_server::app::bind("127.0.0.1", 0).await?;
        let app =
            bucketbase_server::Application::build(&config, listener, &db_url, JWT_SECRET, false)
                .await?;
        let port = app.port();
        let handles = app.handles.clone();
        tokio::spawn(app.run_until(std::future::pending()));
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            anon_key: handles.anon_key,
            service_role_key: handles.service_role_key,
            db,
            db_url,
            keys: handles.keys,
            http: reqwest::Client::new(),
        })
    }

    /// A signed access token for an authenticated user `sub` (extra claims merged in).
    pub fn user_token(&self, sub: &str, extra: serde_json::Value) -> String {
        let mut claims = serde_json::json!({
            "sub": sub,
            "role": "authenticated",
            "aud": "authenticated",
            "exp": 4_000_000_000i64,
        });
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        self.keys.sign(&claims)
    }

    /// A request to `path` (relative to the server) with `apikey` and `Authorization` for `token`.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.url, path))
            .header("apikey", &self.anon_key)
            .header("authorization", format!("Bearer {token}"))
    }

    /// Asks the server to reload its schema cache and waits until it has.
    pub async fn reload_schema(&self) -> anyhow::Result<()> {
        self.db
            .batch_execute("notify pgrst, 'reload schema'")
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        Ok(())
    }
}
