//! The `Prefer` header as PostgREST's `ApiRequest/Preferences.hs` reads it: every `Prefer`
//! header, split on commas, first occurrence of each kind wins, unknown tokens ignored unless
//! `handling=strict` (then `PGRST122`).

use std::collections::HashSet;

use axum::http::HeaderMap;

use crate::error::{Error, ErrorCode};

/// `return=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Return {
    /// No body (the default for writes).
    Minimal,
    /// No body, but `Location` on inserts.
    HeadersOnly,
    /// The written rows.
    Representation,
}

/// `count=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    /// `COUNT(*)` of the filtered query.
    Exact,
    /// The planner's estimate.
    Planned,
    /// Exact up to `db-max-rows`, then planned.
    Estimated,
}

/// `resolution=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// `ON CONFLICT DO UPDATE`.
    MergeDuplicates,
    /// `ON CONFLICT DO NOTHING`.
    IgnoreDuplicates,
}

/// The preferences of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preferences {
    /// `return=`.
    pub(crate) return_: Option<Return>,
    /// `count=`.
    pub(crate) count: Option<Count>,
    /// `resolution=`.
    pub(crate) resolution: Option<Resolution>,
    /// `missing=default` (true) or `missing=null` (false).
    pub(crate) missing: Option<bool>,
    /// `missing=default`.
    pub(crate) missing_default: bool,
    /// `params=single-object`.
    pub(crate) single_object: bool,
    /// `handling=strict` (true) or `handling=lenient` (false).
    pub(crate) handling: Option<bool>,
    /// `handling=strict`.
    pub(crate) strict: bool,
    /// `tx=rollback` (true) or `tx=commit` (false); only when the server allows the override.
    pub(crate) tx_rollback: Option<bool>,
    /// `max-affected=n`.
    pub(crate) max_affected: Option<i64>,
    /// `timezone=…`, only when it names a zone of `pg_timezone_names`.
    pub(crate) timezone: Option<String>,
}

/// Which preferences a kind of response echoes in `Preference-Applied` (PostgREST's
/// `Response.hs` builds a different subset for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// GET/HEAD on a relation.
    Read,
    /// POST; `resolution` only counts when the relation has a key or `on_conflict` is given.
    Create {
        /// Echo `resolution=`.
        resolution: bool,
    },
    /// PATCH.
    Update,
    /// PUT.
    SingleUpsert,
    /// DELETE.
    Delete,
    /// `/rpc/…`.
    Call,
}

