//! The embedded PostgreSQL cluster behind `bucketbase start` and the test harness, doing what the
//! Supabase CLI's database container does locally: a cluster with `wal_level=logical`, UTF8,
//! superuser `postgres`, on its own port. It uses the PostgreSQL binaries installed on the
//! machine (`pg_config --bindir`, then `/usr/lib/postgresql/*/bin`) and, when run as root,
//! runs them as the `postgres` OS user, since PostgreSQL refuses to run as root.
//!
//! A cluster started with [`ClusterConfig::tie_to_parent`] runs `postgres` as a direct child
//! whose parent-death signal is SIGINT (util-linux `setpriv --pdeathsig`), so a `kill -9` of
//! the server makes PostgreSQL shut down fast instead of holding the port with parent 1. Where
//! that is not available, and whenever a postmaster of an earlier run is still up on the same
//! data directory, [`Cluster::start`] stops it cleanly first and starts afresh.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::{DbError, Result};

/// Where to put a cluster and how to run it.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The cluster's data directory (`initdb -D`).
    pub data_dir: PathBuf,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Password of the `postgres` superuser.
    pub password: String,
    /// Trade durability for speed (`fsync=off`, …): for throwaway test clusters only.
    pub ephemeral: bool,
    /// Make PostgreSQL shut down when this process dies (the parent-death signal), where the
    /// OS allows. The thread that calls [`Cluster::start`] must live as long as the process
    /// (the signal follows the parent thread): `bucketbase start`'s main thread does; a test
    /// harness that starts its cluster on a short-lived test thread must not set this.
    pub tie_to_parent: bool,
}

/// A PostgreSQL cluster on this machine, started by us.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    bindir: PathBuf,
    run_as: Option<OsUser>,
    /// The postmaster, when it runs as our direct child.
    child: std::sync::Mutex<Option<std::process::Child>>,
}

#[derive(Debug, Clone)]
struct OsUser {
    name: String,
    uid: u32,
    gid: u32,
}

/// How to install PostgreSQL when it is missing.
pub const INSTALL_HINT: &str =
    "PostgreSQL server binaries not found (looked at `pg_config --bindir` and \
/usr/lib/postgresql/*/bin). Install them with `sudo apt-get install -y postgresql` (Debian/Ubuntu) \
or `brew install postgresql@15` (macOS), or set DATABASE_URL and use `bucketbase serve`.";

/// Finds the directory holding `initdb`, `pg_ctl` and `postgres`.
pub async fn find_bindir() -> Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output().await {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return Ok(dir);
            }
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let bin = entry.path().join("bin");
            let version = entry
                .file_name()
                .to_string_lossy()
                .split('.')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if bin.join("initdb").exists() && bin.join("pg_ctl").exists() {
                candidates.push((version, bin));
            }
        }
    }
    candidates.sort();
    candidates
        .pop()
        .map(|(_, dir)| dir)
        .ok_or_else(|| DbError::Embedded(INSTALL_HINT.to_string()))
}

/// True when this process runs as root (uid 0), read from `/proc/self/status`.
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn lookup_user(name: &str) -> Option<OsUser> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() > 3 && f[0] == name {
            Some(OsUser {
                name: name.to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
            })
        } else {
            None
        }
    })
}

impl Cluster {
    /// Prepares to manage the cluster described by `config` (nothing is started yet).
    pub async fn new(config: ClusterConfig) -> Result<Self> {
        let bindir = find_bindir().await?;
        let run_as = if running_as_root() {
            Some(lookup_user("postgres").ok_or_else(|| {
                DbError::Embedded(
                    "running as root, but there is no `postgres` OS user to run PostgreSQL as \
                     (PostgreSQL refuses to run as root): create it with `useradd -r postgres` \
                     or run bucketbase as a normal user"
                        .to_string(),
                )
            })?)
        } else {
            None
        };
        Ok(Self {
            config,
            bindir,
            run_as,
            child: std::sync::Mutex::new(None),
        })
    }

