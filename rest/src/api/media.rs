//! Content negotiation as PostgREST's `MediaType.hs`: the `Accept` header (with q-factors,
//! `*/*` meaning JSON) picks JSON, a single object (`application/vnd.pgrst.object+json`),
//! CSV, GeoJSON (`application/geo+json`, PostgREST's builtin `BuiltinOvAggGeoJson` handler) or
//! the OpenAPI document; anything else is `406 PGRST107`.

use crate::error::{Error, ErrorCode};

/// The response representation a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// `application/json` (and `*/*`).
    Json,
    /// `application/vnd.pgrst.array+json` (optionally with stripped nulls).
    Array {
        /// `;nulls=stripped`.
        strip_nulls: bool,
    },
    /// `application/vnd.pgrst.object+json`.
    Object {
        /// `;nulls=stripped`.
        strip_nulls: bool,
    },
    /// `text/csv`.
    Csv,
    /// `application/geo+json`: a `FeatureCollection` of the rows, built by PostGIS'
    /// `ST_AsGeoJSON(record)` (which needs a geometry or geography column).
    GeoJson,
    /// `application/openapi+json` (root only).
    OpenApi,
    /// `application/vnd.pgrst.plan[+text|+json]`: the `EXPLAIN` of the request's statement
    /// (only with `db-plan-enabled`).
    Plan(PlanOptions),
}

/// The `EXPLAIN` options of a plan media type (`options=analyze|verbose|…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PlanOptions {
    /// `+json` rather than `+text`.
    pub(crate) json: bool,
    /// `analyze`.
    pub(crate) analyze: bool,
    /// `verbose`.
    pub(crate) verbose: bool,
    /// `settings`.
    pub(crate) settings: bool,
    /// `buffers`.
    pub(crate) buffers: bool,
    /// `wal`.
    pub(crate) wal: bool,
}

impl PlanOptions {
    /// The `EXPLAIN (…)` option list.
    pub(crate) fn explain_options(self) -> String {
        let mut opts = vec![if self.json {
            "FORMAT JSON"
        } else {
            "FORMAT TEXT"
        }];
        for (on, name) in [
            (self.analyze, "ANALYZE"),
            (self.verbose, "VERBOSE"),
            (self.settings, "SETTINGS"),
            (self.buffers, "BUFFERS"),
            (self.wal, "WAL"),
        ] {
            if on {
                opts.push(name);
            }
        }
        opts.join(", ")
    }
}

impl Media {
    /// The `Content-Type` of the response.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json; charset=utf-8",
            Media::Array { .. } => "application/vnd.pgrst.array+json; charset=utf-8",
            Media::Object { .. } => "application/vnd.pgrst.object+json; charset=utf-8",
            Media::Csv => "text/csv; charset=utf-8",
            Media::GeoJson => "application/geo+json; charset=utf-8",
            Media::OpenApi => "application/openapi+json; charset=utf-8",
            Media::Plan(PlanOptions { json: true, .. }) => {
                "application/vnd.pgrst.plan+json; for=\"application/json\"; charset=utf-8"
            }
            Media::Plan(_) => {
                "application/vnd.pgrst.plan+text; for=\"application/json\"; charset=utf-8"
            }
        }
    }

    /// True when exactly one row is required.
    pub(crate) fn is_object(self) -> bool {
        matches!(self, Media::Object { .. })
    }

    /// True when nulls are stripped from objects.
    pub(crate) fn strip_nulls(self) -> bool {
        matches!(
            self,
            Media::Object { strip_nulls: true } | Media::Array { strip_nulls: true }
        )
    }
}

/// Picks the response media type for `accept` (None ≡ `*/*`); `root` allows OpenAPI.
pub(crate) fn negotiate(accept: Option<&str>, root: bool) -> Result<Media, Error> {
    let accept = accept
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("*/*");
    // A plan media type carries `for="…"` and `options=a|b` parameters (with commas inside
    // quotes), so it is recognised before splitting on commas.
    let lower = accept.to_ascii_lowercase();
    if lower.starts_with("application/vnd.pgrst.plan") && !root {
        let json = lower.starts_with("application/vnd.pgrst.plan+json");
        let options = lower
            .split(';')
            .find_map(|p| p.trim().strip_prefix("options="))
            .unwrap_or("");
        let has = |o: &str| options.split('|').any(|x| x.trim() == o);
        return Ok(Media::Plan(PlanOptions {
            json,
            analyze: has("analyze"),
            verbose: has("verbose"),
            settings: has("settings"),
            buffers: has("buffers"),
            wal: has("wal"),
        }));
    }
    let mut ranges: Vec<(f32, usize, &str)> = accept
        .split(',')
        .enumerate()
        .map(|(i, part)| {
            let q = part
                .split(';')
                .skip(1)
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                .unwrap_or(1.0);
            (q, i, part.trim())
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (q, _, range) in ranges {
        if q <= 0.0 {
            continue;
        }
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let strip = parts.any(|p| p.eq_ignore_ascii_case("nulls=stripped"));
        let media = match essence.as_str() {
            "*/*" | "application/*" => Some(if root { Media::OpenApi } else { Media::Json }),
            "application/json" => Some(if root { Media::OpenApi } else { Media::Json }),
            "application/openapi+json" if root => Some(Media::OpenApi),
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" if !root => {
                Some(Media::Object { strip_nulls: strip })
            }
            "application/vnd.pgrst.array+json" | "application/vnd.pgrst.array" if !root => {
                Some(Media::Array { strip_nulls: strip })
            }
            "text/csv" if !root => Some(Media::Csv),
            "application/geo+json" if !root => Some(Media::GeoJson),
            _ => None,
        };
        if let Some(m) = media {
            return Ok(m);
        }
    }
    Err(Error::new(
        ErrorCode::MediaTypeNotAvailable,
        format!("None of these media types are available: {accept}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates() {
        assert_eq!(negotiate(None, false).expect("json"), Media::Json);
        assert_eq!(
            negotiate(Some("application/vnd.pgrst.object+json"), false).expect("object"),
            Media::Object { strip_nulls: false }
        );
        assert_eq!(
            negotiate(
                Some("application/vnd.pgrst.array+json;nulls=stripped"),
                false
            )
            .expect("array"),
            Media::Array { strip_nulls: true }
        );
        assert_eq!(negotiate(Some("text/csv"), false).expect("csv"), Media::Csv);
        assert_eq!(
            negotiate(Some("application/geo+json"), false).expect("geojson"),
            Media::GeoJson
        );
        assert!(negotiate(Some("application/geo+json"), true).is_err());
        assert_eq!(
            negotiate(Some("text/html, */*;q=0.1"), false).expect("json"),
            Media::Json
        );
        let e = negotiate(Some("text/html"), false).expect_err("406");
        assert_eq!(e.code, "PGRST107");
        assert_eq!(
            negotiate(Some("application/openapi+json"), true).expect("root"),
            Media::OpenApi
        );
    }
}
