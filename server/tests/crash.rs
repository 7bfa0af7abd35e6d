//! The binary under failure: `kill -9` of `bucketbase start` under insert load, then `start`
//! again on the same data dir (healthy, every acknowledged row kept, the postmaster gone with
//! its parent); a postmaster left running by an earlier run is stopped and replaced; `serve`
//! against a password-protected cluster prepared by `bucketbase migrate` serves REST, and one
//! whose request pool cannot log in refuses to start with one line.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bucketbase_sql::embedded::{Cluster, ClusterConfig};
use support::{free_port_pair, port_is_free, psql, value, wait_until, Started};

const SECRET: &str = "a-secret-of-at-least-thirty-two-characters";

/// `bucketbase start` with the platform schemas off; the child and its ready lines.
fn start(dir: &std::path::Path, port: u16) -> (Child, Vec<String>) {
    let Started { child, lines } = support::start(dir, port, &[("BUCKETBASE_PLATFORM", "false")]);
    (child, lines)
}

fn sigterm(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// POSTs ids to `/rest/v1/acked` from 4 workers until `stop`, recording each acknowledged id.
async fn insert_load(api: String, key: String, acked: Arc<Mutex<Vec<i64>>>) {
    let http = reqwest::Client::new();
    let workers = (0..4i64).map(|w| {
        let (http, api, key, acked) = (http.clone(), api.clone(), key.clone(), acked.clone());
        tokio::spawn(async move {
            for n in 0.. {
                let id = w * 1_000_000 + n;
                let sent = http
                    .post(format!("{api}/rest/v1/acked"))
                    .header("apikey", &key)
                    .header("authorization", format!("Bearer {key}"))
                    .json(&serde_json::json!({"id": id}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => acked.lock().expect("lock").push(id),
                    _ => return,
                }
            }
        })
    });
    for w in workers.collect::<Vec<_>>() {
        let _ = w.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_insert_load_then_start_again_keeps_every_acknowledged_row() {
    let dir = std::env::temp_dir().join(format!("bucketbase-crash-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port_pair();
    let (mut first, lines) = start(&dir, port);
    let api = value(&lines, "API URL: ").to_string();
    let db_url = value(&lines, "DB URL: ").to_string();
    let key = value(&lines, "service_role key: ").to_string();
    psql(&db_url, "create table public.acked (id bigint primary key)");
    let http = reqwest::Client::new();
    let visible = || async {
        http.get(format!("{api}/rest/v1/acked?limit=0"))
            .header("apikey", &key)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    };
    let until = Instant::now() + Duration::from_secs(20);
    while !visible().await {
        assert!(
            Instant::now() < until,
            "the new table reaches the schema cache"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let acked = Arc::new(Mutex::new(Vec::new()));
    let load = tokio::spawn(insert_load(api.clone(), key.clone(), acked.clone()));
    let until = Instant::now() + Duration::from_secs(30);
    while acked.lock().expect("lock").len() < 200 {
        assert!(Instant::now() < until, "inserts are acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().expect("kill -9");
    let _ = first.wait();
    load.await.expect("load");
    let acknowledged = acked.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 200);

    // The postmaster does not outlive its parent: it shuts down and frees the port.
    wait_until(
        "the orphaned postmaster exits",
        Duration::from_secs(30),
        || port_is_free(port + 1),
    );

    let (mut second, lines) = start(&dir, port);
    assert_eq!(value(&lines, "API URL: "), api);
    let present: std::collections::HashSet<i64> = psql(&db_url, "select id from public.acked")
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !present.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged rows lost: {lost:?}");
    let health = http
        .get(format!("{api}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);

    // Under `start` without SMTP_HOST, mail goes to the local catcher, not the log.
    let signup = http
        .post(format!("{api}/auth/v1/signup"))
        .header("apikey", &key)
        .json(&serde_json::json!({"email": "crash@example.com", "password": "a-long-password"}))
        .send()
        .await
        .expect("signup");
    assert_eq!(signup.status(), 200);
    let mails: Vec<_> = std::fs::read_dir(dir.join("mail"))
        .expect("the mail catcher's folder")
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(mails.len(), 1, "one confirmation mail caught");
    let mail = std::fs::read_to_string(mails[0].path()).expect("mail");
    assert!(mail.contains("To: crash@example.com"), "{mail}");
    assert!(mail.contains("/auth/v1/verify?token="), "{mail}");
    use std::os::unix::fs::PermissionsExt;
    let mode = mails[0].metadata().expect("meta").permissions().mode();
    assert_eq!(mode & 0o077, 0, "only the owner reads caught mail");
    sigterm(&mut second);
    assert!(port_is_free(port + 1), "a clean stop stops PostgreSQL");

    // A postmaster left running on the data dir (as after a kill -9 where the OS cannot tie
    // its lifetime to ours) is stopped and replaced, not refused.
    let cluster = Cluster::new(ClusterConfig {
        data_dir: dir.join("db"),
        port: port + 1,
        password: "postgres".into(),
        ephemeral: false,
        tie_to_parent: false,
    })
    .await
    .expect("cluster");
    cluster.start().await.expect("leftover postmaster");
    assert!(cluster.running_postmaster().is_some());
    let (mut third, lines) = start(&dir, port);
    assert_eq!(
        psql(
            value(&lines, "DB URL: "),
            "select count(*) >= 200 from public.acked"
        ),
        "t"
    );
    sigterm(&mut third);
    assert!(cluster.running_postmaster().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `bucketbase serve` on `port` with `env`, stderr to `log`.
fn serve(port: u16, env: &[(&str, &str)], log: &std::path::Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bucketbase"));
    cmd.args(["serve", "--port", &port.to_string()])
        .env_remove("SMTP_HOST")
        .env("JWT_SECRET", SECRET)
        .env("BUCKETBASE_PLATFORM", "false")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("serve")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_after_migrate_logs_in_with_a_password_and_keeps_mail_links_out_of_the_log() {
    let dir = std::env::temp_dir().join(format!("bucketbase-serve-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db_port = free_port_pair();
    // Host connections authenticate with scram-sha-256; there is no socket to trust.
    let cluster = Cluster::new(ClusterConfig {
        data_dir: dir.join("db"),
        port: db_port,
        password: "s3cret-pw".into(),
        ephemeral: true,
        tie_to_parent: false,
    })
    .await
    .expect("cluster");
    let _stop = StopOnDrop(&cluster, dir.clone());
    cluster.init_if_needed().await.expect("initdb");
    cluster.start().await.expect("start");
    let db_url = cluster.url("postgres");
    let migrate = Command::new(env!("CARGO_BIN_EXE_bucketbase"))
        .arg("migrate")
        .env("DATABASE_URL", &db_url)
        .env("BUCKETBASE_PLATFORM", "false")
        .output()
        .expect("migrate");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let keys = Command::new(env!("CARGO_BIN_EXE_bucketbase"))
        .arg("keys")
        .env("JWT_SECRET", SECRET)
        .output()
        .expect("keys");
    let keys = String::from_utf8_lossy(&keys.stdout).to_string();
    let anon = keys
        .lines()
        .find_map(|l| l.strip_prefix("anon key: "))
        .expect("anon key")
        .to_string();

    let port = free_port_pair();
    let log = dir.join("serve.log");
    let mut server = serve(port, &[("DATABASE_URL", &db_url)], &log);
    let api = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Ok(r) = http.get(format!("{api}/health")).send().await {
            break r;
        }
        assert!(
            server.try_wait().expect("wait").is_none(),
            "serve exited: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(Instant::now() < until, "serve comes up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.expect("json");
    assert_eq!(body["pools"]["request"], "ok", "{body}");
    assert_eq!(body["pools"]["admin"], "ok", "{body}");
    let rest = http
        .get(format!("{api}/rest/v1/"))
        .header("apikey", &anon)
        .send()
        .await
        .expect("rest");
    assert_eq!(rest.status(), 200, "REST answers through the request pool");

    // Without SMTP_HOST under `serve`, sign-up succeeds and nothing of the mail is logged.
    let signup = http
        .post(format!("{api}/auth/v1/signup"))
        .header("apikey", &anon)
        .json(&serde_json::json!({"email": "serve@example.com", "password": "a-long-password"}))
        .send()
        .await
        .expect("signup");
    assert_eq!(signup.status(), 200);
    let token_hash = psql(
        &db_url,
        "select confirmation_token from auth.users where email = 'serve@example.com'",
    );
    assert!(!token_hash.is_empty());
    sigterm(&mut server);
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("SMTP_HOST is not set"), "{logged}");
    assert!(!logged.contains(&token_hash), "the token is not logged");
    assert!(!logged.contains("verify?token"), "no link is logged");
    assert!(!logged.contains("s3cret-pw"), "the password is not logged");

    // A request login that cannot authenticate refuses to start, with one line.
    let bad = format!("postgresql://authenticator:wrong@127.0.0.1:{db_port}/postgres");
    let out = Command::new(env!("CARGO_BIN_EXE_bucketbase"))
        .args(["serve", "--port", "0"])
        .env("DATABASE_URL", &db_url)
        .env("PGRST_DB_URI", &bad)
        .env("JWT_SECRET", SECRET)
        .env("BUCKETBASE_PLATFORM", "false")
        .env("RUST_LOG", "off")
        .output()
        .expect("serve");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("PGRST_DB_URI") && err.contains("password"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

/// Stops a test's own cluster and removes its directory however the test ends (a failed
/// assertion included), so a failing run leaves no PostgreSQL behind.
struct StopOnDrop<'a>(&'a Cluster, std::path::PathBuf);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop_blocking();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}
