//! `/rpc/{function}` as PostgREST's call plan: overload resolution by argument names
//! (`PGRST202`/`PGRST203`), arguments bound once as JSON and expanded by `jsonb_to_record` into
//! the declared parameter types, read-only transactions for GET and for STABLE/IMMUTABLE
//! functions, and the result shaped as scalar, object, array or nothing (`void` → 204).

use axum::http::HeaderMap;
use axum::response::Response;
use bucketbase_sql::request_tx::Access;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::fuzzy::{FuzzySet, DEFAULT_MIN_SCORE, NAME_MIN_SCORE};
use crate::media::Media;
use crate::prefer::Applied;
use crate::prefer::Count;
use crate::read::{read_response, render_root, singular_error, wrap_read};
use crate::request::{response, run_read, run_statement, with_gucs, ApiRequest, GUC_COLUMNS};
use crate::schema_cache::{Function, QualifiedName, ReturnShape};
use crate::sql_text::{ident, is_safe_type_name, SqlText};
use crate::State;

/// Calls `name` with the request's arguments.
pub async fn call(
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
    if matches!(req.media, crate::media::Media::Plan(_)) {
        return Err(Error::new(
            406,
            "PGRST107",
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
    let keys: Vec<String> = match &req.query.columns {
        Some(cols) if !is_get => cols.clone(),
        _ => args.keys().cloned().collect(),
    };
    let function = resolve(&req, &qname, &keys, (!is_get).then_some(body_kind))?;
    if req.prefer.strict
        && req.prefer.max_affected.is_some()
        && !matches!(
            function.returns,
            ReturnShape::SetOfScalar | ReturnShape::SetOfComposite { .. }
        )
    {
        return Err(Error::new(
            400,
            "PGRST128",
            "Function must return SETOF or TABLE when max-affected preference is used with handling=strict",
        ));
    }
    // One unnamed parameter takes the whole body (PostgREST's `OnePosParam`).
    let single_unnamed = function.arguments.len() == 1 && function.arguments[0].name.is_empty();

    let mut sql = SqlText::default();
    let call_args = if single_unnamed {
        let ty = &function.arguments[0].data_type;
        if !is_safe_type_name(ty) {
            return Err(Error::internal(format!("unexpected type name {ty}")));
        }
        let p = sql.bind(
            raw_body
                .clone()
                .unwrap_or_else(|| Value::Object(args.clone()).to_string()),
        );
        format!("{p}::{ty}")
    } else {
        let mut parts = Vec::new();
        for a in &function.arguments {
            if !keys.contains(&a.name) {
                continue;
            }
            let variadic = if a.variadic { "VARIADIC " } else { "" };
            parts.push(format!(
                "{} := {variadic}\"pgrst_args\".{}",
                ident(&a.name),
                ident(&a.name)
            ));
        }
        parts.join(", ")
    };
    let single_json_arg = single_unnamed;
    let record_cols: Vec<String> = function
        .arguments
        .iter()
        .filter(|a| keys.contains(&a.name) && !single_json_arg)
        .map(|a| {
            if is_safe_type_name(&a.data_type) {
                Ok(format!("{} {}", ident(&a.name), a.data_type))
            } else {
                Err(Error::internal(format!(
                    "unexpected type name {}",
                    a.data_type
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    let args_cte = if record_cols.is_empty() {
        "\"pgrst_args\" AS (SELECT 1), ".to_string()
    } else {
        let mut only: Map<String, Value> = Map::new();
        for k in &keys {
            only.insert(k.clone(), args.get(k).cloned().unwrap_or(Value::Null));
        }
        let p = sql.bind(Value::Object(only).to_string());
        format!(
            "\"pgrst_args\" AS (SELECT * FROM jsonb_to_record({p}::jsonb) AS \"pgrst_r\"({})), ",
            record_cols.join(", ")
        )
    };
    let call_sql = format!("{}({call_args})", function.name.sql());
    let access = if is_get || !function.is_volatile() {
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
    match &function.returns {
        ReturnShape::Void | ReturnShape::Scalar => {
            if req.media == Media::Csv {
                return Err(Error::new(
                    406,
                    "PGRST107",
                    "None of these media types are available: text/csv",
                ));
            }
            sql.sql = format!(
                "WITH {args_cte}\"pgrst_none\" AS (SELECT 1) SELECT NULL::int8, 1::int8, coalesce(to_json({call_sql})::text, 'null'), {GUC_COLUMNS} FROM \"pgrst_args\""
            );
            let outcome = execute(state, &req, access, &sql, anon).await?;
            if function.returns == ReturnShape::Void {
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
        ReturnShape::SetOfScalar => {
            let reference = "\"pgrst_scalar\"";
            let from = format!("\"pgrst_args\", LATERAL {call_sql} AS \"pgrst_scalar\"");
            let node = render_root(
                &req,
                &mut sql,
                &function.name,
                None,
                reference,
                state.0.config.max_rows,
            )?;
            let mut node = node;
            // A scalar set is its one column, not a row.
            node.select = vec![format!("{reference} AS \"{}\"", function.name.name)];
            let wrapped = wrap_read(&node, &from, &args_cte, Media::Json, count);
            sql.sql = wrapped.replacen(
                "coalesce(json_agg(\"pgrst_t\"), '[]')::text",
                &format!(
                    "coalesce(json_agg(\"pgrst_t\".\"{}\"), '[]')::text",
                    function.name.name
                ),
                1,
            );
            let outcome = execute(state, &req, access, &sql, anon).await?;
            if req.media.is_object() && outcome.page != 1 {
                return Err(singular_error(outcome.page));
            }
            read_response(&req, outcome, node.offset.unwrap_or(0), head, None)
        }
        ReturnShape::Composite { relation } | ReturnShape::SetOfComposite { relation } => {
            let table = relation.as_ref().and_then(|r| req.cache.tables.get(r));
            let origin = relation.clone().unwrap_or_else(|| function.name.clone());
            let reference = ident(&function.name.name);
            let from = format!("\"pgrst_args\", LATERAL {call_sql} AS {reference}");
            let node = render_root(
                &req,
                &mut sql,
                &origin,
                table,
                &reference,
                state.0.config.max_rows,
            )?;
            let single = matches!(function.returns, ReturnShape::Composite { .. });
            let media = if single && !req.media.is_object() && req.media != Media::Csv {
                Media::Object {
                    strip_nulls: req.media.strip_nulls(),
                }
            } else {
                req.media
            };
            sql.sql = wrap_read(&node, &from, &args_cte, media, count);
            let outcome = execute(state, &req, access, &sql, anon).await?;
            if single {
                if req.media.is_object() && outcome.page != 1 {
                    return Err(singular_error(outcome.page));
                }
                let body = outcome.body.unwrap_or_else(|| "null".into());
                return with_gucs(
                    response(
                        200,
                        if req.media.is_object() {
                            req.media
                        } else {
                            Media::Json
                        },
                        &req.schema,
                        (!head).then_some(body),
                        call_headers(&req, Some(single_range(count))),
                    ),
                    &outcome.gucs,
                );
            }
            read_response(&req, outcome, node.offset.unwrap_or(0), head, None)
        }
    }
}

async fn execute(
    state: &State,
    req: &ApiRequest,
    access: Access,
    sql: &SqlText,
    anon: bool,
) -> Result<crate::request::Outcome, Error> {
    let mut tx = req.begin(state, access).await?;
    if access == Access::ReadOnly && req.prefer.max_affected.is_none() {
        return run_read(tx, sql, anon).await;
    }
    let outcome = run_statement(&mut tx, sql, anon).await?;
    if let (true, Some(max)) = (req.prefer.strict, req.prefer.max_affected) {
        if outcome.page > max {
            let _ = tx.rollback().await;
            return Err(Error::new(
                400,
                "PGRST124",
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

/// How a POST body is to be read (its `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    /// `application/json`: named arguments, or one unnamed json/jsonb parameter.
    Json,
    /// `text/plain`: one unnamed text parameter.
    Text,
    /// `text/xml`: one unnamed xml parameter.
    Xml,
    /// `application/octet-stream`: one unnamed bytea parameter.
    Bytes,
}

/// PostgREST's `findProc`: the overload whose parameters match `keys` (all required ones
/// present, the rest optional; an unnamed parameter is named `""`), else a function with a
/// single unnamed parameter that takes the POST body as a whole.
fn resolve<'c>(
    req: &'c ApiRequest,
    name: &QualifiedName,
    keys: &[String],
    post: Option<BodyKind>,
) -> Result<&'c Function, Error> {
    let overloads: &[Function] = req
        .cache
        .functions
        .get(name)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let key_set: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let raw_body = matches!(post, Some(BodyKind::Text | BodyKind::Xml | BodyKind::Bytes));
    let matches_params = |f: &Function| {
        if f.arguments.is_empty() {
            return key_set.is_empty() && !raw_body;
        }
        let required: BTreeSet<&str> = f
            .arguments
            .iter()
            .filter(|a| a.required)
            .map(|a| a.name.as_str())
            .collect();
        let optional: BTreeSet<&str> = f
            .arguments
            .iter()
            .filter(|a| !a.required)
            .map(|a| a.name.as_str())
            .collect();
        if optional.is_empty() {
            key_set == required
        } else if required.is_empty() {
            key_set.is_subset(&optional)
        } else {
            key_set
                .difference(&optional)
                .copied()
                .collect::<BTreeSet<&str>>()
                == required
        }
    };
    let single_unnamed = |f: &Function| {
        let [a] = f.arguments.as_slice() else {
            return false;
        };
        a.name.is_empty()
            && matches!(
                (post, a.data_type.as_str()),
                (Some(BodyKind::Json), "json" | "jsonb")
                    | (Some(BodyKind::Text), "text")
                    | (Some(BodyKind::Xml), "xml")
                    | (Some(BodyKind::Bytes), "bytea")
            )
    };
    let mut matched = Vec::new();
    let mut fallback = Vec::new();
    for f in overloads {
        if matches_params(f) {
            matched.push(f);
        } else if single_unnamed(f) {
            fallback.push(f);
        }
    }
    let found = if matched.is_empty() {
        fallback
    } else {
        matched
    };
    match found.len() {
        1 => Ok(found[0]),
        0 => {
            let list = keys.join(", ");
            let func = name.to_string();
            let message = match (raw_body, keys.is_empty()) {
                (true, _) => format!("Could not find the function {func} in the schema cache"),
                (false, true) => {
                    format!(
                        "Could not find the function {func} without parameters in the schema cache"
                    )
                }
                (false, false) => {
                    format!("Could not find the function {func}({list}) in the schema cache")
                }
            };
            let params = if keys.is_empty() {
                " without parameters".to_string()
            } else {
                format!(
                    " with parameter{} {list}",
                    if keys.len() > 1 { "s" } else { "" }
                )
            };
            let searched = match post {
                Some(BodyKind::Text) => " with a single unnamed text parameter".to_string(),
                Some(BodyKind::Xml) => " with a single unnamed xml parameter".to_string(),
                Some(BodyKind::Bytes) => " with a single unnamed bytea parameter".to_string(),
                Some(BodyKind::Json) => {
                    format!("{params} or with a single unnamed json/jsonb parameter")
                }
                None => params,
            };
            let mut err = Error::new(404, "PGRST202", message).details(format!(
                "Searched for the function {func}{searched}, but no matches were found in the schema cache."
            ));
            if !raw_body {
                if let Some(hint) = no_rpc_hint(req, name, keys, overloads) {
                    err = err.hint(hint);
                }
            }
            Err(err)
        }
        _ => {
            let sigs: Vec<String> = found
                .iter()
                .map(|f| {
                    let args: Vec<String> = f
                        .arguments
                        .iter()
                        .map(|a| format!("{} => {}", a.name, a.data_type))
                        .collect();
                    format!("{}({})", f.name, args.join(", "))
                })
                .collect();
            Err(Error::new(
                300,
                "PGRST203",
                format!(
                    "Could not choose the best candidate function between: {}",
                    sigs.join(", ")
                ),
            )
            .hint("Try renaming the parameters or the function itself in the database so function overloading can be resolved"))
        }
    }
}

/// `noRpcHint`: a close function name when none is called so, else the closest parameter
/// list among the overloads.
fn no_rpc_hint(
    req: &ApiRequest,
    name: &QualifiedName,
    keys: &[String],
    overloads: &[Function],
) -> Option<String> {
    let prefix = format!("Perhaps you meant to call the function {}.", name.schema);
    if overloads.is_empty() {
        let names = req
            .cache
            .functions
            .keys()
            .filter(|k| k.schema == name.schema)
            .map(|k| k.name.as_str());
        let set = FuzzySet::new(names);
        let best = set.get_one(&name.name, NAME_MIN_SCORE)?;
        return Some(format!("{prefix}{best}"));
    }
    let list_text = |names: Vec<&str>| {
        let mut names = names;
        names.sort_unstable();
        format!("({})", names.join(", "))
    };
    let wanted = list_text(keys.iter().map(String::as_str).collect());
    let candidates: Vec<String> = overloads
        .iter()
        .map(|f| list_text(f.arguments.iter().map(|a| a.name.as_str()).collect()))
        .collect();
    let set = FuzzySet::new(candidates.iter().map(String::as_str));
    let best = set.get_one(&wanted, DEFAULT_MIN_SCORE)?;
    Some(format!("{prefix}{}{best}", name.name))
}