impl Preferences {
    /// Parses all `Prefer` headers as PostgREST's `fromHeaders`: each kind takes the first
    /// token that names one of its values; `timezone=` counts only for a zone in `timezones`;
    /// `tx=` only when `allow_tx` (the `db-tx-end` override). Unknown tokens are ignored unless
    /// `handling=strict` (then `PGRST122`).
    pub(crate) fn parse(
        headers: &HeaderMap,
        timezones: &HashSet<String>,
        allow_tx: bool,
    ) -> Result<Self, Error> {
        let mut tokens: Vec<&str> = Vec::new();
        for value in headers.get_all("prefer") {
            let Ok(value) = value.to_str() else { continue };
            tokens.extend(value.split(',').map(str::trim).filter(|t| !t.is_empty()));
        }
        let mut p = Preferences::default();
        let mut invalid = Vec::new();
        // PostgREST reads the first `timezone=` token only; a later valid one does not count.
        let timezone = tokens
            .iter()
            .find_map(|t| t.strip_prefix("timezone="))
            .filter(|tz| timezones.contains(*tz));
        p.timezone = timezone.map(str::to_string);
        p.max_affected = tokens
            .iter()
            .find_map(|t| t.strip_prefix("max-affected="))
            .and_then(|n| n.parse::<i64>().ok());
        for token in &tokens {
            let known = match *token {
                "return=minimal" => set(&mut p.return_, Return::Minimal),
                "return=headers-only" => set(&mut p.return_, Return::HeadersOnly),
                "return=representation" => set(&mut p.return_, Return::Representation),
                "count=exact" => set(&mut p.count, Count::Exact),
                "count=planned" => set(&mut p.count, Count::Planned),
                "count=estimated" => set(&mut p.count, Count::Estimated),
                "resolution=merge-duplicates" => {
                    set(&mut p.resolution, Resolution::MergeDuplicates)
                }
                "resolution=ignore-duplicates" => {
                    set(&mut p.resolution, Resolution::IgnoreDuplicates)
                }
                "missing=default" => set(&mut p.missing, true),
                "missing=null" => set(&mut p.missing, false),
                "handling=strict" => set(&mut p.handling, true),
                "handling=lenient" => set(&mut p.handling, false),
                // Without the override `tx=` is known but not honoured.
                "tx=commit" | "tx=rollback" => {
                    if allow_tx {
                        set(&mut p.tx_rollback, *token == "tx=rollback");
                    }
                    true
                }
                "params=single-object" => {
                    p.single_object = true;
                    true
                }
                t if t.starts_with("max-affected=") => true,
                t if t.starts_with("timezone=") => timezone.is_some(),
                _ => false,
            };
            if !known {
                invalid.push(token.to_string());
            }
        }
        p.missing_default = p.missing == Some(true);
        p.strict = p.handling == Some(true);
        if p.strict && !invalid.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidPreferences,
                "Invalid preferences given with handling=strict",
            )
            .details(format!("Invalid preferences: {}", invalid.join(", "))));
        }
        Ok(p)
    }

    /// The `Preference-Applied` value of a response of kind `kind`, in PostgREST's order
    /// (`prefAppliedHeader`).
    pub(crate) fn applied(&self, kind: Applied) -> Option<String> {
        let resolution = matches!(kind, Applied::Create { resolution: true });
        let representation = !matches!(kind, Applied::Read | Applied::Call);
        let missing = matches!(kind, Applied::Create { .. } | Applied::Update);
        let max_affected = matches!(kind, Applied::Update | Applied::Delete | Applied::Call);
        let mut list: Vec<String> = Vec::new();
        if let (true, Some(r)) = (resolution, self.resolution) {
            list.push(
                match r {
                    Resolution::MergeDuplicates => "resolution=merge-duplicates",
                    Resolution::IgnoreDuplicates => "resolution=ignore-duplicates",
                }
                .into(),
            );
        }
        if let (true, Some(m)) = (missing, self.missing) {
            list.push(if m { "missing=default" } else { "missing=null" }.into());
        }
        if let (true, Some(r)) = (representation, self.return_) {
            list.push(
                match r {
                    Return::Minimal => "return=minimal",
                    Return::HeadersOnly => "return=headers-only",
                    Return::Representation => "return=representation",
                }
                .into(),
            );
        }
        if let Some(c) = self.count {
            list.push(
                match c {
                    Count::Exact => "count=exact",
                    Count::Planned => "count=planned",
                    Count::Estimated => "count=estimated",
                }
                .into(),
            );
        }
        if let Some(rollback) = self.tx_rollback {
            list.push(if rollback { "tx=rollback" } else { "tx=commit" }.into());
        }
        if let Some(strict) = self.handling {
            list.push(
                if strict {
                    "handling=strict"
                } else {
                    "handling=lenient"
                }
                .into(),
            );
        }
        if let Some(tz) = &self.timezone {
            list.push(format!("timezone={tz}"));
        }
        if let (true, true, Some(n)) = (max_affected, self.strict, self.max_affected) {
            list.push(format!("max-affected={n}"));
        }
        (!list.is_empty()).then(|| list.join(", "))
    }
}

/// Sets a preference unless an earlier token already did; always a known token.
fn set<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_none() {
        *slot = Some(value);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(values: &[&str]) -> Result<Preferences, Error> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("prefer", v.parse().expect("header"));
        }
        let zones: HashSet<String> = ["America/Los_Angeles".to_string()].into();
        Preferences::parse(&h, &zones, true)
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
    fn timezone_must_be_known() {
        let p = prefs(&["timezone=America/Los_Angeles"]).expect("prefs");
        assert_eq!(p.timezone.as_deref(), Some("America/Los_Angeles"));
        let p = prefs(&["timezone=Mars/Olympus"]).expect("lenient");
        assert_eq!(p.timezone, None);
        let e = prefs(&["handling=strict, timezone=Mars/Olympus"]).expect_err("strict");
        assert_eq!(
            e.details,
            Some(serde_json::json!(
                "Invalid preferences: timezone=Mars/Olympus"
            ))
        );
    }

    #[test]
    fn applied_follows_postgrest_order_and_scope() {
        let p = prefs(&[
            "count=exact, return=representation, resolution=merge-duplicates, missing=default, tx=rollback, handling=strict, max-affected=5, timezone=America/Los_Angeles",
        ])
        .expect("prefs");
        assert_eq!(
            p.applied(Applied::Create { resolution: true }).as_deref(),
            Some("resolution=merge-duplicates, missing=default, return=representation, count=exact, tx=rollback, handling=strict, timezone=America/Los_Angeles")
        );
        assert_eq!(
            p.applied(Applied::Read).as_deref(),
            Some("count=exact, tx=rollback, handling=strict, timezone=America/Los_Angeles")
        );
        assert_eq!(
            p.applied(Applied::Delete).as_deref(),
            Some("return=representation, count=exact, tx=rollback, handling=strict, timezone=America/Los_Angeles, max-affected=5")
        );
        assert_eq!(prefs(&["foo"]).expect("none").applied(Applied::Read), None);
    }

    #[test]
    fn max_affected() {
        let p = prefs(&["handling=strict, max-affected=3"]).expect("prefs");
        assert!(p.strict);
        assert_eq!(p.max_affected, Some(3));
    }
}
