//! `GET`/`HEAD` on a relation, as PostgREST's read path (`App.hs` `handleRead`, `Response.hs`
//! `readResponse`): plan, render, one statement that pages the rows, counts them when asked and
//! aggregates them into the body in PostgreSQL, then the status and range headers.

use axum::response::Response;
use bucketbase_sql::request_tx::Access;
use bucketbase_sql::RequestTx;

use super::execute::{run_read, run_statement, Outcome};
use super::media::Media;
use super::prefer::{Applied, Count};
use super::request::ApiRequest;
use super::response::{content_range, response, with_gucs};
use crate::error::{Error, ErrorCode};
use crate::plan::read::plan_read;
use crate::render::read::{wrap_read, NodeSql, ReadRenderer};
use crate::render::sql_text::{ident, SqlText};
use crate::schema_cache::Table;
use crate::State;

/// Answers a read: status, `Content-Range`, `Content-Location` (for relations), and the body
/// (none for HEAD).
pub(crate) fn read_response(
    req: &ApiRequest,
    outcome: Outcome,
    offset: i64,
    head: bool,
    location: Option<String>,
) -> Result<Response, Error> {
    if req.media.is_object() && outcome.page != 1 {
        return Err(singular_error(outcome.page));
    }
    let upper = offset.saturating_add(outcome.page) - 1;
    let mut status = 200;
    if let Some(total) = outcome.total {
        if offset > total && !(offset == 0 && total == 0) {
            return Err(Error::new(
                ErrorCode::RangeNotSatisfiable,
                "Requested range not satisfiable",
            )
            .details(format!(
                "An offset of {offset} was requested, but there are only {total} rows."
            )));
        }
        if outcome.page < total {
            status = 206;
        }
    }
    let mut headers = vec![("content-range", content_range(offset, upper, outcome.total))];
    let kind = if location.is_some() {
        Applied::Read
    } else {
        Applied::Call
    };
    if let Some(location) = location {
        headers.push(("content-location", location));
    }
    if let Some(applied) = req.prefer.applied(kind) {
        headers.push(("preference-applied", applied));
    }
    let body = if head {
        None
    } else {
        Some(outcome.body.unwrap_or_else(|| "[]".to_string()))
    };
    with_gucs(
        response(status, req.media, &req.schema, body, headers),
        &outcome.gucs,
    )
}

/// PGRST116: a single object was requested and the result has another number of rows.
pub(crate) fn singular_error(rows: i64) -> Error {
    Error::new(
        ErrorCode::SingularityError,
        "Cannot coerce the result to a single JSON object",
    )
    .details(format!("The result contains {rows} rows"))
}

/// `GET`/`HEAD /table`.
pub(crate) async fn read(
    state: &State,
    req: ApiRequest,
    table: &Table,
    head: bool,
) -> Result<Response, Error> {
    let mut sql = SqlText::default();
    // An unqualified alias, so that computed relationships can take the row as argument.
    let reference = ident(&table.name.name);
    let from = format!("{} AS {reference}", table.name.sql());
    let plan = plan_read(
        &req.cache,
        &req.query,
        &table.name,
        Some(table),
        state.0.config.max_rows,
        true,
    )?;
    let node = ReadRenderer { sql: &mut sql }.node(&plan, &reference);
    let count = req.prefer.count;
    sql.sql = wrap_read(&node, &from, "", req.media, count.is_some());
    let anon = req.is_anon(state);
    let mut tx = req.begin(state, Access::ReadOnly).await?;
    if let Media::Plan(options) = req.media {
        sql.sql = format!(
            "EXPLAIN ({}) {}",
            options.explain_options(),
            wrap_read(&node, &from, "", Media::Json, count.is_some())
        );
        let rows = tx
            .query(&sql.sql, &sql.param_refs())
            .await
            .map_err(|e| Error::db(&e, anon))?;
        let body = if options.json {
            let plan: Option<serde_json::Value> = rows.first().and_then(|r| r.try_get(0).ok());
            plan.map(|p| p.to_string()).unwrap_or_default()
        } else {
            rows.iter()
                .filter_map(|r| r.try_get::<_, String>(0).ok())
                .collect::<Vec<_>>()
                .join("\n")
        };
        tx.commit().await.map_err(|e| Error::db(&e, anon))?;
        return Ok(response(
            200,
            req.media,
            &req.schema,
            (!head).then_some(body),
            vec![],
        ));
    }
    if !matches!(count, Some(Count::Planned | Count::Estimated)) {
        // The common case: one round trip, committed with the statement.
        let outcome = run_read(tx, &sql, anon).await?;
        return read_response(
            &req,
            outcome,
            node.offset.unwrap_or(0),
            head,
            Some(req.content_location(&table.name.name)),
        );
    }
    let planned = match count {
        Some(Count::Planned) => Some(planned_count(&mut tx, &node, &from, "", &sql, anon).await?),
        _ => None,
    };
    let estimate_needed = count == Some(Count::Estimated);
    let mut outcome = run_statement(&mut tx, &sql, anon).await?;
    if let Some(p) = planned {
        outcome.total = Some(p);
    }
    if !estimate_needed {
        tx.commit().await.map_err(|e| Error::db(&e, anon))?;
    } else {
        // `estimated`: exact up to db-max-rows, the planner's estimate beyond.
        if let (Some(total), Some(max)) = (outcome.total, state.0.config.max_rows) {
            if total > max {
                outcome.total = Some(planned_count(&mut tx, &node, &from, "", &sql, anon).await?);
            }
        }
        tx.commit().await.map_err(|e| Error::db(&e, anon))?;
    }
    read_response(
        &req,
        outcome,
        node.offset.unwrap_or(0),
        head,
        Some(req.content_location(&table.name.name)),
    )
}

/// `count=planned`: the planner's row estimate for the unpaged query, read from `EXPLAIN`
/// as PostgREST does (every parameter stays referenced, so the statement prepares).
pub(crate) async fn planned_count(
    tx: &mut RequestTx,
    node: &NodeSql,
    from: &str,
    ctes: &str,
    sql: &SqlText,
    anon: bool,
) -> Result<i64, Error> {
    let mut unpaged = node.clone();
    unpaged.limit = None;
    unpaged.offset = None;
    let prefix = if ctes.is_empty() {
        String::new()
    } else {
        format!("WITH {}", ctes.trim_end().trim_end_matches(','))
    };
    let text = format!(
        "EXPLAIN (FORMAT JSON) {prefix} {}",
        unpaged.query(from, &[], true)
    );
    let rows = tx
        .query(&text, &sql.param_refs())
        .await
        .map_err(|e| Error::db(&e, anon))?;
    let plan: Option<serde_json::Value> = rows.first().and_then(|r| r.try_get(0).ok());
    Ok(plan
        .as_ref()
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("Plan"))
        .and_then(|p| p.get("Plan Rows"))
        .and_then(serde_json::Value::as_f64)
        .map_or(0, |n| n as i64))
}