    /// The `postgresql://` URL of the superuser on this cluster, for `dbname`.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://postgres:{}@127.0.0.1:{}/{}",
            self.config.password, self.config.port, dbname
        )
    }

    /// The cluster's port.
    pub fn port(&self) -> u16 {
        self.config.port
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.arg("-u").arg(&user.name).arg("--").arg(path);
                cmd
            }
            None => Command::new(path),
        }
    }

    /// True when the data directory already holds a cluster.
    pub fn is_initialised(&self) -> bool {
        self.config.data_dir.join("PG_VERSION").exists()
    }

    /// Runs `initdb` unless the data directory already holds a cluster, then writes our settings.
    pub async fn init_if_needed(&self) -> Result<bool> {
        if self.is_initialised() {
            return Ok(false);
        }
        let dir = &self.config.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            DbError::Embedded(format!(
                "cannot create the database directory {}: {e}; choose a writable --data-dir",
                dir.display()
            ))
        })?;
        let pwfile = dir.with_extension("pwfile");
        std::fs::write(&pwfile, format!("{}\n", self.config.password)).map_err(|e| {
            DbError::Embedded(format!("cannot write into {}: {e}", pwfile.display()))
        })?;
        if let Some(user) = &self.run_as {
            self.hand_over(dir, user)?;
            chown(&pwfile, user)?;
        }
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(dir)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| DbError::Embedded(format!("cannot run initdb: {e}")))?;
        let _ = std::fs::remove_file(&pwfile);
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(dir);
            return Err(DbError::Embedded(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let mut conf = String::from(
            "\n# bucketbase\nwal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\n\
             listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 200\n",
        );
        // As the `supabase/postgres` image the Supabase CLI runs: its `effective_cache_size`,
        // and query ids in `EXPLAIN VERBOSE` (it preloads pg_stat_statements, which turns them
        // on), which PostgREST's plan media type shows to postgrest-js.
        conf.push_str("effective_cache_size = 128MB\ncompute_query_id = on\n");
        // API statements are short: JIT compiling one costs far more than running it (300 ms
        // of compilation seen on a 0.7 s storage listing).
        conf.push_str("jit = off\n");
        if self.config.ephemeral {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf_path = dir.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path)
            .map_err(|e| DbError::Embedded(format!("cannot read postgresql.conf: {e}")))?;
        existing.push_str(&conf);
        std::fs::write(&conf_path, existing)
            .map_err(|e| DbError::Embedded(format!("cannot write postgresql.conf: {e}")))?;
        Ok(true)
    }

    /// Gives the data directory to the `postgres` OS user and makes sure it can reach it.
    fn hand_over(&self, dir: &Path, user: &OsUser) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        chown(dir, user)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| DbError::Embedded(format!("cannot chmod {}: {e}", dir.display())))?;
        // Every ancestor must be traversable by the postgres user.
        let mut ancestor = dir.parent();
        while let Some(a) = ancestor {
            if let Ok(meta) = std::fs::metadata(a) {
                let mode = meta.permissions().mode();
                if mode & 0o001 == 0 {
                    std::fs::set_permissions(a, std::fs::Permissions::from_mode(mode | 0o711))
                        .map_err(|e| {
                            DbError::Embedded(format!(
                                "the postgres OS user cannot reach {}: {e}",
                                a.display()
                            ))
                        })?;
                }
            }
            ancestor = a.parent();
        }
        Ok(())
    }

    /// Starts the cluster and waits until it accepts connections. A postmaster of an earlier
    /// run still up on this data directory (its server was killed) is stopped cleanly first.
    pub async fn start(&self) -> Result<()> {
        self.stop_leftover().await?;
        if std::net::TcpListener::bind(("127.0.0.1", self.config.port)).is_err() {
            return Err(DbError::Embedded(format!(
                "port {} (the database port) is already in use: stop what uses it, or choose \
                 another --port (the database uses --port + 1)",
                self.config.port
            )));
        }
        if self.config.tie_to_parent {
            if let Some(setpriv) = setpriv() {
                return self.start_tied(&setpriv).await;
            }
        }
        let log = self.config.data_dir.join("postgres.log");
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.config.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(format!("-p {}", self.config.port))
            .args(["-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| DbError::Embedded(format!("cannot run pg_ctl: {e}")))?;
        if !out.status.success() {
            return Err(DbError::Embedded(format!(
                "PostgreSQL did not start: {} {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                self.log_tail()
            )));
        }
        Ok(())
    }

    /// The last lines of the cluster's log, for error messages.
    fn log_tail(&self) -> String {
        std::fs::read_to_string(self.config.data_dir.join("postgres.log"))
            .map(|l| l.lines().rev().take(5).collect::<Vec<_>>().join(" | "))
            .unwrap_or_default()
    }

    /// Runs `postgres` as our child with SIGINT as its parent-death signal, and waits until it
    /// accepts connections.
    async fn start_tied(&self, setpriv: &Path) -> Result<()> {
        let log_path = self.config.data_dir.join("postgres.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| DbError::Embedded(format!("cannot open {}: {e}", log_path.display())))?;
        let mut cmd = std::process::Command::new(setpriv);
        cmd.args(["--pdeathsig", "INT"]);
        if let Some(user) = &self.run_as {
            chown(&log_path, user)?;
            cmd.arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .arg("--init-groups");
        }
        let err_log = log
            .try_clone()
            .map_err(|e| DbError::Embedded(format!("cannot open the log: {e}")))?;
        let child = cmd
            .arg("--")
            .arg(self.bindir.join("postgres"))
            .arg("-D")
            .arg(&self.config.data_dir)
            .arg("-p")
            .arg(self.config.port.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .map_err(|e| DbError::Embedded(format!("cannot run postgres: {e}")))?;
        *self.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let exited = self
                .child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(DbError::Embedded(format!(
                    "PostgreSQL did not start ({status}): {}",
                    self.log_tail()
                )));
            }
            if tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .is_ok()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DbError::Embedded(format!(
                    "PostgreSQL did not accept connections within 60 s: {}",
                    self.log_tail()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The pid of a postmaster that is running on this data directory, if one is: the first
    /// line of `postmaster.pid`, when that process exists and is a `postgres`.
    pub fn running_postmaster(&self) -> Option<u32> {
        let pid_file = std::fs::read_to_string(self.config.data_dir.join("postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        String::from_utf8_lossy(program)
            .contains("postgres")
            .then_some(pid)
    }

    /// Stops a postmaster left running on this data directory by an earlier run whose server
    /// died (fast shutdown: it rolls back what was in flight and checkpoints), and waits for it.
    pub async fn stop_leftover(&self) -> Result<()> {
        let Some(pid) = self.running_postmaster() else {
            return Ok(());
        };
        tracing::warn!(
            pid,
            data_dir = %self.config.data_dir.display(),
            "a PostgreSQL of an earlier run is still running on this data directory: stopping it"
        );
        let stopped = self.stop().await;
        // It may have finished shutting down by itself in the meantime.
        if self.running_postmaster().is_some() {
            return stopped;
        }
        Ok(())
    }

    /// Stops the cluster (fast shutdown: open transactions are rolled back).
    pub async fn stop(&self) -> Result<()> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.config.data_dir)
            .args(["-m", "fast", "-w", "-t", "30", "stop"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| DbError::Embedded(format!("cannot run pg_ctl: {e}")))?;
        if out.status.success() {
            if let Some(mut child) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() {
                // pg_ctl waited for the shutdown; this only reaps the process.
                let _ = child.wait();
            }
        }
        if !out.status.success() {
            return Err(DbError::Embedded(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    /// Stops the cluster from a synchronous context (test harness exit), ignoring failures.
    pub fn stop_blocking(&self) {
        let path = self.bindir.join("pg_ctl");
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = std::process::Command::new("runuser");
                c.arg("-u").arg(&user.name).arg("--").arg(path);
                c
            }
            None => std::process::Command::new(path),
        };
        let _ = cmd
            .arg("-D")
            .arg(&self.config.data_dir)
            .args(["-m", "immediate", "-w", "-t", "10", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn chown(path: &Path, user: &OsUser) -> Result<()> {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
        .map_err(|e| DbError::Embedded(format!("cannot chown {}: {e}", path.display())))
}

/// util-linux's `setpriv`, when it is installed and knows `--pdeathsig` (util-linux >= 2.33).
fn setpriv() -> Option<PathBuf> {
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .filter(|p| {
            std::process::Command::new(p)
                .arg("--help")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--pdeathsig"))
        })
}
