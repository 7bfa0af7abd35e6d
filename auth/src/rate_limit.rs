//! GoTrue's request rate limits (`internal/api/apilimiter`, tollbooth token buckets keyed by the
//! client IP) and its instance-wide limit on outgoing mail (`RATE_LIMIT_EMAIL_SENT`).
//! The IP is the value of `GOTRUE_RATE_LIMIT_HEADER` when configured (first entry of a list, as
//! upstream), else the peer address (GoTrue applies no IP limit without the header; Bucketbase
//! faces clients directly, so it limits by peer address instead).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::Rate;
use crate::error::{code, Error, Result};

/// The limited endpoint families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `/token`.
    Token,
    /// `/verify`.
    Verify,
    /// `/otp`. This and the five below share `RATE_LIMIT_OTP`, each with its own buckets (GoTrue
    /// builds one limiter per endpoint with `newLimiterPer5mOver1h`).
    Otp,
    /// `/magiclink`.
    MagicLink,
    /// `/recover`.
    Recover,
    /// `/resend`.
    Resend,
    /// `/signup` (with an email or phone).
    Signup,
    /// `PUT /user`.
    User,
    /// Anonymous sign-ins.
    Anonymous,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, rate: &Rate, now: Instant) -> bool {
        let per_sec = if rate.per > 0.0 {
            rate.events / rate.per
        } else {
            f64::INFINITY
        };
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(rate.burst.max(1.0));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Rate {
    /// How long an untouched bucket takes to fill up again: after that it answers exactly as a
    /// new one, so it can be forgotten.
    fn refill_secs(&self) -> f64 {
        if self.per > 0.0 && self.events > 0.0 {
            self.burst.max(1.0) * self.per / self.events
        } else {
            0.0
        }
    }
}

/// Buckets are swept once there are this many.
const SWEEP_ABOVE: usize = 100_000;

/// At most one sweep this often (seconds), so that many live clients never make every request
/// walk the whole table.
const SWEEP_EVERY_SECS: u64 = 10;

/// Every client's buckets, per endpoint family.
#[derive(Debug)]
struct Buckets {
    by_limit: HashMap<Limit, HashMap<String, Bucket>>,
    swept: Instant,
}

impl Buckets {
    /// Forgets the buckets that have filled up again (tollbooth's expirable buckets), when there
    /// are many and the last sweep is old enough.
    fn sweep(&mut self, rates: &HashMap<Limit, Rate>, now: Instant) {
        if now.saturating_duration_since(self.swept).as_secs() < SWEEP_EVERY_SECS
            || self.len() <= SWEEP_ABOVE
        {
            return;
        }
        self.swept = now;
        for (limit, buckets) in &mut self.by_limit {
            let refill = rates.get(limit).map_or(0.0, Rate::refill_secs);
            buckets.retain(|_, b| now.saturating_duration_since(b.at).as_secs_f64() < refill);
        }
    }

    /// Buckets held, across endpoint families.
    fn len(&self) -> usize {
        self.by_limit.values().map(HashMap::len).sum()
    }
}

/// The limiter state shared by all requests.
#[derive(Debug, Clone)]
pub struct Limiter {
    rates: Arc<HashMap<Limit, Rate>>,
    email: Rate,
    buckets: Arc<Mutex<Buckets>>,
    email_bucket: Arc<Mutex<Option<Bucket>>>,
}

impl Limiter {
    /// A limiter with the configured rates.
    pub fn new(limits: &crate::config::RateLimits) -> Self {
        let rates = HashMap::from([
            (Limit::Token, limits.token),
            (Limit::Verify, limits.verify),
            (Limit::Otp, limits.otp),
            (Limit::MagicLink, limits.otp),
            (Limit::Recover, limits.otp),
            (Limit::Resend, limits.otp),
            (Limit::Signup, limits.otp),
            (Limit::User, limits.otp),
            (Limit::Anonymous, limits.anonymous),
        ]);
        Self {
            rates: Arc::new(rates),
            email: limits.email_sent,
            buckets: Arc::new(Mutex::new(Buckets {
                by_limit: HashMap::new(),
                swept: Instant::now(),
            })),
            email_bucket: Arc::new(Mutex::new(None)),
        }
    }

    /// Takes one request of `limit` for client `key`; 429 `over_request_rate_limit` when empty.
    pub fn check(&self, limit: Limit, key: &str) -> Result<()> {
        let Some(rate) = self.rates.get(&limit) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| Error::internal("rate limiter poisoned"))?;
        buckets.sweep(&self.rates, now);
        let per_client = buckets.by_limit.entry(limit).or_default();
        // A known client costs no allocation; a new one gets a full bucket.
        let allowed = match per_client.get_mut(key) {
            Some(bucket) => bucket.take(rate, now),
            None => {
                let mut bucket = Bucket {
                    tokens: rate.burst.max(1.0),
                    at: now,
                };
                let allowed = bucket.take(rate, now);
                per_client.insert(key.to_string(), bucket);
                allowed
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::too_many(
                code::OVER_REQUEST_RATE_LIMIT,
                "Request rate limit reached",
            ))
        }
    }

    /// Takes one outgoing mail from the instance-wide budget; 429 `over_email_send_rate_limit`.
    pub fn check_email(&self) -> Result<()> {
        if self.email.events <= 0.0 {
            return Err(email_limit());
        }
        let now = Instant::now();
        let mut slot = self
            .email_bucket
            .lock()
            .map_err(|_| Error::internal("rate limiter poisoned"))?;
        let bucket = slot.get_or_insert(Bucket {
            tokens: self.email.burst.max(1.0),
            at: now,
        });
        if bucket.take(&self.email, now) {
            Ok(())
        } else {
            Err(email_limit())
        }
    }
}

