//! What every `/rest/v1` request is turned into before any SQL: the caller (from the auth
//! extractor), the schema chosen by `Accept-Profile` / `Content-Profile` (PostgREST's
//! `ApiRequest.hs`), the parsed query string, the `Prefer` header, the negotiated media type,
//! and the settings the request transaction will apply.

use std::sync::Arc;

use axum::http::{HeaderMap, Method, Uri};
use bucketbase_caller::Caller;
use bucketbase_grammar::QueryParams;
use bucketbase_sql::request_tx::{Access, RequestContext};
use bucketbase_sql::RequestTx;

use crate::api::media::{negotiate, Media};
use crate::api::prefer::Preferences;
use crate::error::{Error, ErrorCode};
use crate::schema_cache::SchemaCache;
use crate::State;

/// A parsed `/rest/v1` request.
pub(crate) struct ApiRequest {
    /// HTTP method.
    pub(crate) method: Method,
    /// Who calls.
    pub(crate) caller: Caller,
    /// The selected schema.
    pub(crate) schema: String,
    /// The schema cache at the time of the request.
    pub(crate) cache: Arc<SchemaCache>,
    /// The parsed query string.
    pub(crate) query: QueryParams,
    /// The `Prefer` header.
    pub(crate) prefer: Preferences,
    /// The negotiated response media type.
    pub(crate) media: Media,
    /// Settings for the request transaction.
    pub(crate) ctx: RequestContext,
    /// The raw query string (made canonical only when a read answers with `Content-Location`).
    pub(crate) raw_query: String,
}

impl ApiRequest {
    /// Parses the parts every endpoint shares. `rpc_get` classifies non-operator query params as
    /// function arguments; `root` allows the OpenAPI media type.
    pub(crate) async fn parse(
        state: &State,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        rpc_get: bool,
        root: bool,
    ) -> Result<Self, Error> {
        let now = bucketbase_caller::now();
        let caller = bucketbase_caller::authenticate(&state.0.keys, headers, now)
            .map_err(|e| Error::key(&e))?;
        let config = &state.0.config;
        let profile_header = if matches!(*method, Method::GET | Method::HEAD) {
            "accept-profile"
        } else {
            "content-profile"
        };
        let schema = match headers.get(profile_header).and_then(|v| v.to_str().ok()) {
            Some(s) if !s.is_empty() => {
                if !config.schemas.iter().any(|x| x == s) {
                    return Err(Error::new(
                        ErrorCode::InvalidSchema,
                        format!("Invalid schema: {s}"),
                    )
                    .hint(format!(
                        "Only the following schemas are exposed: {}",
                        config.schemas.join(", ")
                    )));
                }
                s.to_string()
            }
            _ => config
                .schemas
                .first()
                .cloned()
                .unwrap_or_else(|| "public".into()),
        };
        let Some(cache) = state.cache().await else {
            return Err(Error::new(
                ErrorCode::SchemaCacheNotLoaded,
                "Could not query the database for the schema cache. Retrying.",
            )
            .header("retry-after", "1"));
        };
        let mut query = bucketbase_grammar::parse_query_string(uri.query().unwrap_or(""), rpc_get)
            .map_err(Error::parse)?;
        if *method == Method::GET {
            apply_range_header(&mut query, headers)?;
        }
        let prefer = Preferences::parse(headers, &cache.timezones, config.allow_tx_override)?;
        let accept = headers.get("accept").and_then(|v| v.to_str().ok());
        let media = negotiate(accept, root)?;
        if matches!(media, Media::Plan(_))
            && cache.settings.get("db_plan_enabled").map(String::as_str) != Some("true")
        {
            return Err(Error::new(
                ErrorCode::MediaTypeNotAvailable,
                format!(
                    "None of these media types are available: {}",
                    accept.unwrap_or_default()
                ),
            ));
        }
        let mut search_path = vec![schema.clone()];
        // As PostgREST: the selected schema, then the extra search path, duplicates kept.
        search_path.extend(config.extra_search_path.iter().cloned());
        let ctx = caller.request_context(
            method,
            uri.path(),
            headers,
            search_path
                .iter()
                .map(|s| crate::render::sql_text::ident(s))
                .collect::<Vec<_>>()
                .join(", "),
        );
        Ok(Self {
            method: method.clone(),
            caller,
            schema,
            cache,
            query,
            prefer,
            media,
            ctx,
            raw_query: uri.query().unwrap_or("").to_string(),
        })
    }

