//! The `Prefer` header as PostgREST's `ApiRequest/Preferences.hs` reads it: every `Prefer`
//! header, split on commas, first occurrence of each kind wins, unknown tokens ignored unless
//! `handling=strict` (then `PGRST122`).

use axum::http::HeaderMap;

use crate::error::Error;

/// `return=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    /// No body (the default for writes).
    Minimal,
    /// No body, but `Location` on inserts.
    HeadersOnly,
    /// The written rows.
    Representation,
}

/// `count=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// `COUNT(*)` of the filtered query.
    Exact,
    /// The planner's estimate.
    Planned,
    /// Exact up to `db-max-rows`, then planned.
    Estimated,
}

/// `resolution=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// `ON CONFLICT DO UPDATE`.
    MergeDuplicates,
    /// `ON CONFLICT DO NOTHING`.
    IgnoreDuplicates,
}

/// The preferences of one request.
#[derive(Debug, Clone, Default)]
pub struct Preferences {
    /// `return=`.
    pub return_: Option<Return>,
    /// `count=`.
    pub count: Option<Count>,
    /// `resolution=`.
    pub resolution: Option<Resolution>,
    /// `missing=default`.
    pub missing_default: bool,
    /// `handling=strict`.
    pub strict: bool,
    /// `tx=rollback` (honoured only when the server allows the override).
    pub tx_rollback: Option<bool>,
    /// `max-affected=n`.
    pub max_affected: Option<i64>,
    /// `timezone=…`.
    pub timezone: Option<String>,
    /// Tokens that were understood, in the order to echo them in `Preference-Applied`.
    applied: Vec<String>,
}

impl Preferences {
    /// Parses all `Prefer` headers.
    pub fn parse(headers: &HeaderMap) -> Result<Self, Error> {
        let mut p = Preferences::default();
        let mut invalid = Vec::new();
        let mut seen = Vec::new();
        for value in headers.get_all("prefer") {
            let Ok(value) = value.to_str() else { continue };
            for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let (key, val) = token.split_once('=').unwrap_or((token, ""));
                let key = key.trim();
                let val = val.trim();
                if seen.iter().any(|k: &String| k == key) {
                    continue;
                }
                let known = match (key, val) {
                    ("return", "minimal") => {
                        p.return_ = Some(Return::Minimal);
                        true
                    }
                    ("return", "headers-only") => {
                        p.return_ = Some(Return::HeadersOnly);
                        true
                    }
                    ("return", "representation") => {
                        p.return_ = Some(Return::Representation);
                        true
                    }
                    ("count", "exact") => {
                        p.count = Some(Count::Exact);
                        true
                    }
                    ("count", "planned") => {
                        p.count = Some(Count::Planned);
                        true
                    }
                    ("count", "estimated") => {
                        p.count = Some(Count::Estimated);
                        true
                    }
                    ("resolution", "merge-duplicates") => {
                        p.resolution = Some(Resolution::MergeDuplicates);
                        true
                    }
                    ("resolution", "ignore-duplicates") => {
                        p.resolution = Some(Resolution::IgnoreDuplicates);
                        true
                    }
                    ("missing", "default") => {
                        p.missing_default = true;
                        true
                    }
                    ("missing", "null") => true,
                    ("handling", "strict") => {
                        p.strict = true;
                        true
                    }
                    ("handling", "lenient") => true,
                    ("tx", "commit") => {
                        p.tx_rollback = Some(false);
                        true
                    }
                    ("tx", "rollback") => {
                        p.tx_rollback = Some(true);
                        true
                    }
                    ("max-affected", n) => match n.parse::<i64>() {
                        Ok(n) => {
                            p.max_affected = Some(n);
                            true
                        }
                        Err(_) => false,
                    },
                    ("timezone", tz) if !tz.is_empty() => {
                        p.timezone = Some(tz.to_string());
                        true
                    }
                    ("params", "single-object") => true,
                    _ => false,
                };
                match known {
                    true => {
                        seen.push(key.to_string());
                        p.applied.push(format!("{key}={val}"));
                    }
                    false => invalid.push(token.to_string()),
                }
            }
        }
        if p.strict && !invalid.is_empty() {
            return Err(Error::new(
                400,
                "PGRST122",
                "Invalid preferences given with handling=strict",
            )
            .details(format!("Invalid preferences: {}", invalid.join(", "))));
        }
        Ok(p)
    }

    /// The `Preference-Applied` value for the preferences the request honoured, given which of
    /// them apply to it.
    pub fn applied(&self, keep: impl Fn(&str) -> bool) -> Option<String> {
        let list: Vec<&str> = self
            .applied
            .iter()
            .map(String::as_str)
            .filter(|t| keep(t.split('=').next().unwrap_or_default()))
            .collect();
        (!list.is_empty()).then(|| list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(values: &[&str]) -> Result<Preferences, Error> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("prefer", v.parse().expect("header"));
        }
        Preferences::parse(&h)
    }

    #[test]
    fn reads_joined_and_repeated_headers_first_wins() {
        let p = prefs(&["count=exact, return=representation", "return=minimal"]).expect("prefs");
        assert_eq!(p.count, Some(Count::Exact));
        assert_eq!(p.return_, Some(Return::Representation));
        let p = prefs(&["count=exact,return=minimal"]).expect("prefs");
        assert_eq!(p.return_, Some(Return::Minimal));
    }

    #[test]
    fn strict_rejects_unknown() {
        assert!(prefs(&["foo=bar"]).is_ok());
        let e = prefs(&["handling=strict, foo=bar"]).expect_err("error");
        assert_eq!(e.code, "PGRST122");
        assert_eq!(
            e.details,
            Some(serde_json::json!("Invalid preferences: foo=bar"))
        );
    }

    #[test]
    fn max_affected() {
        let p = prefs(&["handling=strict, max-affected=3"]).expect("prefs");
        assert!(p.strict);
        assert_eq!(p.max_affected, Some(3));
    }
}
