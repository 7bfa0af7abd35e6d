//! `POST` (insert and upsert), `PATCH`, `PUT` and `DELETE` on a relation, as PostgREST's write
//! path (`App.hs` `handleCreate`/`handleUpdate`/`handleSingleUpsert`/`handleDelete`,
//! `Response.hs`): check the method against the relation, plan, render, run (checking
//! cardinality, `max-affected` and `tx=rollback` before the commit when needed), answer.

use axum::http::HeaderMap;
use axum::response::Response;
use bucketbase_sql::request_tx::Access;

use super::execute::{run_read, run_statement, Outcome};
use super::payload::payload_rows;
use super::prefer::{Applied, Return};
use super::read::singular_error;
use super::request::ApiRequest;
use super::response::{content_range, response, with_gucs};
use crate::error::{Error, ErrorCode};
use crate::plan::mutate::{
    check_single_upsert, plan_mutate, put_mismatch, MutatePlan, Write, WriteRequest,
};
use crate::render::mutate::mutate_statement;
use crate::schema_cache::Table;
use crate::State;

/// `INSERT`/upsert, `UPDATE` or `DELETE` with its response.
pub(crate) async fn write(
    state: &State,
    req: ApiRequest,
    table: &Table,
    kind: Write,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Error> {
    let allowed = match kind {
        Write::Insert => table.insertable,
        Write::Update => table.updatable,
        Write::Delete => table.deletable,
        Write::Upsert => table.insertable && table.updatable,
    };
    if matches!(req.media, super::media::Media::Plan(_)) {
        return Err(Error::new(
            ErrorCode::MediaTypeNotAvailable,
            "None of these media types are available: application/vnd.pgrst.plan",
        ));
    }
    if !allowed {
        return Err(Error::new(
            ErrorCode::UnsupportedMethod,
            format!("Unsupported HTTP method: {}", req.method),
        ));
    }
    if kind == Write::Upsert {
        check_single_upsert(&req.query, table)?;
    }
    let rows = match kind {
        Write::Delete => None,
        _ => Some(payload_rows(body, headers, kind)?),
    };
    let planning = WriteRequest {
        cache: &req.cache,
        query: &req.query,
        prefer: &req.prefer,
    };
    let plan = plan_mutate(&planning, table, kind, rows)?;
    let representation = plan.representation_requested();
    let count_requested = req.prefer.count.is_some();
    if plan.writes_nothing() {
        // Nothing to write (`[]` or `{}`): the empty answer of the same shape.
        let status = match (kind, representation) {
            (Write::Insert, _) => 201,
            (Write::Upsert, _) => return Err(put_mismatch()),
            (_, true) => 200,
            (_, false) => 204,
        };
        let body = representation.then(|| {
            if req.media.is_object() {
                String::new()
            } else {
                "[]".to_string()
            }
        });
        if req.media.is_object() {
            return Err(singular_error(0));
        }
        let total = count_requested.then_some(0);
        return Ok(response(
            status,
            req.media,
            &req.schema,
            body,
            vec![("content-range", content_range(1, 0, total))],
        ));
    }
    let sql = mutate_statement(&plan, req.media);

    let anon = req.is_anon(state);
    let rollback = state.0.config.allow_tx_override && req.prefer.tx_rollback == Some(true);
    let checked_before_commit = kind == Write::Upsert
        || req.media.is_object()
        || (req.prefer.strict && req.prefer.max_affected.is_some())
        || rollback;
    let tx = req.begin(state, Access::ReadWrite).await?;
    if !checked_before_commit {
        // Nothing to decide after the statement: COMMIT goes out in the same round trip (a
        // failed statement turns it into a rollback).
        let outcome = run_read(tx, &sql, anon).await?;
        return write_response(&req, &plan, outcome, count_requested);
    }
    let mut tx = tx;
    let outcome = run_statement(&mut tx, &sql, anon).await?;
    let n = outcome.page;
    if kind == Write::Upsert && n != 1 {
        let _ = tx.rollback().await;
        return Err(put_mismatch());
    }
    if req.media.is_object() && n != 1 {
        let _ = tx.rollback().await;
        return Err(singular_error(n));
    }
    if req.prefer.strict {
        if let Some(max) = req.prefer.max_affected {
            if n > max && kind != Write::Insert {
                let _ = tx.rollback().await;
                return Err(Error::new(
                    ErrorCode::MaxAffected,
                    "Query result exceeds max-affected preference constraint",
                )
                .details(format!("The query affects {n} rows")));
            }
        }
    }
    if rollback {
        tx.rollback().await.map_err(|e| Error::db(&e, anon))?;
    } else {
        tx.commit().await.map_err(|e| Error::db(&e, anon))?;
    }
    write_response(&req, &plan, outcome, count_requested)
}

/// The response of a write whose transaction has ended.
fn write_response(
    req: &ApiRequest,
    plan: &MutatePlan<'_>,
    outcome: Outcome,
    count_requested: bool,
) -> Result<Response, Error> {
    let (table, kind, merge, return_) = (plan.table, plan.kind, plan.merge, plan.return_);
    let representation = plan.representation_requested();
    let n = outcome.page;
    let total = count_requested.then_some(n);
    let range = match kind {
        Write::Update => content_range(0, n - 1, total),
        _ => content_range(1, 0, total),
    };
    // PUT answers without `Content-Range`, as PostgREST's `MutationSingleUpsert`.
    let mut headers = if kind == Write::Upsert {
        Vec::new()
    } else {
        vec![("content-range", range)]
    };
    let applied = match kind {
        Write::Insert => Applied::Create {
            resolution: !table.primary_key.is_empty() || req.query.on_conflict.is_some(),
        },
        Write::Update => Applied::Update,
        Write::Delete => Applied::Delete,
        Write::Upsert => Applied::SingleUpsert,
    };
    if let Some(applied) = req.prefer.applied(applied) {
        headers.push(("preference-applied", applied));
    }
    let status = match kind {
        Write::Insert => {
            let inserted: Option<i64> = if merge {
                outcome.extra.as_deref().and_then(|s| s.parse().ok())
            } else {
                None
            };
            if merge && inserted == Some(0) && n > 0 {
                200
            } else {
                201
            }
        }
        Write::Upsert if representation => {
            let inserted: Option<i64> = outcome.extra.as_deref().and_then(|s| s.parse().ok());
            if inserted.unwrap_or(0) > 0 {
                201
            } else {
                200
            }
        }
        _ if representation => 200,
        _ => 204,
    };
    if kind == Write::Insert && return_ == Return::HeadersOnly {
        if let Some(q) = outcome.extra.as_ref().filter(|_| !merge) {
            headers.push(("location", format!("/{}?{}", table.name.name, q)));
        }
    }
    let body = if representation {
        Some(outcome.body.unwrap_or_else(|| "[]".into()))
    } else {
        None
    };
    with_gucs(
        response(status, req.media, &req.schema, body, headers),
        &outcome.gucs,
    )
}