    /// True when the caller is the anon role (42501 maps to 401 then).
    pub(crate) fn is_anon(&self, state: &State) -> bool {
        self.caller.role == state.0.config.anon_role
    }

    /// Opens the request transaction. When the request has a `Prefer: timezone=` or the server
    /// a `db-pre-request` function, those run first (PostgREST's order: settings, timezone,
    /// pre-request, main statement); they share the first round trip with `BEGIN` and the
    /// settings, and the main statement follows in the next.
    pub(crate) async fn begin(&self, state: &State, access: Access) -> Result<RequestTx, Error> {
        let anon = self.is_anon(state);
        let mut tx = RequestTx::begin(&state.0.db.request, self.ctx.clone(), access)
            .await
            .map_err(|e| Error::db(&e, anon))?;
        if let Some(tz) = &self.prefer.timezone {
            tx.query("select set_config('timezone', $1, true)", &[tz])
                .await
                .map_err(|e| Error::db(&e, anon))?;
        }
        if let Some(function) = &state.0.config.pre_request {
            let name = function
                .split('.')
                .map(crate::render::sql_text::ident)
                .collect::<Vec<_>>()
                .join(".");
            tx.query(&format!("select {name}()"), &[])
                .await
                .map_err(|e| Error::db(&e, anon))?;
        }
        Ok(tx)
    }

    /// `Content-Location` of a read of `relation`.
    pub(crate) fn content_location(&self, relation: &str) -> String {
        let canonical = canonical_query(&self.raw_query);
        if canonical.is_empty() {
            format!("/{relation}")
        } else {
            format!("/{relation}?{canonical}")
        }
    }
}

/// Intersects the `Range` header (`first-last` or `first-`, PostgREST's `rangeParse`; anything
/// else means all rows) with the root `limit`/`offset`, as `getRanges` does for GET.
///
/// PostgREST computes ranges with unbounded integers and renders them into `LIMIT`/`OFFSET`,
/// where PostgreSQL rejects what does not fit a `bigint`; the arithmetic here is in `i128`
/// (header numbers are capped far above `i64::MAX` first) and answers that same 400.
fn apply_range_header(query: &mut QueryParams, headers: &HeaderMap) -> Result<(), Error> {
    let Some(header) = headers.get("range").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let Some((lower, upper)) = parse_range(header) else {
        return Ok(());
    };
    let root: bucketbase_grammar::EmbedPath = Vec::new();
    let limit = query
        .limit
        .iter()
        .rev()
        .find(|(p, _)| *p == root)
        .map(|x| i128::from(x.1));
    let offset = query
        .offset
        .iter()
        .rev()
        .find(|(p, _)| *p == root)
        .map_or(0, |x| i128::from(x.1));
    // `limit=0` bypasses the header: the empty page PostgREST answers with `[]`.
    if limit == Some(0) {
        return Ok(());
    }
    let header_empty = upper.is_some_and(|u| u < lower);
    let param_upper = limit.map(|l| offset + l - 1);
    let new_lower = lower.max(offset);
    let new_upper = match (upper, param_upper) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if header_empty || new_upper.is_some_and(|u| u < new_lower) {
        let details = if header_empty {
            "The lower boundary must be lower than or equal to the upper boundary in the Range header."
        } else {
            "Limit should be greater than or equal to zero."
        };
        return Err(Error::new(
            ErrorCode::RangeNotSatisfiable,
            "Requested range not satisfiable",
        )
        .details(details));
    }
    let bigint = |n: i128| i64::try_from(n).map_err(|_| bigint_out_of_range());
    let new_limit = new_upper.map(|u| bigint(u - new_lower + 1)).transpose()?;
    let new_offset = bigint(new_lower)?;
    query.offset.retain(|(p, _)| *p != root);
    query.limit.retain(|(p, _)| *p != root);
    query.offset.push((root.clone(), new_offset));
    if let Some(l) = new_limit {
        query.limit.push((root, l));
    }
    Ok(())
}

