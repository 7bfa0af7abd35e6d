//! What every `/rest/v1` request is turned into before any SQL: the caller (from the auth
//! extractor), the schema chosen by `Accept-Profile` / `Content-Profile` (PostgREST's
//! `ApiRequest.hs`), the parsed query string, the `Prefer` header, the negotiated media type,
//! and the settings the request transaction will apply.

use std::sync::Arc;

use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use bucketbase_auth::Caller;
use bucketbase_grammar::QueryParams;
use bucketbase_sql::request_tx::{Access, RequestContext};
use bucketbase_sql::RequestTx;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::media::{negotiate, Media};
use crate::prefer::Preferences;
use crate::schema::SchemaCache;
use crate::sql_text::SqlText;
use crate::State;

/// A parsed `/rest/v1` request.
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Who calls.
    pub caller: Caller,
    /// The selected schema.
    pub schema: String,
    /// The schema cache at the time of the request.
    pub cache: Arc<SchemaCache>,
    /// The parsed query string.
    pub query: QueryParams,
    /// The `Prefer` header.
    pub prefer: Preferences,
    /// The negotiated response media type.
    pub media: Media,
    /// Settings for the request transaction.
    pub ctx: RequestContext,
}

impl ApiRequest {
    /// Parses the parts every endpoint shares. `rpc_get` classifies non-operator query params as
    /// function arguments; `root` allows the OpenAPI media type.
    pub async fn parse(
        state: &State,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        rpc_get: bool,
        root: bool,
    ) -> Result<Self, Error> {
        let now = chrono_now();
        let caller = bucketbase_auth::authenticate(&state.0.keys, headers, now)
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
                    return Err(
                        Error::new(406, "PGRST106", format!("Invalid schema: {s}")).hint(format!(
                            "Only the following schemas are exposed: {}",
                            config.schemas.join(", ")
                        )),
                    );
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
                503,
                "PGRST002",
                "Could not query the database for the schema cache. Retrying.",
            )
            .header("retry-after", "1"));
        };
        let query = bucketbase_grammar::parse_query_string(uri.query().unwrap_or(""), rpc_get)
            .map_err(Error::parse)?;
        let prefer = Preferences::parse(headers)?;
        let accept = headers.get("accept").and_then(|v| v.to_str().ok());
        let media = negotiate(accept, root)?;
        if matches!(media, Media::Plan(_))
            && cache.settings.get("db_plan_enabled").map(String::as_str) != Some("true")
        {
            return Err(Error::new(
                406,
                "PGRST107",
                format!(
                    "None of these media types are available: {}",
                    accept.unwrap_or_default()
                ),
            ));
        }
        let mut search_path = vec![schema.clone()];
        // As PostgREST: the selected schema, then the extra search path, duplicates kept.
        search_path.extend(config.extra_search_path.iter().cloned());
        let ctx = RequestContext {
            role: caller.role.clone(),
            claims: caller.claims.clone(),
            method: method.to_string(),
            path: uri.path().to_string(),
            headers: headers_json(headers),
            search_path: search_path
                .iter()
                .map(|s| crate::sql_text::ident(s))
                .collect::<Vec<_>>()
                .join(", "),
        };
        Ok(Self {
            method: method.clone(),
            caller,
            schema,
            cache,
            query,
            prefer,
            media,
            ctx,
        })
    }

    /// True when the caller is the anon role (42501 maps to 401 then).
    pub fn is_anon(&self, state: &State) -> bool {
        self.caller.role == state.0.config.anon_role
    }

    /// Opens the request transaction.
    pub async fn begin(&self, state: &State, access: Access) -> Result<RequestTx, Error> {
        RequestTx::begin(&state.0.db.request, self.ctx.clone(), access)
            .await
            .map_err(|e| Error::db(&e, self.is_anon(state)))
    }
}

/// The result row every generated statement returns: total count, page count, body.
pub struct Outcome {
    /// `count=exact` total (or None).
    pub total: Option<i64>,
    /// Rows in this response.
    pub page: i64,
    /// The JSON (or CSV) text PostgreSQL built.
    pub body: Option<String>,
    /// Extra text column (Location values, insert flags) when the statement has one.
    pub extra: Option<String>,
}

/// Runs `sql` in `tx` and reads its one result row.
pub async fn run_statement(
    tx: &mut RequestTx,
    sql: &SqlText,
    anon: bool,
) -> Result<Outcome, Error> {
    let rows = tx
        .query(&sql.sql, &sql.param_refs())
        .await
        .map_err(|e| Error::db(&e, anon))?;
    outcome(rows)
}

/// Runs a read-only `sql` and commits in the same round trip.
pub async fn run_read(tx: RequestTx, sql: &SqlText, anon: bool) -> Result<Outcome, Error> {
    let rows = tx
        .query_and_commit(&sql.sql, &sql.param_refs())
        .await
        .map_err(|e| Error::db(&e, anon))?;
    outcome(rows)
}

fn outcome(rows: Vec<bucketbase_sql::tokio_postgres::Row>) -> Result<Outcome, Error> {
    let Some(row) = rows.first() else {
        return Err(Error::internal("statement returned no row"));
    };
    Ok(Outcome {
        total: row.try_get(0).map_err(Error::internal)?,
        page: row.try_get(1).map_err(Error::internal)?,
        body: row.try_get(2).map_err(Error::internal)?,
        extra: if row.len() > 3 {
            row.try_get(3).map_err(Error::internal)?
        } else {
            None
        },
    })
}

/// `request.headers`: lower-cased names, cookies excluded.
fn headers_json(headers: &HeaderMap) -> String {
    let mut map = Map::new();
    for (name, value) in headers {
        if name == "cookie" {
            continue;
        }
        if let Ok(v) = value.to_str() {
            map.insert(name.as_str().to_string(), Value::String(v.to_string()));
        }
    }
    Value::Object(map).to_string()
}

/// Seconds since the epoch.
pub fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `Content-Range` as PostgREST's `contentRangeH`.
pub fn content_range(lower: i64, upper: i64, total: Option<i64>) -> String {
    let range = if lower <= upper {
        format!("{lower}-{upper}")
    } else {
        "*".to_string()
    };
    let total = total.map_or("*".to_string(), |t| t.to_string());
    format!("{range}/{total}")
}

/// A response with PostgREST's headers.
pub fn response(
    status: u16,
    media: Media,
    schema: &str,
    body: Option<String>,
    headers: Vec<(&'static str, String)>,
) -> Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = match body {
        Some(b) => (status, b).into_response(),
        None => status.into_response(),
    };
    let h = res.headers_mut();
    if let Ok(v) = media.content_type().parse() {
        h.insert("content-type", v);
    }
    if let Ok(v) = schema.parse() {
        h.insert("content-profile", v);
    }
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            h.insert(k, v);
        }
    }
    res
}
