//! The one environment reader. Services read Supabase's self-hosting names (`JWT_SECRET`,
//! `PGRST_DB_SCHEMAS`, GoTrue's names with or without `GOTRUE_`, …) through it: an empty value
//! counts as unset, values are trimmed, and a value of the wrong shape is an [`EnvError`] that
//! names the variable. Every name asked for is recorded, so the documented list of variables
//! (`docker/server-env.txt`) is checked against what the code actually reads.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A variable whose value does not have the shape its reader needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not {expected}")]
pub struct EnvError {
    /// The variable, as it was set.
    pub name: String,
    /// Its value.
    pub value: String,
    /// What it should have been ("a boolean: use true or false", "a number", …).
    pub expected: String,
}

struct Inner {
    vars: HashMap<String, String>,
    asked: Mutex<BTreeSet<String>>,
}

/// The variables, and an optional prefix tried before each name (GoTrue's `GOTRUE_`). Cheap
/// to clone; clones share the record of names asked for.
#[derive(Clone)]
pub struct Env {
    inner: Arc<Inner>,
    prefix: &'static str,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values hold secrets: only their count is shown.
        f.debug_struct("Env")
            .field("vars", &self.inner.vars.len())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Env {
    /// The reader over `vars`.
    pub fn new(vars: HashMap<String, String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                vars,
                asked: Mutex::new(BTreeSet::new()),
            }),
            prefix: "",
        }
    }

    /// The reader over `(name, value)` pairs (tests, and callers with a fixed set).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The reader over this process's environment.
    pub fn from_process() -> Self {
        Self::new(std::env::vars().collect())
    }

    /// The same variables, each name tried first with `prefix` in front (`GOTRUE_SMTP_HOST`,
    /// then `SMTP_HOST`).
    pub fn prefixed(&self, prefix: &'static str) -> Self {
        Self {
            inner: self.inner.clone(),
            prefix,
        }
    }

    /// Every name asked for so far (without prefixes), in order.
    pub fn names_asked(&self) -> Vec<String> {
        self.inner
            .asked
            .lock()
            .map(|a| a.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The first non-empty value among `names` (aliases, in order of preference), with the
    /// name it was found under.
    fn find(&self, names: &[&str]) -> Option<(String, &str)> {
        if let Ok(mut asked) = self.inner.asked.lock() {
            asked.extend(names.iter().map(|n| n.to_string()));
        }
        names.iter().find_map(|n| {
            let candidates = [format!("{}{n}", self.prefix), n.to_string()];
            candidates.into_iter().find_map(|name| {
                self.inner
                    .vars
                    .get(&name)
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    .map(|v| (name, v))
            })
        })
    }

    fn invalid(name: String, value: &str, expected: &str) -> EnvError {
        EnvError {
            name,
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    /// The first non-empty value among `names`.
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        self.find(names).map(|(_, v)| v)
    }

    /// A boolean (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`), or `None` when unset.
    pub fn flag(&self, names: &[&str]) -> Result<Option<bool>, EnvError> {
        match self.find(names) {
            None => Ok(None),
            Some((name, v)) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(Some(true)),
                "0" | "false" | "no" | "off" => Ok(Some(false)),
                _ => Err(Self::invalid(name, v, "a boolean: use true or false")),
            },
        }
    }

    /// A value parsed with `FromStr` (numbers, ports), or `None` when unset; `expected` says
    /// what it should be in the error.
    pub fn parsed<T: std::str::FromStr>(
        &self,
        names: &[&str],
        expected: &str,
    ) -> Result<Option<T>, EnvError> {
        match self.find(names) {
            None => Ok(None),
            Some((name, v)) => v
                .parse()
                .map(Some)
                .map_err(|_| Self::invalid(name, v, expected)),
        }
    }

    /// A number, or `default` when unset.
    pub fn number<T: std::str::FromStr>(&self, names: &[&str], default: T) -> Result<T, EnvError> {
        Ok(self.parsed(names, "a number")?.unwrap_or(default))
    }

    /// A positive whole number, or `default` when unset.
    pub fn positive(&self, names: &[&str], default: usize) -> Result<usize, EnvError> {
        match self.find(names) {
            None => Ok(default),
            Some((name, v)) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Self::invalid(name, v, "a positive number")),
        }
    }

    /// A Go-style duration (`90s`, `24h`, `1h30m`) or a number of seconds, or `None`.
    pub fn duration(&self, names: &[&str]) -> Result<Option<Duration>, EnvError> {
        match self.find(names) {
            None => Ok(None),
            Some((name, v)) => parse_duration(v)
                .map(Some)
                .ok_or_else(|| Self::invalid(name, v, "a duration (e.g. 60s, 24h)")),
        }
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn list(&self, names: &[&str]) -> Vec<String> {
        self.get(names)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The raw value and the name it was found under, for readers with a syntax of their own
    /// (they report errors with [`EnvError`] and that name).
    pub fn raw(&self, names: &[&str]) -> Option<(String, &str)> {
        self.find(names)
    }
}

/// Parses a Go-style duration (`90s`, `5m`, `24h`, `1h30m`, `250ms`) or a plain number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    (total.is_finite() && total < 1e15).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aliases_prefixes_and_typed_values_with_errors_that_name_the_variable() {
        let e = Env::from_pairs(&[
            ("GOTRUE_SMTP_PORT", "2525"),
            ("SMTP_PORT", "25"),
            ("PGRST_DB_POOL", "7"),
            ("FLAG", "maybe"),
            ("EMPTY", " "),
            ("LIST", "a, b,,c"),
        ]);
        let gotrue = e.prefixed("GOTRUE_");
        assert_eq!(gotrue.number(&["SMTP_PORT"], 587u16), Ok(2525));
        assert_eq!(e.number(&["SMTP_PORT"], 587u16), Ok(25));
        assert_eq!(
            e.positive(&["BUCKETBASE_DB_POOL", "PGRST_DB_POOL"], 8),
            Ok(7)
        );
        assert_eq!(e.get(&["EMPTY"]), None, "empty counts as unset");
        assert_eq!(e.list(&["LIST"]), vec!["a", "b", "c"]);
        let err = e.flag(&["FLAG"]).expect_err("not a boolean");
        assert_eq!(
            err.to_string(),
            "FLAG=\"maybe\" is not a boolean: use true or false"
        );
        let err = gotrue.positive(&["FLAG"], 1).expect_err("not a number");
        assert_eq!(err.name, "FLAG");
        assert!(e.names_asked().contains(&"BUCKETBASE_DB_POOL".to_string()));
        assert!(e.names_asked().contains(&"SMTP_PORT".to_string()));
    }

    #[test]
    fn durations_as_go_writes_them() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("12"), Some(Duration::from_secs(12)));
        for bad in ["-1", "5 parsecs", "h", "1e400"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
