//! The test harness: one throwaway PostgreSQL cluster per test process (its own port and temp
//! dir, `wal_level=logical`, run as the `postgres` OS user when root), a template database
//! migrated once, a fresh database copied from it for every test, and [`TestApp::builder`] which
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
        tie_to_parent: false,
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
        &bucketbase_sql::migrate::server_sets(true),
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
    pub keys: bucketbase_caller::Keys,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The server's REST state, whose schema cache [`TestApp::reload_schema`] reloads.
    rest: bucketbase_rest::State,
    /// The file backend's directory (a fresh temporary one unless the test set
    /// `FILE_STORAGE_BACKEND_PATH`); removed when the app is dropped.
    pub storage_dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.storage_dir.starts_with(std::env::temp_dir()) {
            let _ = std::fs::remove_dir_all(&self.storage_dir);
        }
    }
}

/// How a [`TestApp`] is set up: fixture SQL to run before the server starts (so the schema
/// cache sees it) and extra server environment. Built by [`TestApp::builder`].
#[derive(Default)]
#[must_use = "a builder does nothing until `spawn`"]
pub struct TestAppBuilder {
    sql: Vec<String>,
    env: HashMap<String, String>,
}

impl TestAppBuilder {
    /// Runs `sql` on the fresh database before the server starts (in the order given).
    pub fn sql(mut self, sql: &str) -> Self {
        self.sql.push(sql.to_string());
        self
    }

    /// Sets one server environment variable (`PGRST_DB_MAX_ROWS`, …).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets several server environment variables (for example [`SmtpSink::env`]).
    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Copies a fresh database, runs the fixture SQL and spawns the real server on port 0.
    pub async fn spawn(self) -> anyhow::Result<TestApp> {
        let db_url = fresh_database().await?;
        let db = connect(&db_url).await?;
        for sql in &self.sql {
            db.batch_execute(sql).await.context("fixture SQL")?;
        }
        let mut env = self.env;
        env.insert("DATABASE_URL".into(), db_url.clone());
        env.insert("JWT_SECRET".into(), JWT_SECRET.into());
        env.insert("BUCKETBASE_DB_POOL".into(), "4".into());
        env.entry("BUCKETBASE_PLATFORM".into())
            .or_insert_with(|| "true".into());
        let storage_dir = PathBuf::from(
            env.entry("FILE_STORAGE_BACKEND_PATH".into())
                .or_insert_with(|| {
                    std::env::temp_dir()
                        .join(format!(
                            "bucketbase-storage-{}",
                            uuid::Uuid::new_v4().simple()
                        ))
                        .display()
                        .to_string()
                })
                .clone(),
        );
        let config = bucketbase_server::Config::from_vars(env)?;
        let listener = bucketbase_server::app::bind("127.0.0.1", 0).await?;
        let app =
            bucketbase_server::Application::build(&config, listener, &db_url, JWT_SECRET, false)
                .await?;
        let port = app.port();
        let handles = app.handles.clone();
        tokio::spawn(app.run_until(std::future::pending()));
        Ok(TestApp {
            url: format!("http://127.0.0.1:{port}"),
            anon_key: handles.anon_key,
            service_role_key: handles.service_role_key,
            db,
            db_url,
            keys: handles.keys,
            http: reqwest::Client::new(),
            rest: handles.rest,
            storage_dir,
        })
    }
}

impl TestApp {
    /// A builder for a server against a fresh database: `TestApp::builder().sql(FIXTURE)
    /// .env("PGRST_DB_MAX_ROWS", "2").spawn().await`.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
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

    /// Reloads the server's schema cache and returns once the new cache is in use (what
    /// `notify pgrst, 'reload schema'` does, without waiting for the listener).
    pub async fn reload_schema(&self) -> anyhow::Result<()> {
        self.rest
            .reload_schema()
            .await
            .context("reloading the schema cache")
    }
}

/// Checks `check` every 20 ms until it holds; an error naming `what` once `timeout` has passed.
/// For the tests that wait on something the server does in the background.
pub async fn wait_until<F, Fut>(
    what: &str,
    timeout: std::time::Duration,
    mut check: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("{what}: not within {timeout:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A mail received by [`SmtpSink`].
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message (headers and body) as received, dot-stuffing removed.
    pub data: String,
}

impl Mail {
    /// The `Subject:` header.
    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("")
            .trim()
            .to_string()
    }

    /// The body: everything after the headers, as received (HTML, entities not decoded).
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map_or(self.data.as_str(), |(_, b)| b)
    }

    /// The first `href="…"` of the body (the verification link), with its HTML entities
    /// decoded: GoTrue's `html/template` writes `&` in links as `&amp;`.
    pub fn link(&self) -> Option<String> {
        let start = self.data.find("href=\"")? + 6;
        let end = self.data[start..].find('"')?;
        Some(html_unescape(&self.data[start..start + end]))
    }

    /// The one-time code: the first run of six or more digits after the headers.
    pub fn otp(&self) -> Option<String> {
        let body = self.body();
        let body = body.split_once("href=\"").map_or(body, |(_, rest)| {
            rest.split_once('"').map_or(rest, |(_, after)| after)
        });
        body.split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() >= 6)
            .map(str::to_string)
    }
}

