//! `GET`/`HEAD` on a relation (PostgREST's read plan): one statement that pages the rows,
//! counts them when asked, and aggregates them into the response body in PostgreSQL.

use axum::response::Response;
use bucketbase_grammar::SelectItem;
use bucketbase_sql::request_tx::Access;

use crate::error::Error;
use crate::media::Media;
use crate::prefer::Applied;
use crate::prefer::Count;
use crate::request::{
    content_range, response, run_read, run_statement, with_gucs, ApiRequest, GUC_COLUMNS,
};
use crate::schema_cache::{QualifiedName, Table};
use crate::select::{modifiers_by_path, NodeSql, SelectRenderer};
use crate::sql_text::{ident, SqlText};
use crate::State;
use bucketbase_sql::RequestTx;

/// The body expression over the rows of `pgrst_t` for `media`.
pub fn body_expr(media: Media) -> &'static str {
    match media {
        Media::Object { strip_nulls: false } => {
            "CASE WHEN count(*) = 1 THEN (json_agg(\"pgrst_t\")->0)::text END"
        }
        Media::Object { strip_nulls: true } => {
            "CASE WHEN count(*) = 1 THEN json_strip_nulls(json_agg(\"pgrst_t\")->0)::text END"
        }
        Media::Array { strip_nulls: true } => {
            "coalesce(json_strip_nulls(json_agg(\"pgrst_t\")), '[]')::text"
        }
        Media::Csv => {
            "(SELECT coalesce(string_agg(a.k, ','), '') FROM (SELECT json_object_keys(r) AS k FROM (SELECT row_to_json(hh) AS r FROM \"pgrst_source\" AS hh LIMIT 1) AS s) AS a) || chr(10) || coalesce(string_agg(substring(\"pgrst_t\"::text, 2, length(\"pgrst_t\"::text) - 2), chr(10)), '')"
        }
        _ => "coalesce(json_agg(\"pgrst_t\"), '[]')::text",
    }
}

/// Renders the select tree rooted at `origin` (rows referred to as `reference`), applying
/// `max_rows` to the root. Returns the node and whether anything needs counting.
pub fn render_root(
    req: &ApiRequest,
    sql: &mut SqlText,
    origin: &QualifiedName,
    table: Option<&Table>,
    reference: &str,
    max_rows: Option<i64>,
) -> Result<NodeSql, Error> {
    render_select(req, sql, origin, table, reference, max_rows, true)
}

/// As [`render_root`]; without `root_filters` the root's filters, logic and paging are left out
/// (a mutation's representation: those already chose the written rows).
pub fn render_select(
    req: &ApiRequest,
    sql: &mut SqlText,
    origin: &QualifiedName,
    table: Option<&Table>,
    reference: &str,
    max_rows: Option<i64>,
    root_filters: bool,
) -> Result<NodeSql, Error> {
    let star = [SelectItem::Star];
    let items: &[SelectItem] = req.query.select.as_deref().unwrap_or(&star);
    let mut mods = modifiers_by_path(&req.query);
    if !root_filters {
        if let Some(root) = mods.get_mut(&Vec::new()) {
            root.filters.clear();
            root.logic.clear();
            root.limit = None;
            root.offset = None;
        }
    }
    let mut renderer = SelectRenderer::new(&req.cache, sql, mods);
    let mut node = renderer.node(origin, table, reference, items, &Vec::new())?;
    renderer.check_all_used()?;
    if let Some(max) = max_rows {
        node.limit = Some(node.limit.map_or(max, |l| l.min(max)));
    }
    Ok(node)
}

/// Wraps a paged query into the statement returning (total, page, body); `ctes` are extra
/// common table expressions (`"name" AS (…), `) placed before the source.
pub fn wrap_read(node: &NodeSql, from: &str, ctes: &str, media: Media, count: bool) -> String {
    let paged = node.query(from, &[], true);
    let total = if count {
        let mut counting = NodeSql {
            select: vec!["1".into()],
            joins: node.joins.clone(),
            conds: node.conds.clone(),
            group_by: node.group_by.clone(),
            aggregated: node.aggregated,
            ..Default::default()
        };
        counting.order.clear();
        format!(
            "(SELECT count(*) FROM ({}) AS \"pgrst_c\")",
            counting.query(from, &[], false)
        )
    } else {
        "NULL::int8".to_string()
    };
    format!(
        "WITH {ctes}\"pgrst_source\" AS ({paged}) SELECT {total} AS total, count(*)::int8 AS page, {} AS body, {GUC_COLUMNS} FROM \"pgrst_source\" AS \"pgrst_t\"",
        body_expr(media)
    )
}

/// Answers a read: status, `Content-Range`, `Content-Location` (for relations), and the body
/// (none for HEAD).
pub fn read_response(
    req: &ApiRequest,
    outcome: crate::request::Outcome,
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
            return Err(
                Error::new(416, "PGRST103", "Requested range not satisfiable").details(format!(
                    "An offset of {offset} was requested, but there are only {total} rows."
                )),
            );
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
pub fn singular_error(rows: i64) -> Error {
    Error::new(
        406,
        "PGRST116",
        "Cannot coerce the result to a single JSON object",
    )
    .details(format!("The result contains {rows} rows"))
}

/// `GET`/`HEAD /table`.
pub async fn read(
    state: &State,
    req: ApiRequest,
    table: &Table,
    head: bool,
) -> Result<Response, Error> {
    let mut sql = SqlText::default();
    // An unqualified alias, so that computed relationships can take the row as argument.
    let reference = ident(&table.name.name);
    let from = format!("{} AS {reference}", table.name.sql());
    let node = render_root(
        &req,
        &mut sql,
        &table.name,
        Some(table),
        &reference,
        state.0.config.max_rows,
    )?;
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
pub async fn planned_count(
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
