//! `POST` (insert and upsert), `PATCH` and `DELETE` on a relation, as PostgREST's mutate plan:
//! the payload is bound once as JSON and expanded by `jsonb_populate_record(set)` into the
//! table's row type, the statement runs in a CTE, and the representation (with embeds) is
//! selected from its `RETURNING` rows.

use axum::http::HeaderMap;
use axum::response::Response;
use bucketbase_sql::request_tx::Access;
use serde_json::Value;

use crate::error::Error;
use crate::prefer::{Applied, Resolution, Return};
use crate::read::{body_expr, render_select, singular_error};
use crate::request::{
    content_range, response, run_read, run_statement, with_gucs, ApiRequest, GUC_COLUMNS,
};
use crate::schema_cache::Table;
use crate::select::{modifiers_by_path, SelectRenderer};
use crate::sql_text::{ident, SqlText};
use crate::State;

/// Which write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `POST`.
    Insert,
    /// `PATCH`.
    Update,
    /// `DELETE`.
    Delete,
    /// `PUT`: the single-row upsert addressed by its primary key.
    Upsert,
}

/// The parsed JSON payload: rows and the columns they set.
struct Payload {
    /// The body as a JSON array text (an object is wrapped).
    json: String,
    /// Rows.
    rows: Vec<serde_json::Map<String, Value>>,
    /// Columns to write, in order.
    columns: Vec<String>,
}

fn parse_payload(
    body: &[u8],
    headers: &HeaderMap,
    columns_param: Option<&Vec<String>>,
    table: &Table,
    write: Write,
) -> Result<Payload, Error> {
    let essence = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            (
                ct,
                ct.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase(),
            )
        });
    let text = std::str::from_utf8(body).map_err(|_| Error::body("Empty or invalid json"))?;
    let value: Value = match essence {
        Some((_, e)) if e == "text/csv" => csv_rows(text)?,
        Some((_, e)) if e == "application/x-www-form-urlencoded" => {
            // `parseSimpleQuery`: one object of text values, a repeated key's last value wins.
            let mut object = serde_json::Map::new();
            for (k, v) in form_urlencoded::parse(text.as_bytes()) {
                object.insert(k.into_owned(), Value::String(v.into_owned()));
            }
            Value::Object(object)
        }
        Some((ct, e)) if !e.is_empty() && e != "application/json" && e != "*/*" => {
            return Err(Error::body(format!("Content-Type not acceptable: {ct}")));
        }
        // PostgREST's `getPayload`: an empty body is "Empty or invalid json" for writes; `{}`
        // and `[{}]` are rows of column defaults.
        _ => serde_json::from_str(text).map_err(|_| Error::body("Empty or invalid json"))?,
    };
    let rows: Vec<serde_json::Map<String, Value>> = match value {
        Value::Object(o) => vec![o],
        Value::Array(items) if matches!(write, Write::Insert | Write::Upsert) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o),
                _ => Err(Error::body("All object keys must match")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(Error::body("Empty or invalid json")),
    };
    let columns: Vec<String> = match columns_param {
        Some(cols) => cols.clone(),
        None => {
            let first: Vec<String> = rows
                .first()
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            if rows
                .iter()
                .skip(1)
                .any(|r| r.len() != first.len() || first.iter().any(|k| !r.contains_key(k)))
            {
                return Err(Error::body("All object keys must match"));
            }
            first
        }
    };
    for c in &columns {
        if table.column(c).is_none() {
            return Err(Error::new(
                400,
                "PGRST204",
                format!(
                    "Could not find the '{c}' column of '{}' in the schema cache",
                    table.name.name
                ),
            ));
        }
    }
    let json = Value::Array(rows.iter().cloned().map(Value::Object).collect()).to_string();
    Ok(Payload {
        json,
        rows,
        columns,
    })
}

