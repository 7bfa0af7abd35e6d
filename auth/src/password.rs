//! Passwords, as GoTrue's `crypto.GenerateFromPassword` / `CompareHashAndPassword` and
//! `checkPasswordStrength` (`internal/api/password.go`), with one difference: new hashes are
//! Argon2id (PHC string, m=19456 KiB, t=2, p=1, the `argon2` crate's defaults = OWASP's
//! recommendation) instead of bcrypt. bcrypt hashes (`$2a$`/`$2b$`/`$2y$`, what a Supabase dump
//! holds) still verify and are upgraded on the next successful sign-in.
//!
//! Hashing runs on Tokio's blocking pool behind a semaphore sized to the CPU count, so a burst of
//! sign-ins never starves the async runtime.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{OnceCell, Semaphore};

use crate::error::{code, Error, Result};

/// bcrypt's limit, which GoTrue enforces for every password.
pub const MAX_PASSWORD_LENGTH: usize = 72;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// A new hash to store (the old one is bcrypt or has other parameters).
    pub rehash: Option<String>,
}

/// Computes and verifies password hashes off the async runtime.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    dummy: Arc<OnceCell<String>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("permits", &self.permits.available_permits())
            .finish()
    }
}

fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes `password` with Argon2id (blocking).
pub fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2: {e}")))
}

/// Checks `password` against `hash` (Argon2 PHC or bcrypt), blocking.
pub fn verify_blocking(password: &str, hash: &str) -> Verified {
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
pub fn is_supported_hash(hash: &str) -> bool {
    (hash.starts_with("$argon2") && PasswordHash::new(hash).is_ok())
        || (hash.starts_with("$2") && hash.len() == 60)
}

impl Hasher {
    /// A hasher running at most `threads` hashes at once.
    pub fn new(threads: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads.max(1))),
            dummy: Arc::new(OnceCell::new()),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::internal("password hasher closed"))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::internal(format!("password hashing task: {e}")))
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
pub fn check_strength(password: &str, min_length: usize, required: &[String]) -> Result<()> {
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