/// Decodes the character references `html/template` writes (`&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&#NN;`, `&#xHH;`); anything else is kept as it is.
pub fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').and_then(|semi| {
            let name = &rest[1..semi];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A tiny SMTP server that accepts every message and records it, for the auth mail tests.
#[derive(Clone)]
pub struct SmtpSink {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    mails: std::sync::Arc<std::sync::Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Starts the sink on a free port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mails = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(stream, store).await;
                });
            }
        });
        Ok(Self { port, mails })
    }

    /// The server environment that sends mail here.
    pub fn env(&self) -> HashMap<String, String> {
        HashMap::from([
            ("SMTP_HOST".to_string(), "127.0.0.1".to_string()),
            ("SMTP_PORT".to_string(), self.port.to_string()),
            ("SMTP_USER".to_string(), "sink".to_string()),
            ("SMTP_PASS".to_string(), "sink-password".to_string()),
            (
                "SMTP_ADMIN_EMAIL".to_string(),
                "admin@bucketbase.test".to_string(),
            ),
            ("SMTP_SENDER_NAME".to_string(), "Bucketbase".to_string()),
        ])
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The mails received for `to` so far.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits (up to 10 s) until `to` has received `count` mails and returns the last one.
    pub async fn wait_for(&self, to: &str, count: usize) -> anyhow::Result<Mail> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let got = self.mails_to(to);
            if got.len() >= count {
                return got.into_iter().nth(count - 1).context("mail vanished");
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("no mail #{count} for {to} within 10 s (got {})", got.len());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    store: std::sync::Arc<std::sync::Mutex<Vec<Mail>>>,
) -> anyhow::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 bucketbase-sink ESMTP\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-bucketbase-sink\r\n250 AUTH PLAIN LOGIN\r\n"
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if upper.starts_with("AUTH") {
            b"235 Authenticated\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line.trim_end()[10..]
                .trim()
                .trim_matches(['<', '>'])
                .to_string();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(
                line.trim_end()[8..]
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_string(),
            );
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if read.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            if let Ok(mut m) = store.lock() {
                m.push(Mail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
            }
            b"250 OK queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// An HTTP response read whole, for assertions on status, headers and body.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: reqwest::StatusCode,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub text: String,
}

impl Reply {
    /// Reads `res` to the end.
    pub async fn read(res: reqwest::Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        Self {
            status,
            headers,
            text,
        }
    }

    /// The body parsed as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A real S3 server for the storage tests: moto's server (`moto_server`, installed by
/// `scripts/lib.sh`'s `ensure_moto`, found through `BUCKETBASE_MOTO_SERVER` or under
/// `target/tools/moto-venv`), on a free port, with one bucket. Stopped on drop.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The bucket the server's objects go to.
    pub bucket: String,
    child: std::process::Child,
}

impl S3Server {
    /// Starts moto and creates a bucket.
    pub async fn start() -> anyhow::Result<Self> {
        let exe = std::env::var("BUCKETBASE_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../target/tools/moto-venv/bin/moto_server")
            });
        anyhow::ensure!(
            exe.exists(),
            "{} not found: run ./scripts/test (its ensure_moto installs moto from PyPI)",
            exe.display()
        );
        let port = free_port();
        let child = std::process::Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: format!("bb-{}", uuid::Uuid::new_v4().simple()),
            child,
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match http
                .put(format!("{}/{}", server.endpoint, server.bucket))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => return Ok(server),
                Ok(r) => anyhow::bail!("moto refused to create a bucket: {}", r.status()),
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                Err(e) => anyhow::bail!("moto did not start within 30 s: {e}"),
            }
        }
    }

    /// The server environment that puts objects in this bucket.
    pub fn env(&self) -> HashMap<String, String> {
        HashMap::from([
            ("STORAGE_BACKEND".to_string(), "s3".to_string()),
            ("GLOBAL_S3_BUCKET".to_string(), self.bucket.clone()),
            ("GLOBAL_S3_ENDPOINT".to_string(), self.endpoint.clone()),
            ("GLOBAL_S3_FORCE_PATH_STYLE".to_string(), "true".to_string()),
            ("REGION".to_string(), "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
        ])
    }

    /// Every key in the bucket (ListObjectsV2, up to 1000).
    pub async fn keys(&self) -> anyhow::Result<Vec<String>> {
        let xml = reqwest::Client::new()
            .get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .send()
            .await?
            .text()
            .await?;
        Ok(xml
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, as paths relative to it (for "nothing left behind" checks).
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}
