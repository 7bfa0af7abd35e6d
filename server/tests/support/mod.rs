//! What the binary's tests share: free ports for an API and its embedded database, running
//! `bucketbase start` up to its ready lines, reading those lines, `psql`, and polling.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port whose successor is free too (`start` puts PostgreSQL on `port + 1`).
pub(crate) fn free_port_pair() -> u16 {
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

/// Whether nothing listens on `port`.
pub(crate) fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A running `bucketbase start` and the five lines it printed when ready.
pub(crate) struct Started {
    /// The `bucketbase start` process.
    pub child: Child,
    /// `API URL:`, `DB URL:`, `JWT secret:`, `anon key:`, `service_role key:`.
    pub lines: Vec<String>,
}

/// Runs `bucketbase start` on `dir` and `port` with `env` set (and no `DATABASE_URL`,
/// `JWT_SECRET` or `SMTP_HOST` from the test's own environment), up to its ready lines.
pub(crate) fn start(dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Started {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bucketbase"));
    cmd.args(["start", "--data-dir"])
        .arg(dir)
        .args(["--port", &port.to_string()])
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .env_remove("SMTP_HOST")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
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

/// The rest of the ready line that starts with `prefix`.
pub(crate) fn value<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {lines:?}"))
}

/// Runs `sql` with `psql -At` against `url` and returns its output, trimmed.
pub(crate) fn psql(url: &str, sql: &str) -> String {
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

/// Checks `ok` every 50 ms until it holds; panics naming `what` after `deadline`.
pub(crate) fn wait_until(what: &str, deadline: Duration, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !ok() {
        assert!(Instant::now() < until, "{what} within {deadline:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
