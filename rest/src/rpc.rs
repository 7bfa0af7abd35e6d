//! `/rpc/{function}` as PostgREST's call plan: overload resolution by argument names
//! (`PGRST202`/`PGRST203`), arguments bound once as JSON and expanded by `jsonb_to_record` into
//! the declared parameter types, read-only transactions for GET and for STABLE/IMMUTABLE
//! functions, and the result shaped as scalar, object, array or nothing (`void` → 204).

use axum::http::HeaderMap;
use axum::response::Response;
use bucketbase_sql::request_tx::Access;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::media::Media;
use crate::prefer::Count;
use crate::read::{read_response, render_root, singular_error, wrap_read};
use crate::request::{response, run_read, run_statement, ApiRequest};
use crate::schema::{Function, QualifiedName, ReturnShape};
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
    let qname = QualifiedName::new(&req.schema, name);
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
            if !essence.is_empty() && essence != "application/json" {
                return Err(Error::body(format!("Content-Type not acceptable: {ct}")));
            }
        }
        let text = std::str::from_utf8(body).map_err(|_| Error::body("Empty or invalid json"))?;
        if text.trim().is_empty() {
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
    let function = resolve(&req, &qname, &keys, raw_body.is_some())?;
    let single_json_arg = function.arguments.len() == 1
        && function.arguments[0].name.is_empty()
        && matches!(function.arguments[0].data_type.as_str(), "json" | "jsonb");

    let mut sql = SqlText::default();
    let call_args = if single_json_arg {
        let p = sql.bind(
            raw_body
                .clone()
                .unwrap_or_else(|| Value::Object(args.clone()).to_string()),
        );
        format!("{p}::{}", function.arguments[0].data_type)
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
                "WITH {args_cte}\"pgrst_none\" AS (SELECT 1) SELECT NULL::int8, 1::int8, coalesce(to_json({call_sql})::text, 'null') FROM \"pgrst_args\""
            );
            let outcome = execute(state, &req, access, &sql, anon).await?;
            if function.returns == ReturnShape::Void {
                return Ok(response(204, req.media, &req.schema, None, vec![]));
            }
            let body = outcome.body.unwrap_or_else(|| "null".into());
            Ok(response(
                200,
                if req.media.is_object() {
                    Media::Json
                } else {
                    req.media
                },
                &req.schema,
                (!head).then_some(body),
                vec![("content-range", "0-0/*".to_string())],
            ))
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
            read_response(&req, outcome, node.offset.unwrap_or(0), head)
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
                return Ok(response(
                    200,
                    if req.media.is_object() {
                        req.media
                    } else {
                        Media::Json
                    },
                    &req.schema,
                    (!head).then_some(body),
                    vec![("content-range", "0-0/*".to_string())],
                ));
            }
            read_response(&req, outcome, node.offset.unwrap_or(0), head)
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
    if access == Access::ReadOnly {
        return run_read(tx, sql, anon).await;
    }
    let outcome = run_statement(&mut tx, sql, anon).await?;
    let rollback = state.0.config.allow_tx_override && req.prefer.tx_rollback == Some(true);
    if rollback {
        tx.rollback().await.map_err(|e| Error::db(&e, anon))?;
    } else {
        tx.commit().await.map_err(|e| Error::db(&e, anon))?;
    }
    Ok(outcome)
}

/// Picks the overload whose named arguments fit `keys`.
fn resolve<'c>(
    req: &'c ApiRequest,
    name: &QualifiedName,
    keys: &[String],
    has_body: bool,
) -> Result<&'c Function, Error> {
    let overloads: &[Function] = req
        .cache
        .functions
        .get(name)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let fits = |f: &&Function| {
        f.arguments.iter().all(|a| !a.name.is_empty())
            && f.arguments
                .iter()
                .all(|a| !a.required || keys.contains(&a.name))
            && keys
                .iter()
                .all(|k| f.arguments.iter().any(|a| &a.name == k))
    };
    let mut found: Vec<&Function> = overloads.iter().filter(fits).collect();
    if found.is_empty() && has_body {
        found = overloads
            .iter()
            .filter(|f| {
                f.arguments.len() == 1
                    && f.arguments[0].name.is_empty()
                    && matches!(f.arguments[0].data_type.as_str(), "json" | "jsonb")
            })
            .collect();
    }
    match found.len() {
        1 => Ok(found[0]),
        0 => {
            let list = keys.join(", ");
            let message = if keys.is_empty() {
                format!("Could not find the function {name} without parameters in the schema cache")
            } else {
                format!("Could not find the function {name}({list}) in the schema cache")
            };
            let details = if keys.is_empty() {
                format!("Searched for the function {name} without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.")
            } else {
                format!("Searched for the function {name} with parameters {list} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.")
            };
            let mut err = Error::new(404, "PGRST202", message).details(details);
            if let Some(similar) = overloads.first() {
                let params: Vec<&str> = similar.arguments.iter().map(|a| a.name.as_str()).collect();
                err = err.hint(format!(
                    "Perhaps you meant to call the function {}({})",
                    similar.name,
                    params.join(", ")
                ));
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
