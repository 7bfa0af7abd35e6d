//! `bucketbase start` as a user runs it: the embedded cluster comes up, the five ready lines are
//! printed, SIGTERM stops the server and then the database, and a second start on the same
//! directory reuses the data and the secret. Bad configuration gets one clear line and a
//! non-zero exit, with nothing left behind.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair");
}

struct Started {
    child: Child,
    lines: Vec<String>,
}

fn start(dir: &std::path::Path, port: u16) -> Started {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bucketbase"))
        .args(["start", "--data-dir"])
        .arg(dir)
        .args(["--port", &port.to_string()])
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let done = line.starts_with("service_role key:");
        lines.push(line);
        if done {
            break;
        }
    }
    assert_eq!(lines.len(), 5, "ready lines: {lines:?}");
    Started { child, lines }
}

fn value<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {lines:?}"))
}

fn stop(mut s: Started) {
    let status = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = s.child.try_wait().expect("wait") {
            assert!(status.success(), "clean exit after SIGTERM: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "did not stop within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-Atc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn start_prints_ready_lines_stops_cleanly_and_reuses_its_data() {
    let dir = std::env::temp_dir().join(format!("bucketbase-start-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port_pair();

    let first = start(&dir, port);
    assert_eq!(
        value(&first.lines, "API URL: "),
        format!("http://127.0.0.1:{port}")
    );
    let db_url = value(&first.lines, "DB URL: ").to_string();
    assert_eq!(
        db_url,
        format!(
            "postgresql://postgres:postgres@127.0.0.1:{}/postgres",
            port + 1
        )
    );
    let secret = value(&first.lines, "JWT secret: ").to_string();
    let anon = value(&first.lines, "anon key: ").to_string();
    assert!(secret.len() >= 32);
    assert_eq!(anon.split('.').count(), 3);
    psql(
        &db_url,
        "create table kept (v text); insert into kept values ('survives')",
    );
    stop(first);
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok(),
        "PostgreSQL stopped with the server"
    );

    let second = start(&dir, port);
    assert_eq!(
        value(&second.lines, "JWT secret: "),
        secret,
        "the secret is kept"
    );
    assert_eq!(value(&second.lines, "anon key: "), anon, "so are the keys");
    assert_eq!(psql(&db_url, "select v from kept"), "survives");
    stop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_configuration_gets_one_clear_line_and_leaves_nothing() {
    let dir = std::env::temp_dir().join(format!("bucketbase-bad-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bucketbase"));
        cmd.args(args)
            .env_remove("DATABASE_URL")
            .env_remove("JWT_SECRET");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let dir_arg = dir.display().to_string();
    let (code, err) = run(
        &["start", "--data-dir", &dir_arg, "--port", &port.to_string()],
        &[],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("already in use"), "{err}");
    assert!(!dir.exists(), "nothing created when the port is taken");

    let (code, err) = run(
        &["start", "--data-dir", "/proc/not-writable", "--port", "0"],
        &[],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("--data-dir"), "{err}");

    let secret = ("JWT_SECRET", "a-secret-of-at-least-thirty-two-characters");
    let (code, err) = run(
        &["serve", "--port", "0"],
        &[secret, ("DATABASE_URL", "not a url")],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("DATABASE_URL"), "{err}");
    let (code, err) = run(
        &["serve", "--port", "0"],
        &[
            secret,
            (
                "DATABASE_URL",
                "postgresql://postgres@127.0.0.1:5432/postgres",
            ),
            ("JWT_JWKS_FILE", "/nonexistent/jwks.json"),
        ],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("JWT_JWKS_FILE"), "{err}");
    let (code, err) = run(
        &["serve", "--port", "0"],
        &[
            secret,
            (
                "DATABASE_URL",
                "postgresql://postgres@127.0.0.1:5432/postgres",
            ),
            ("JWT_JWKS", "{not json"),
        ],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("JWKS"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}