/// A `text/csv` body as PostgREST's `csvToJson`: the header line names the keys, every value
/// is text except an unquoted `NULL`, which is null.
fn csv_rows(text: &str) -> Result<Value, Error> {
    let records = csv_records(text);
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Ok(Value::Array(Vec::new()));
    };
    let mut rows = Vec::new();
    for record in records {
        if record.len() != header.len() {
            return Err(Error::body("All lines must have same number of fields"));
        }
        let object = header
            .iter()
            .zip(record)
            .map(|((key, _), (value, quoted))| {
                let value = if value == "NULL" && !quoted {
                    Value::Null
                } else {
                    Value::String(value)
                };
                (key.clone(), value)
            })
            .collect();
        rows.push(Value::Object(object));
    }
    Ok(Value::Array(rows))
}

/// RFC 4180 records: fields split on `,`, records on `\n` or `\r\n`, `"…"` quoting with `""`
/// for a quote; each field with whether it was quoted. Blank lines are skipped.
fn csv_records(text: &str) -> Vec<Vec<(String, bool)>> {
    let mut records = Vec::new();
    let mut record: Vec<(String, bool)> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
            }
            ',' => record.push((std::mem::take(&mut field), std::mem::take(&mut quoted))),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push((std::mem::take(&mut field), std::mem::take(&mut quoted)));
                if !(record.len() == 1 && record[0].0.is_empty() && !record[0].1) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || quoted || !record.is_empty() {
        record.push((field, quoted));
        records.push(record);
    }
    records
}

/// `PUT`'s preconditions (PostgREST's `getRanges` and `mutatePlan`): no `limit`/`offset`
/// (`PGRST114`), and root filters that are exactly `eq` on every primary-key column
/// (`PGRST105`).
fn check_single_upsert(req: &ApiRequest, table: &Table) -> Result<(), Error> {
    let root: bucketbase_grammar::EmbedPath = Vec::new();
    if req.query.limit.iter().any(|(p, _)| *p == root)
        || req.query.offset.iter().any(|(p, _)| *p == root)
    {
        return Err(Error::new(
            400,
            "PGRST114",
            "limit/offset querystring parameters are not allowed for PUT",
        ));
    }
    let filters: Vec<&bucketbase_grammar::Filter> = req
        .query
        .filters
        .iter()
        .filter(|(p, _)| *p == root)
        .map(|(_, f)| f)
        .collect();
    let mut fields: Vec<&str> = filters.iter().map(|f| f.field.name.as_str()).collect();
    fields.sort_unstable();
    fields.dedup();
    let mut pk: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    pk.sort_unstable();
    let all_eq = filters.iter().all(|f| {
        !f.negated
            && f.field.json_path.is_empty()
            && matches!(
                f.operation,
                bucketbase_grammar::Operation::Compare {
                    op: bucketbase_grammar::CompareOp::Eq,
                    quantifier: None,
                    ..
                }
            )
    });
    let logic = req.query.logic.iter().any(|(p, _)| *p == root);
    if logic || pk.is_empty() || fields != pk || !all_eq {
        return Err(Error::new(
            405,
            "PGRST105",
            "Filters must include all and only primary key columns with 'eq' operators",
        ));
    }
    Ok(())
}

