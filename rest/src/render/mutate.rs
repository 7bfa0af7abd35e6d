//! Rendering a mutate plan, as PostgREST's `Query/QueryBuilder.hs` (`mutatePlanToQuery`) and
//! `Query/SqlFragment.hs`: the payload is bound once as JSON and expanded by
//! `jsonb_populate_record` into the table's row type, the write runs in a CTE, and the
//! representation (with embeds) is selected from its `RETURNING` rows.

use super::read::{body_expr, ReadRenderer};
use super::sql_text::{ident, SqlText};
use super::GUC_COLUMNS;
use crate::api::media::Media;
use crate::api::prefer::Resolution;
use crate::plan::mutate::{MutatePlan, Payload, Returning, Write};

/// The statement of a plan that writes something (see [`MutatePlan::writes_nothing`]):
/// `WITH "pgrst_mutation" AS (…) SELECT total, page, body, extra, gucs`, where `extra` is the
/// number of inserted rows of a merge or the `Location` query of `return=headers-only`.
pub(crate) fn mutate_statement(plan: &MutatePlan<'_>, media: Media) -> SqlText {
    let mut sql = SqlText::default();
    let table = plan.table;
    let target = table.name.sql();
    let returning = match plan.returning {
        Returning::Rows => format!("{target}.*"),
        Returning::PrimaryKey => table
            .primary_key
            .iter()
            .map(|c| format!("{target}.{}", ident(c)))
            .collect::<Vec<_>>()
            .join(", "),
        Returning::Count => "1".to_string(),
    };
    let returning = if plan.merge {
        format!("{returning}, (xmax = 0) AS \"pgrst_inserted\"")
    } else {
        returning
    };
    let mutation = match (plan.kind, &plan.payload) {
        (Write::Insert, Some(p)) => insert_sql(&mut sql, plan, p, &returning, &[]),
        (Write::Upsert, Some(p)) => {
            // The URL's key filters, applied to the payload row: a mismatch inserts nothing.
            let conds = ReadRenderer { sql: &mut sql }.conditions(
                table,
                "\"pgrst_row\"",
                &plan.filters,
                None,
            );
            insert_sql(&mut sql, plan, p, &returning, &conds)
        }
        (Write::Update, Some(p)) => {
            let conds = ReadRenderer { sql: &mut sql }.conditions(
                table,
                &target,
                &plan.filters,
                plan.logic.as_ref(),
            );
            let row = p
                .rows
                .first()
                .map(|r| serde_json::to_string(r).unwrap_or_default())
                .unwrap_or_else(|| "{}".into());
            let json = sql.bind(row);
            let sets: Vec<String> = p
                .columns
                .iter()
                .map(|c| format!("{} = \"pgrst_body\".{}", ident(c), ident(c)))
                .collect();
            format!(
                "UPDATE {target} SET {} FROM (SELECT * FROM jsonb_populate_record(NULL::{target}, {json}::jsonb)) AS \"pgrst_body\" WHERE {} RETURNING {returning}",
                sets.join(", "),
                conds.join(" AND ")
            )
        }
        _ => {
            let conds = ReadRenderer { sql: &mut sql }.conditions(
                table,
                &target,
                &plan.filters,
                plan.logic.as_ref(),
            );
            format!(
                "DELETE FROM {target} WHERE {} RETURNING {returning}",
                conds.join(" AND ")
            )
        }
    };
    let select_part = match &plan.representation {
        Some(read) => {
            let reference = "\"pgrst_mutation\"";
            let node = ReadRenderer { sql: &mut sql }.node(read, reference);
            let inserted = if plan.merge {
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
                body_expr(media)
            )
        }
        None => {
            let extra = if plan.merge {
                "(count(*) FILTER (WHERE \"pgrst_inserted\"))::text".to_string()
            } else if plan.returning == Returning::PrimaryKey {
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
        }
    };
    sql.sql = format!("WITH \"pgrst_mutation\" AS ({mutation}), {select_part}");
    sql
}

/// `INSERT … SELECT … FROM jsonb_array_elements(payload)`, with `missing=default`, the `PUT`
/// key conditions `conds` and the `ON CONFLICT` clause.
fn insert_sql(
    sql: &mut SqlText,
    plan: &MutatePlan<'_>,
    p: &Payload,
    returning: &str,
    conds: &[String],
) -> String {
    let table = plan.table;
    let target = table.name.sql();
    let columns: Vec<&String> = p.columns.iter().collect();
    let json = sql.bind(serde_json::to_string(&p.rows).unwrap_or_default());
    let upsert = plan.on_conflict.as_ref();
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
        return statement;
    }
    // With `missing=default`, as PostgREST's `fromJsonBodyF`: every row is laid over an object
    // of the columns' defaults (so a sequence advances once per row, as upstream).
    let element = if plan.missing_default {
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
    statement
}
