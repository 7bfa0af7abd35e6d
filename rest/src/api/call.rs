//! `/rpc/{function}` as PostgREST's call path (`App.hs` `handleInvoke`, `Response.hs`
//! `invokeResponse`): the arguments from the body (by `Content-Type`) or the query string,
//! plan, render, a read-only transaction for GET and for STABLE/IMMUTABLE functions, and the
//! result shaped as scalar, object, array or nothing (`void` → 204).

use axum::http::HeaderMap;
use axum::response::Response;
use bucketbase_sql::request_tx::Access;
use serde_json::{Map, Value};

use super::execute::{run_read, run_statement, Outcome};
use super::media::Media;
use super::prefer::{Applied, Count};
use super::read::{read_response, singular_error};
use super::request::ApiRequest;
use super::response::{response, with_gucs};
use crate::error::{Error, ErrorCode};
use crate::plan::call::{plan_call, BodyKind, CallArgs, CallRequest, CallResult};
use crate::render::call::call_statement;
use crate::render::sql_text::SqlText;
use crate::schema_cache::QualifiedName;
use crate::State;

/// Calls `name` with the request's arguments.
pub(crate) async fn call(
    state: &State,
    req: ApiRequest,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Error> {
    let is_get = matches!(
        req.method,
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if matches!(req.media, Media::Plan(_)) {
        return Err(Error::new(
            ErrorCode::MediaTypeNotAvailable,
            "None of these media types are available: application/vnd.pgrst.plan",
        ));
    }
    let qname = QualifiedName::new(&req.schema, name);
    let mut body_kind = BodyKind::Json;
    // Arguments: the JSON body for POST, the non-filter query params for GET.
    let (args, raw_body): (Map<String, Value>, Option<String>) = if is_get {
        let mut map = Map::new();
        for (k, v) in &req.query.rpc_args {
            match map.get_mut(k) {
                Some(Value::Array(list)) => list.push(Value::String(v.clone())),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(v.clone())]);
                }
                None => {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        (map, None)
    } else {
        if let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok()) {
            let essence = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match essence.as_str() {
                "" | "application/json" | "*/*" => {}
                "text/plain" => body_kind = BodyKind::Text,
                "text/xml" => body_kind = BodyKind::Xml,
                "application/octet-stream" => body_kind = BodyKind::Bytes,
                _ => return Err(Error::body(format!("Content-Type not acceptable: {ct}"))),
            }
        }
        let text = std::str::from_utf8(body).map_err(|_| Error::body("Empty or invalid json"))?;
        if body_kind != BodyKind::Json {
            (Map::new(), Some(text.to_string()))
        } else if text.trim().is_empty() {
            (Map::new(), Some("{}".to_string()))
        } else {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(o)) => (o, Some(text.to_string())),
                Ok(_) => (Map::new(), Some(text.to_string())),
                Err(_) => return Err(Error::body("Empty or invalid json")),
            }
        }
    };
    let planning = CallRequest {
        cache: &req.cache,
        query: &req.query,
        prefer: &req.prefer,
        media: req.media,
        max_rows: state.0.config.max_rows,
    };
    let args = CallArgs {
        named: args,
        raw_body,
        body_kind: (!is_get).then_some(body_kind),
    };
    let plan = plan_call(&planning, &qname, args)?;
    let access = if plan.read_only {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let anon = req.is_anon(state);
    let head = req.method == axum::http::Method::HEAD;
    let count = req
        .prefer
        .count
        .is_some_and(|c| matches!(c, Count::Exact | Count::Planned | Count::Estimated));
    let (sql, node) = call_statement(&plan, req.media, count);
    let offset = node.and_then(|n| n.offset).unwrap_or(0);
    let outcome = execute(state, &req, access, &sql, anon).await?;
    match plan.result {
        CallResult::Value => {
            if plan.function.returns == crate::schema_cache::ReturnShape::Void {
                return with_gucs(
                    response(204, req.media, &req.schema, None, call_headers(&req, None)),
                    &outcome.gucs,
                );
            }
            let body = outcome.body.unwrap_or_else(|| "null".into());
            with_gucs(
                response(
                    200,
                    if req.media.is_object() {
                        Media::Json
                    } else {
                        req.media
                    },
                    &req.schema,
                    (!head).then_some(body),
                    call_headers(&req, Some(single_range(count))),
                ),
                &outcome.gucs,
            )
        }
        CallResult::Scalars(_) => {
            if req.media.is_object() && outcome.page != 1 {
                return Err(singular_error(outcome.page));
            }
            read_response(&req, outcome, offset, head, None)
        }
        CallResult::Rows { single: true, .. } => {
            if req.media.is_object() && outcome.page != 1 {
                return Err(singular_error(outcome.page));
            }
            let body = outcome.body.unwrap_or_else(|| "null".into());
            with_gucs(
                response(
                    200,
                    if req.media.is_object() || req.media == Media::GeoJson {
                        req.media
                    } else {
                        Media::Json
                    },
                    &req.schema,
                    (!head).then_some(body),
                    call_headers(&req, Some(single_range(count))),
                ),
                &outcome.gucs,
            )
        }
        CallResult::Rows { single: false, .. } => read_response(&req, outcome, offset, head, None),
    }
}

async fn execute(
    state: &State,
    req: &ApiRequest,
    access: Access,
    sql: &SqlText,
    anon: bool,
) -> Result<Outcome, Error> {
    let mut tx = req.begin(state, access).await?;
    if access == Access::ReadOnly && req.prefer.max_affected.is_none() {
        return run_read(tx, sql, anon).await;
    }
    let outcome = run_statement(&mut tx, sql, anon).await?;
    if let (true, Some(max)) = (req.prefer.strict, req.prefer.max_affected) {
        if outcome.page > max {
            let _ = tx.rollback().await;
            return Err(Error::new(
                ErrorCode::MaxAffected,
                "Query result exceeds max-affected preference constraint",
            )
            .details(format!("The query affects {} rows", outcome.page)));
        }
    }
    let rollback = state.0.config.allow_tx_override && req.prefer.tx_rollback == Some(true);
    if rollback {
        tx.rollback().await.map_err(|e| Error::db(&e, anon))?;
    } else {
        tx.commit().await.map_err(|e| Error::db(&e, anon))?;
    }
    Ok(outcome)
}

/// `Content-Range` (when given) and `Preference-Applied` of a call.
fn call_headers(req: &ApiRequest, range: Option<String>) -> Vec<(&'static str, String)> {
    let mut headers: Vec<(&'static str, String)> =
        range.map(|r| ("content-range", r)).into_iter().collect();
    if let Some(applied) = req.prefer.applied(Applied::Call) {
        headers.push(("preference-applied", applied));
    }
    headers
}

/// `Content-Range` of a single-value result: one row, counted when asked.
fn single_range(count: bool) -> String {
    if count { "0-0/1" } else { "0-0/*" }.to_string()
}