/// `INSERT`/upsert, `UPDATE` or `DELETE` with its response.
pub async fn write(
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
    if matches!(req.media, crate::media::Media::Plan(_)) {
        return Err(Error::new(
            406,
            "PGRST107",
            "None of these media types are available: application/vnd.pgrst.plan",
        ));
    }
    let target = table.name.sql();
    if !allowed {
        return Err(Error::new(
            405,
            "PGRST117",
            format!("Unsupported HTTP method: {}", req.method),
        ));
    }
    if kind == Write::Upsert {
        check_single_upsert(&req, table)?;
    }
    let mut sql = SqlText::default();
    let payload = match kind {
        Write::Delete => None,
        _ => Some(parse_payload(
            body,
            headers,
            req.query.columns.as_ref(),
            table,
            kind,
        )?),
    };
    let return_ = req.prefer.return_.unwrap_or(Return::Minimal);
    let representation = return_ == Return::Representation;
    let merge = (kind == Write::Insert
        && req.prefer.resolution == Some(Resolution::MergeDuplicates))
        || kind == Write::Upsert;
    let returning = if representation {
        format!("{target}.*")
    } else if return_ == Return::HeadersOnly && !table.primary_key.is_empty() {
        table
            .primary_key
            .iter()
            .map(|c| format!("{target}.{}", ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        "1".to_string()
    };
    let returning = if merge {
        format!("{returning}, (xmax = 0) AS \"pgrst_inserted\"")
    } else {
        returning
    };
    // Root filters only: embedded filters shape the representation, not the WHERE clause.
    let root_conds = if !matches!(kind, Write::Update | Write::Delete) {
        Vec::new()
    } else {
        let mods = modifiers_by_path(&req.query);
        let root = mods.get(&Vec::new()).cloned().unwrap_or_default();
        let mut renderer = SelectRenderer::new(&req.cache, &mut sql, Default::default());
        let mut conds = Vec::new();
        for f in &root.filters {
            conds.push(renderer.filter_cond(Some(table), &target, f)?);
        }
        let only_root = [bucketbase_grammar::LogicTree::Expr {
            negated: false,
            op: bucketbase_grammar::LogicOp::And,
            children: root.logic.clone(),
        }];
        if !root.logic.is_empty() {
            // Reuse the node renderer's logic handling through a dummy node.
            let mut sub = SelectRenderer::new(
                &req.cache,
                renderer.sql,
                [(
                    Vec::new(),
                    crate::select::Modifiers {
                        logic: only_root[0..1].to_vec(),
                        ..Default::default()
                    },
                )]
                .into_iter()
                .collect(),
            );
            let node = sub.node(&table.name, Some(table), &target, &[], &Vec::new())?;
            conds.extend(node.conds);
        }
        conds
    };
    let mutation = match kind {
        Write::Insert => {
            let p = payload
                .as_ref()
                .ok_or_else(|| Error::internal("no payload"))?;
            let upsert = req.prefer.resolution.map(|r| {
                (
                    r,
                    req.query
                        .on_conflict
                        .clone()
                        .unwrap_or_else(|| table.primary_key.clone()),
                )
            });
            insert_sql(&mut sql, &req, table, p, &returning, upsert, &[])?
        }
        Write::Upsert => {
            let p = payload
                .as_ref()
                .ok_or_else(|| Error::internal("no payload"))?;
            // The URL's key filters, applied to the payload row: a mismatch inserts nothing.
            let mods = modifiers_by_path(&req.query);
            let root = mods.get(&Vec::new()).cloned().unwrap_or_default();
            let mut renderer = SelectRenderer::new(&req.cache, &mut sql, Default::default());
            let mut conds = Vec::new();
            for f in &root.filters {
                conds.push(renderer.filter_cond(Some(table), "\"pgrst_row\"", f)?);
            }
            let upsert = Some((Resolution::MergeDuplicates, table.primary_key.clone()));
            if p.rows.is_empty() {
                return Err(put_mismatch());
            }
            insert_sql(&mut sql, &req, table, p, &returning, upsert, &conds)?
        }
        Write::Update => {
            let p = payload
                .as_ref()
                .ok_or_else(|| Error::internal("no payload"))?;
            if p.columns.is_empty() {
                None
            } else {
                if root_conds.is_empty() {
                    return Err(safe_update("UPDATE"));
                }
                let json = sql.bind(
                    p.rows
                        .first()
                        .map(|r| Value::Object(r.clone()).to_string())
                        .unwrap_or_else(|| "{}".into()),
                );
                let sets: Vec<String> = p
                    .columns
                    .iter()
                    .map(|c| format!("{} = \"pgrst_body\".{}", ident(c), ident(c)))
                    .collect();
                Some(format!(
                    "UPDATE {target} SET {} FROM (SELECT * FROM jsonb_populate_record(NULL::{target}, {json}::jsonb)) AS \"pgrst_body\" WHERE {} RETURNING {returning}",
                    sets.join(", "),
                    root_conds.join(" AND ")
                ))
            }
        }
        Write::Delete => {
            if root_conds.is_empty() {
                return Err(safe_update("DELETE"));
            }
            Some(format!(
                "DELETE FROM {target} WHERE {} RETURNING {returning}",
                root_conds.join(" AND ")
            ))
        }
    };
    let count_requested = req.prefer.count.is_some();
    let Some(mutation) = mutation else {
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
    };
    let select_part = if representation {
        let reference = "\"pgrst_mutation\"";
        let node = render_select(
            &req,
            &mut sql,
            &table.name,
            Some(table),
            reference,
            None,
            false,
        )?;
        let inserted = if merge {
            "(SELECT count(*) FILTER (WHERE \"pgrst_inserted\") FROM \"pgrst_mutation\")::text"
        } else {
            "NULL::text"
        };
        // Only the table's columns (not the upsert's insert flag) make up the rows.
        let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        let from = format!(
            "(SELECT {} FROM \"pgrst_mutation\") AS {reference}",
            columns.join(", ")
        );
        format!(
            "\"pgrst_source\" AS ({}) SELECT NULL::int8, count(*)::int8, {} AS body, {inserted}, {GUC_COLUMNS} FROM \"pgrst_source\" AS \"pgrst_t\"",
            node.query(&from, &[], true),
            body_expr(req.media)
        )
    } else {
        let extra = if merge {
            "(count(*) FILTER (WHERE \"pgrst_inserted\"))::text".to_string()
        } else if return_ == Return::HeadersOnly && !table.primary_key.is_empty() {
            let pairs: Vec<String> = table
                .primary_key
                .iter()
                .map(|c| {
                    let key = sql.bind(format!("{c}=eq."));
                    format!("{key}::text || (array_agg({}::text))[1]", ident(c))
                })
                .collect();
            pairs.join(" || '&' || ")
        } else {
            "NULL::text".to_string()
        };
        format!(
            "\"pgrst_source\" AS (SELECT 1) SELECT NULL::int8, count(*)::int8, NULL::text, {extra}, {GUC_COLUMNS} FROM \"pgrst_mutation\""
        )
    };
    sql.sql = format!("WITH \"pgrst_mutation\" AS ({mutation}), {select_part}");
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
        return write_response(
            &req,
            table,
            kind,
            outcome,
            count_requested,
            representation,
            merge,
            return_,
        );
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
                    400,
                    "PGRST124",
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
    write_response(
        &req,
        table,
        kind,
        outcome,
        count_requested,
        representation,
        merge,
        return_,
    )
}

/// The response of a write whose transaction has ended.
#[allow(clippy::too_many_arguments)]
fn write_response(
    req: &ApiRequest,
    table: &Table,
    kind: Write,
    outcome: crate::request::Outcome,
    count_requested: bool,
    representation: bool,
    merge: bool,
    return_: Return,
) -> Result<Response, Error> {
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

fn put_mismatch() -> Error {
    Error::new(
        400,
        "PGRST115",
        "Payload values do not match URL in primary key column(s)",
    )
}

fn safe_update(verb: &str) -> Error {
    Error::new(400, "21000", format!("{verb} requires a WHERE clause"))
}

fn insert_sql(
    sql: &mut SqlText,
    req: &ApiRequest,
    table: &Table,
    p: &Payload,
    returning: &str,
    upsert: Option<(Resolution, Vec<String>)>,
    conds: &[String],
) -> Result<Option<String>, Error> {
    let target = table.name.sql();
    if p.rows.is_empty() {
        return Ok(None);
    }
    let missing_default = req.prefer.missing_default;
    let columns: Vec<&String> = p.columns.iter().collect();
    let json = sql.bind(p.json.clone());
    if columns.is_empty() {
        // `{}`, `[{}]`, `[{}, {}]`: one row of column defaults per element, as PostgREST's
        // `fromJsonBodyF` with no fields (`INSERT INTO t SELECT FROM …`).
        let mut statement = format!(
            "INSERT INTO {target} SELECT FROM jsonb_array_elements({json}::jsonb) AS \"pgrst_elem\"(j)"
        );
        if let Some((_, conflict)) = upsert.filter(|(_, c)| !c.is_empty()) {
            let target_cols: Vec<String> = conflict.iter().map(|c| ident(c)).collect();
            statement.push_str(&format!(
                " ON CONFLICT ({}) DO NOTHING",
                target_cols.join(", ")
            ));
        }
        statement.push_str(&format!(" RETURNING {returning}"));
        return Ok(Some(statement));
    }
    // With `missing=default`, as PostgREST's `fromJsonBodyF`: every row is laid over an object
    // of the columns' defaults (so a sequence advances once per row, as upstream).
    let element = if missing_default {
        let mut defaults = Vec::new();
        for c in &columns {
            let Some(col) = table.column(c) else { continue };
            if let (Some(default), false) = (&col.default, col.generated) {
                let key = sql.bind(c.to_string());
                defaults.push(format!("{key}::text, {default}"));
            }
        }
        if defaults.is_empty() {
            "\"pgrst_elem\".j".to_string()
        } else {
            format!(
                "(jsonb_build_object({}) || \"pgrst_elem\".j)",
                defaults.join(", ")
            )
        }
    } else {
        "\"pgrst_elem\".j".to_string()
    };
    let mut statement = {
        let col_list: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| format!("\"pgrst_row\".{}", ident(c)))
            .collect();
        format!(
            "INSERT INTO {target} ({}) SELECT {} FROM jsonb_array_elements({json}::jsonb) AS \"pgrst_elem\"(j) CROSS JOIN LATERAL jsonb_populate_record(NULL::{target}, {element}) AS \"pgrst_row\"",
            col_list.join(", "),
            values.join(", ")
        )
    };
    if !conds.is_empty() {
        statement.push_str(&format!(" WHERE {}", conds.join(" AND ")));
    }
    if let Some((resolution, conflict)) = upsert {
        if !conflict.is_empty() {
            let target_cols: Vec<String> = conflict.iter().map(|c| ident(c)).collect();
            match resolution {
                Resolution::IgnoreDuplicates => statement.push_str(&format!(
                    " ON CONFLICT ({}) DO NOTHING",
                    target_cols.join(", ")
                )),
                Resolution::MergeDuplicates => {
                    let sets: Vec<String> = columns
                        .iter()
                        .map(|c| format!("{} = EXCLUDED.{}", ident(c), ident(c)))
                        .collect();
                    if sets.is_empty() {
                        statement.push_str(&format!(
                            " ON CONFLICT ({}) DO NOTHING",
                            target_cols.join(", ")
                        ));
                    } else {
                        statement.push_str(&format!(
                            " ON CONFLICT ({}) DO UPDATE SET {}",
                            target_cols.join(", "),
                            sets.join(", ")
                        ));
                    }
                }
            }
        }
    }
    statement.push_str(&format!(" RETURNING {returning}"));
    Ok(Some(statement))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_bodies() {
        assert_eq!(
            csv_rows("a,b\n1,\"x,\"\"y\"\"\"\r\n2,NULL\n3,\"NULL\"\n\n").expect("csv"),
            serde_json::json!([
                {"a": "1", "b": "x,\"y\""},
                {"a": "2", "b": null},
                {"a": "3", "b": "NULL"}
            ])
        );
        assert_eq!(csv_rows("").expect("empty"), serde_json::json!([]));
        assert_eq!(csv_rows("a\n").expect("header only"), serde_json::json!([]));
        assert!(csv_rows("a,b\n1\n").is_err());
        // Unterminated quotes do not panic.
        assert!(csv_rows("a\n\"open").is_ok());
    }
}
