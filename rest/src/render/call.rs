//! Rendering a call plan, as PostgREST's `Query/QueryBuilder.hs` (`callPlanToQuery`): the
//! arguments are bound once as JSON and expanded by `jsonb_to_record` into the declared
//! parameter types (or the whole body is cast to the one unnamed parameter's type), and the
//! result is read like a relation's rows.

use super::read::{wrap_read, NodeSql, ReadRenderer};
use super::sql_text::{ident, SqlText};
use super::GUC_COLUMNS;
use crate::api::media::Media;
use crate::plan::call::{CallArguments, CallPlan, CallResult};

/// The statement of a call, and the rendered root node of its result when it has rows
/// (its `offset` pages the answer).
pub(crate) fn call_statement(
    plan: &CallPlan<'_>,
    media: Media,
    count: bool,
) -> (SqlText, Option<NodeSql>) {
    let mut sql = SqlText::default();
    let function = plan.function;
    let (call_args, args_cte) = match &plan.arguments {
        CallArguments::Whole { value, data_type } => {
            let p = sql.bind(value.clone());
            (
                format!("{p}::{data_type}"),
                "\"pgrst_args\" AS (SELECT 1), ".to_string(),
            )
        }
        CallArguments::Named { json, parameters } => {
            let call_args: Vec<String> = parameters
                .iter()
                .map(|a| {
                    let variadic = if a.variadic { "VARIADIC " } else { "" };
                    format!(
                        "{} := {variadic}\"pgrst_args\".{}",
                        ident(&a.name),
                        ident(&a.name)
                    )
                })
                .collect();
            let cte = match json {
                None => "\"pgrst_args\" AS (SELECT 1), ".to_string(),
                Some(json) => {
                    let columns: Vec<String> = parameters
                        .iter()
                        .map(|a| format!("{} {}", ident(&a.name), a.data_type))
                        .collect();
                    let p = sql.bind(json.clone());
                    format!(
                        "\"pgrst_args\" AS (SELECT * FROM jsonb_to_record({p}::jsonb) AS \"pgrst_r\"({})), ",
                        columns.join(", ")
                    )
                }
            };
            (call_args.join(", "), cte)
        }
    };
    let call_sql = format!("{}({call_args})", function.name.sql());
    let node = match &plan.result {
        CallResult::Value => {
            sql.sql = format!(
                "WITH {args_cte}\"pgrst_none\" AS (SELECT 1) SELECT NULL::int8, 1::int8, coalesce(to_json({call_sql})::text, 'null'), {GUC_COLUMNS} FROM \"pgrst_args\""
            );
            None
        }
        CallResult::Scalars(read) => {
            let reference = "\"pgrst_scalar\"";
            let from = format!("\"pgrst_args\", LATERAL {call_sql} AS \"pgrst_scalar\"");
            let mut node = ReadRenderer { sql: &mut sql }.node(read, reference);
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
            Some(node)
        }
        CallResult::Rows { plan: read, single } => {
            let reference = ident(&function.name.name);
            let from = format!("\"pgrst_args\", LATERAL {call_sql} AS {reference}");
            let node = ReadRenderer { sql: &mut sql }.node(read, &reference);
            let media = if *single && matches!(media, Media::Json | Media::Array { .. }) {
                Media::Object {
                    strip_nulls: media.strip_nulls(),
                }
            } else {
                media
            };
            sql.sql = wrap_read(&node, &from, &args_cte, media, count);
            Some(node)
        }
    };
    (sql, node)
}