/// What PostgreSQL answers (and PostgREST passes on) for a `LIMIT`/`OFFSET` past `bigint`.
fn bigint_out_of_range() -> Error {
    Error::sqlstate("22003", "bigint out of range")
}

/// `^([0-9]+)-([0-9]*)$`: the first row and, when given, the last. Numbers too long for `i128`
/// are capped at 10^30, which is past every `bigint` and so still answers "out of range".
fn parse_range(header: &str) -> Option<(i128, Option<i128>)> {
    let (a, b) = header.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !(b.is_empty() || digits(b)) {
        return None;
    }
    const CAP: i128 = 1_000_000_000_000_000_000_000_000_000_000;
    let number = |s: &str| s.parse::<i128>().map_or(CAP, |n| n.min(CAP));
    let upper = (!b.is_empty()).then(|| number(b));
    Some((number(a), upper))
}

/// PostgREST's `qsCanonical`: the decoded parameters sorted by name (stable), values of a
/// repeated name joined with `,` (`urlEncodeVars`), everything but `A-Za-z0-9-_.~` escaped.
pub(crate) fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<String> = Vec::new();
    let mut done = vec![false; pairs.len()];
    for i in 0..pairs.len() {
        if done[i] {
            continue;
        }
        let mut values = vec![url_encode(&pairs[i].1)];
        for j in i + 1..pairs.len() {
            if !done[j] && pairs[j].0 == pairs[i].0 {
                done[j] = true;
                values.push(url_encode(&pairs[j].1));
            }
        }
        out.push(format!("{}={}", url_encode(&pairs[i].0), values.join(",")));
    }
    out.join("&")
}

/// `Network.HTTP.Base.urlEncode`: UTF-8 bytes, upper-case hex.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_query_sorts_encodes_and_joins() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("select=id,name&id=eq.1&order=id"),
            "id=eq.1&order=id&select=id%2Cname"
        );
        assert_eq!(canonical_query("b=2&a=x+y&b=1"), "a=x%20y&b=2,1");
    }

    #[test]
    fn range_header_grammar() {
        assert_eq!(parse_range("0-9"), Some((0, Some(9))));
        assert_eq!(parse_range("5-"), Some((5, None)));
        for bad in ["items=0-9", "-5", "a-b", "1-2-3", ""] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn range_header_intersects() {
        let mut q = QueryParams::default();
        let mut h = HeaderMap::new();
        h.insert("range", "2-".parse().expect("value"));
        q.limit.push((Vec::new(), 3));
        apply_range_header(&mut q, &h).expect("range");
        assert_eq!(q.offset, vec![(Vec::new(), 2)]);
        assert_eq!(q.limit, vec![(Vec::new(), 1)]);
        h.insert("range", "4-1".parse().expect("value"));
        let e = apply_range_header(&mut QueryParams::default(), &h).expect_err("416");
        assert_eq!((e.status.as_u16(), e.code.as_str()), (416, "PGRST103"));
    }

    #[test]
    fn range_header_numbers_past_bigint_answer_postgres_400() {
        // PostgREST renders `LIMIT 9223372036854775808`; PostgreSQL answers 22003.
        for header in [
            "0-9223372036854775807",
            "99999999999999999999-",
            "9223372036854775808-9223372036854775809",
            "0-999999999999999999999999999999999999999999999999",
        ] {
            let mut h = HeaderMap::new();
            h.insert("range", header.parse().expect("value"));
            let e = apply_range_header(&mut QueryParams::default(), &h).expect_err(header);
            assert_eq!(
                (e.status.as_u16(), e.code.as_str()),
                (400, "22003"),
                "{header}"
            );
        }
        // The largest range that fits is kept as it is.
        let mut q = QueryParams::default();
        let mut h = HeaderMap::new();
        h.insert("range", "1-9223372036854775807".parse().expect("value"));
        apply_range_header(&mut q, &h).expect("fits");
        assert_eq!(q.limit, vec![(Vec::new(), i64::MAX)]);
        // A huge upper bound intersected with a small limit fits again.
        let mut q = QueryParams::default();
        q.limit.push((Vec::new(), 5));
        h.insert("range", "0-99999999999999999999".parse().expect("value"));
        apply_range_header(&mut q, &h).expect("intersected");
        assert_eq!(q.limit, vec![(Vec::new(), 5)]);
    }
}
