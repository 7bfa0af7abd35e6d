//! Passwords, as GoTrue's `crypto.GenerateFromPassword` / `CompareHashAndPassword` and
//! `checkPasswordStrength` (`internal/api/password.go`), with one difference: new hashes are
//! Argon2id (PHC string, m=19456 KiB, t=2, p=1, the `argon2` crate's defaults = OWASP's
//! recommendation) instead of bcrypt. bcrypt hashes (`$2a$`/`$2b$`/`$2y$`, what a Supabase dump
//! holds) still verify and are upgraded on the next successful sign-in.
//!
//! Hashing runs on a dedicated pool of `BUCKETBASE_AUTH_HASH_THREADS` threads (default: the CPU
//! count) at a lower scheduling priority (nice [`HASH_NICE`]): a burst of sign-ins uses every
//! idle core, yet the async runtime and Postgres preempt it, so requests that do not hash keep
//! their latency.

use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{oneshot, OnceCell};

use crate::error::{code, Error, Result};

/// bcrypt's limit, which GoTrue enforces for every password.
pub(crate) const MAX_PASSWORD_LENGTH: usize = 72;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// A new hash to store (the old one is bcrypt or has other parameters).
    pub rehash: Option<String>,
}

/// The nice value of the hashing threads (0 is normal, 19 the lowest priority).
pub(crate) const HASH_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// Computes and verifies password hashes on its own low-priority threads, off the async runtime.
/// The threads end when the last clone is dropped.
#[derive(Clone)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
    threads: usize,
    dummy: Arc<OnceCell<String>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("threads", &self.threads)
            .finish()
    }
}

/// One hashing thread: lowers its own priority, then runs jobs until the senders are gone.
fn hash_worker(jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    // Best effort: without the permission the thread simply keeps the normal priority.
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASH_NICE);
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes `password` with Argon2id (blocking).
pub(crate) fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2: {e}")))
}

/// Checks `password` against `hash` (Argon2 PHC or bcrypt), blocking.
pub(crate) fn verify_blocking(password: &str, hash: &str) -> Verified {
    if hash.starts_with("$argon2") {
        let ok = PasswordHash::new(hash)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        return Verified { ok, rehash: None };
    }
    if hash.starts_with("$2") {
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        // Upgrade imported bcrypt hashes on a successful sign-in.
        let rehash = if ok {
            hash_blocking(password).ok()
        } else {
            None
        };
        return Verified { ok, rehash };
    }
    Verified {
        ok: false,
        rehash: None,
    }
}

/// True when `hash` is a password hash this service can verify (for admin `password_hash`).
pub(crate) fn is_supported_hash(hash: &str) -> bool {
    (hash.starts_with("$argon2") && PasswordHash::new(hash).is_ok())
        || (hash.starts_with("$2") && hash.len() == 60)
}

impl Hasher {
    /// A hasher running at most `threads` hashes at once, on as many dedicated threads.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("auth-hash-{i}"))
                .spawn(move || hash_worker(rx));
            if let Err(e) = spawned {
                tracing::error!("auth: cannot start a password hashing thread: {e}");
            }
        }
        Self {
            jobs,
            threads,
            dummy: Arc::new(OnceCell::new()),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| Error::internal("password hasher closed"))?;
        rx.await
            .map_err(|_| Error::internal("password hashing thread failed"))
    }

    /// Hashes `password`.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_string();
        self.run(move || hash_blocking(&password)).await?
    }

    /// Verifies `password` against `hash`; with no hash (unknown user), verifies against a dummy
    /// hash so the answer takes as long as for a real user.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<Verified> {
        let (hash, real) = match hash.filter(|h| !h.is_empty()) {
            Some(h) => (h.to_string(), true),
            None => (self.dummy_hash().await?, false),
        };
        let password = password.to_string();
        let v = self.run(move || verify_blocking(&password, &hash)).await?;
        Ok(if real {
            v
        } else {
            Verified {
                ok: false,
                rehash: None,
            }
        })
    }

    async fn dummy_hash(&self) -> Result<String> {
        let this = self.clone();
        self.dummy
            .get_or_try_init(|| async move {
                this.run(|| hash_blocking("bucketbase-timing-equalizer"))
                    .await?
            })
            .await
            .cloned()
    }
}

/// GoTrue's password policy: at most 72 bytes (400), at least `min_length`, one character of each
/// required set (422 `weak_password` with reasons).
pub(crate) fn check_strength(password: &str, min_length: usize, required: &[String]) -> Result<()> {
    if password.len() > MAX_PASSWORD_LENGTH {
        return Err(Error::bad_request(
            code::VALIDATION_FAILED,
            format!("Password cannot be longer than {MAX_PASSWORD_LENGTH} characters"),
        ));
    }
    let mut reasons = Vec::new();
    let mut messages = Vec::new();
    if password.chars().count() < min_length {
        reasons.push("length");
        messages.push(format!(
            "Password should be at least {min_length} characters."
        ));
    }
    if required
        .iter()
        .any(|set| !set.is_empty() && !password.chars().any(|c| set.contains(c)))
    {
        reasons.push("characters");
        messages.push(format!(
            "Password should contain at least one character of each: {}.",
            required.join(", ")
        ));
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Error::weak_password(messages.join(" "), reasons))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip() {
        let h = hash_blocking("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking("correct horse", &h).ok);
        assert!(!verify_blocking("wrong", &h).ok);
        assert!(verify_blocking("correct horse", &h).rehash.is_none());
    }

    #[test]
    fn bcrypt_verifies_and_asks_for_an_upgrade() {
        let h = bcrypt::hash("imported", 4).expect("bcrypt");
        let v = verify_blocking("imported", &h);
        assert!(v.ok);
        assert!(v
            .rehash
            .as_deref()
            .is_some_and(|r| r.starts_with("$argon2id$")));
        assert!(!verify_blocking("nope", &h).ok);
        assert!(is_supported_hash(&h));
        assert!(!is_supported_hash("plain"));
    }

    #[tokio::test]
    async fn the_pool_hashes_and_verifies_concurrently() {
        let hasher = Hasher::new(2);
        let (a, b) = tokio::join!(hasher.hash("one-secret"), hasher.hash("two-secret"));
        let (a, b) = (a.expect("hash"), b.expect("hash"));
        assert!(
            hasher
                .verify("one-secret", Some(&a))
                .await
                .expect("verify")
                .ok
        );
        assert!(
            !hasher
                .verify("one-secret", Some(&b))
                .await
                .expect("verify")
                .ok
        );
        assert!(!hasher.verify("x", None).await.expect("dummy").ok);
    }

    #[test]
    fn strength_reasons() {
        assert!(check_strength("abcdef", 6, &[]).is_ok());
        let e = check_strength("abc", 6, &[]).expect_err("short");
        assert_eq!(e.code(), "weak_password");
        let e = check_strength("abcdefgh", 6, &["0123456789".into()]).expect_err("digits");
        assert_eq!(e.to_api().reasons, vec!["characters"]);
        let e = check_strength(&"x".repeat(73), 6, &[]).expect_err("long");
        assert_eq!(e.code(), "validation_failed");
    }
}
