//! `bucketbase start` as a user runs it: the embedded cluster comes up, the five ready lines are
//! printed, SIGTERM stops the server and then the database, and a second start on the same
//! directory reuses the data and the secret. Bad configuration gets one clear line and a
//! non-zero exit, with nothing left behind.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{free_port_pair, port_is_free, psql, start, value, wait_until, Started};

fn stop(mut s: Started) {
    let status = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut exit = None;
    wait_until("a stop after SIGTERM", Duration::from_secs(30), || {
        exit = s.child.try_wait().expect("wait");
        exit.is_some()
    });
    let status = exit.expect("exited");
    assert!(status.success(), "clean exit after SIGTERM: {status}");
}

#[test]
fn start_prints_ready_lines_stops_cleanly_and_reuses_its_data() {
    let dir = std::env::temp_dir().join(format!("bucketbase-start-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port_pair();

    let first = start(&dir, port, &[]);
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
    assert!(port_is_free(port + 1), "PostgreSQL stopped with the server");

    let second = start(&dir, port, &[]);
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
