//! The embedded PostgreSQL cluster behind `bucketbase start` and the test harness, doing what the
//! Supabase CLI's database container does locally: a cluster with `wal_level=logical`, UTF8,
//! superuser `postgres`, on its own port. It uses the PostgreSQL binaries installed on the
//! machine (`pg_config --bindir`, then `/usr/lib/postgresql/*/bin`) and, when run as root,
//! runs them as the `postgres` OS user, since PostgreSQL refuses to run as root.

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
}

/// A PostgreSQL cluster on this machine, started by us.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    bindir: PathBuf,
    run_as: Option<OsUser>,
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

    /// Starts the cluster and waits until it accepts connections.
    pub async fn start(&self) -> Result<()> {
        if std::net::TcpListener::bind(("127.0.0.1", self.config.port)).is_err() {
            return Err(DbError::Embedded(format!(
                "port {} (the database port) is already in use: stop what uses it, or choose \
                 another --port (the database uses --port + 1)",
                self.config.port
            )));
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
            let tail = std::fs::read_to_string(&log)
                .map(|l| l.lines().rev().take(5).collect::<Vec<_>>().join(" | "))
                .unwrap_or_default();
            return Err(DbError::Embedded(format!(
                "PostgreSQL did not start: {} {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                tail
            )));
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