fn email_limit() -> Error {
    Error::too_many(
        code::OVER_EMAIL_SEND_RATE_LIMIT,
        "email rate limit exceeded",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RateLimits;

    fn limits(burst: f64) -> RateLimits {
        let r = Rate {
            events: 1.0,
            per: 3600.0,
            burst,
        };
        RateLimits {
            header: None,
            token: r,
            verify: r,
            otp: r,
            anonymous: r,
            email_sent: Rate {
                events: 2.0,
                per: 3600.0,
                burst: 2.0,
            },
        }
    }

    #[test]
    fn bursts_then_refuses_per_client() {
        let l = Limiter::new(&limits(3.0));
        for _ in 0..3 {
            assert!(l.check(Limit::Token, "1.2.3.4").is_ok());
        }
        let e = l.check(Limit::Token, "1.2.3.4").expect_err("limited");
        assert_eq!(e.code(), "over_request_rate_limit");
        assert!(l.check(Limit::Token, "5.6.7.8").is_ok());
        assert!(l.check(Limit::Verify, "1.2.3.4").is_ok());
    }

    #[test]
    fn endpoints_sharing_the_otp_rate_keep_their_own_buckets() {
        let l = Limiter::new(&limits(2.0));
        for _ in 0..2 {
            assert!(l.check(Limit::Signup, "1.2.3.4").is_ok());
        }
        assert!(l.check(Limit::Signup, "1.2.3.4").is_err());
        for limit in [
            Limit::Otp,
            Limit::MagicLink,
            Limit::Recover,
            Limit::Resend,
            Limit::User,
        ] {
            assert!(l.check(limit, "1.2.3.4").is_ok(), "{limit:?}");
        }
    }

    #[test]
    fn sweeps_forget_only_refilled_buckets_and_not_on_every_request() {
        let l = Limiter::new(&limits(2.0));
        let mut b = l.buckets.lock().expect("lock");
        let start = Instant::now();
        let clients = b.by_limit.entry(Limit::Token).or_default();
        // 1 event per hour, burst 2: a bucket refills in two hours.
        for i in 0..=SWEEP_ABOVE {
            clients.insert(
                format!("10.{i}"),
                Bucket {
                    tokens: 0.0,
                    at: start,
                },
            );
        }
        clients.insert(
            "fresh".into(),
            Bucket {
                tokens: 0.0,
                at: start + std::time::Duration::from_secs(7000),
            },
        );
        b.swept = start;
        let rates = l.rates.clone();
        // Too soon after the last sweep: nothing is walked.
        b.sweep(&rates, start + std::time::Duration::from_secs(1));
        assert_eq!(b.len(), SWEEP_ABOVE + 2);
        // Two hours on, every bucket but the one touched at 7000 s has refilled.
        b.sweep(&rates, start + std::time::Duration::from_secs(7300));
        assert_eq!(b.len(), 1);
        assert!(b.by_limit[&Limit::Token].contains_key("fresh"));
    }

    #[test]
    fn email_budget_is_global() {
        let l = Limiter::new(&limits(3.0));
        assert!(l.check_email().is_ok());
        assert!(l.check_email().is_ok());
        assert_eq!(
            l.check_email().expect_err("limited").code(),
            "over_email_send_rate_limit"
        );
    }
}
