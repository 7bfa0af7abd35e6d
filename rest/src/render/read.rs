//! Rendering a read plan into SQL, as PostgREST's `Query/QueryBuilder.hs` (`readPlanToQuery`)
//! and `Query/SqlFragment.hs`: each node is one `SELECT`, embeds are `LEFT JOIN LATERAL`
//! subqueries that build their JSON in PostgreSQL (`row_to_json` for to-one, `json_agg` for
//! to-many), and every value is bound as a parameter of the statement being built.

use bucketbase_grammar::{Aggregate, Direction, Nulls};

use super::sql_text::{ident, SqlText};
use super::GUC_COLUMNS;
use crate::api::media::Media;
use crate::plan::read::{agg_name, EmbedPlan, ReadPlan, SelectPlan};
use crate::schema_cache::Cardinality;

/// One rendered node: the pieces of its `SELECT`.
#[derive(Debug, Default, Clone)]
pub(crate) struct NodeSql {
    /// `expr AS "name"` items (or `ref.*`).
    pub(crate) select: Vec<String>,
    /// Output keys, `*` expanded (for spreads and CSV).
    pub(crate) out_names: Vec<String>,
    /// Aggregates a to-one spread leaves to its parent: (output key, aggregate, cast).
    pub(crate) hoisted: Vec<(String, Option<Aggregate>, Option<String>)>,
    /// `LEFT JOIN LATERAL …` clauses.
    pub(crate) joins: Vec<String>,
    /// WHERE conditions (ANDed).
    pub(crate) conds: Vec<String>,
    /// GROUP BY terms (only used when `aggregated`).
    pub(crate) group_by: Vec<String>,
    /// True when an aggregate is selected: the other items form the GROUP BY.
    pub(crate) aggregated: bool,
    /// ORDER BY terms.
    pub(crate) order: Vec<String>,
    /// LIMIT.
    pub(crate) limit: Option<i64>,
    /// OFFSET.
    pub(crate) offset: Option<i64>,
}

impl NodeSql {
    /// `SELECT … FROM from … WHERE … GROUP BY … ORDER BY … LIMIT … OFFSET …` with
    /// `extra_conds` ANDed in.
    pub(crate) fn query(&self, from: &str, extra_conds: &[String], paged: bool) -> String {
        let select = if self.select.is_empty() {
            "NULL AS \"pgrst_none\"".to_string()
        } else {
            self.select.join(", ")
        };
        let mut sql = format!("SELECT {select} FROM {from}");
        for j in &self.joins {
            sql.push(' ');
            sql.push_str(j);
        }
        let conds: Vec<&String> = extra_conds.iter().chain(self.conds.iter()).collect();
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(
                &conds
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(" AND "),
            );
        }
        if self.aggregated && !self.group_by.is_empty() {
            sql.push_str(" GROUP BY ");
            sql.push_str(&self.group_by.join(", "));
        }
        if paged {
            if !self.order.is_empty() {
                sql.push_str(" ORDER BY ");
                sql.push_str(&self.order.join(", "));
            }
            if let Some(l) = self.limit {
                sql.push_str(&format!(" LIMIT {l}"));
            }
            if let Some(o) = self.offset {
                sql.push_str(&format!(" OFFSET {o}"));
            }
        }
        sql
    }
}

/// What a node's conditions need to know of one of its embeds.
pub(super) struct EmbedSql {
    /// The joined subquery's alias (for related orders).
    alias: String,
    /// NULL exactly when the embed has no rows (for `rel=is.null` and `!inner`).
    pub(super) presence: String,
}

/// Renders plans, binding their values into the statement being built.
pub(crate) struct ReadRenderer<'s> {
    /// The statement's text and parameters.
    pub(crate) sql: &'s mut SqlText,
}

impl ReadRenderer<'_> {
    /// Renders the node `plan`, whose rows are referred to as `reference`. In a to-one spread
    /// aggregates are left to the parent in [`NodeSql::hoisted`].
    pub(crate) fn node(&mut self, plan: &ReadPlan<'_>, reference: &str) -> NodeSql {
        let table = plan.table;
        let spread = plan.spread;
        let mut node = NodeSql {
            limit: plan.limit,
            offset: plan.offset,
            ..Default::default()
        };
        let mut embeds: Vec<EmbedSql> = Vec::new();
        for item in &plan.items {
            match item {
                SelectPlan::Star => {
                    node.select.push(format!("{reference}.*"));
                    match table {
                        Some(t) => {
                            for c in &t.columns {
                                node.group_by
                                    .push(format!("{reference}.{}", ident(&c.name)));
                                node.out_names.push(c.name.clone());
                            }
                        }
                        None => node.group_by.push(reference.to_string()),
                    }
                    if spread {
                        for c in table.map(|t| t.columns.as_slice()).unwrap_or(&[]) {
                            node.hoisted.push((c.name.clone(), None, None));
                        }
                    }
                }
                SelectPlan::Column {
                    field,
                    name,
                    cast,
                    aggregate,
                    aggregate_cast,
                } => {
                    let mut expr = self.field_expr(table, reference, field);
                    if let Some(ty) = cast {
                        expr = cast_expr(&expr, ty);
                    }
                    match aggregate {
                        Some(agg) if spread => {
                            node.select.push(format!("{expr} AS {}", ident(name)));
                            node.hoisted.push((
                                name.clone(),
                                Some(*agg),
                                aggregate_cast.map(str::to_string),
                            ));
                        }
                        Some(agg) => {
                            let applied = apply_aggregate(*agg, &expr, *aggregate_cast);
                            node.select.push(format!("{applied} AS {}", ident(name)));
                            node.aggregated = true;
                        }
                        None => {
                            node.select.push(format!("{expr} AS {}", ident(name)));
                            node.group_by.push(expr);
                            if spread {
                                node.hoisted.push((name.clone(), None, None));
                            }
                        }
                    }
                    node.out_names.push(name.clone());
                }
                SelectPlan::Count { name, cast } => {
                    if spread {
                        node.hoisted.push((
                            name.clone(),
                            Some(Aggregate::Count),
                            cast.map(str::to_string),
                        ));
                    } else {
                        let applied = apply_aggregate(Aggregate::Count, "*", *cast);
                        node.select.push(format!("{applied} AS {}", ident(name)));
                        node.aggregated = true;
                    }
                    node.out_names.push(name.clone());
                }
                SelectPlan::Embed(embed) => {
                    let presence = self.embed(&mut node, embed, reference, spread);
                    embeds.push(EmbedSql {
                        alias: embed.join_alias.clone(),
                        presence,
                    });
                }
            }
        }
        for f in &plan.filters {
            let cond = self.condition(table, reference, f, &embeds);
            node.conds.push(cond);
        }
        for tree in &plan.logic {
            let cond = self.logic_cond(table, reference, tree, &embeds);
            node.conds.push(cond);
        }
        for o in &plan.order {
            let term = o.term;
            let mut s = match o.embed {
                None => self.field_expr(table, reference, &term.field),
                Some(i) => self.field_expr(None, &ident(&embeds[i].alias), &term.field),
            };
            match term.direction {
                Some(Direction::Asc) => s.push_str(" ASC"),
                Some(Direction::Desc) => s.push_str(" DESC"),
                None => {}
            }
            match term.nulls {
                Some(Nulls::First) => s.push_str(" NULLS FIRST"),
                Some(Nulls::Last) => s.push_str(" NULLS LAST"),
                None => {}
            }
            node.order.push(s);
        }
        node
    }

    /// Joins one embed into `node` (itself a to-one spread when `spread`) and selects its
    /// output; returns the embed's presence expression.
    fn embed(
        &mut self,
        node: &mut NodeSql,
        embed: &EmbedPlan<'_>,
        reference: &str,
        spread: bool,
    ) -> String {
        let a = ident(&embed.join_alias);
        let out = &embed.name;
        let join_kind = if embed.inner { "INNER" } else { "LEFT" };
        let (child_sql, child) = self.embed_query(embed, reference);
        match (embed.spread, embed.to_one) {
            (false, true) => {
                node.joins.push(format!(
                    "{join_kind} JOIN LATERAL ({child_sql}) AS {a} ON TRUE"
                ));
                if !embed.selects_nothing {
                    let body = format!("row_to_json({a}.*)::jsonb");
                    node.select.push(format!("{body} AS {}", ident(out)));
                    node.group_by.push(body);
                    node.out_names.push(out.clone());
                    if spread {
                        node.hoisted.push((out.clone(), None, None));
                    }
                }
                format!("row_to_json({a}.*)")
            }
            (false, false) => {
                let on = if embed.inner {
                    format!("{a}.\"pgrst_body\" IS NOT NULL")
                } else {
                    "TRUE".to_string()
                };
                node.joins.push(format!(
                    "{join_kind} JOIN LATERAL (SELECT json_agg(\"pgrst_e\")::jsonb AS \"pgrst_body\" FROM ({child_sql}) AS \"pgrst_e\") AS {a} ON {on}"
                ));
                if !embed.selects_nothing {
                    let body = format!("COALESCE({a}.\"pgrst_body\", '[]')");
                    node.select.push(format!("{body} AS {}", ident(out)));
                    node.group_by.push(body);
                    node.out_names.push(out.clone());
                    if spread {
                        node.hoisted.push((out.clone(), None, None));
                    }
                }
                format!("{a}.\"pgrst_body\"")
            }
            (true, true) => {
                node.joins.push(format!(
                    "{join_kind} JOIN LATERAL ({child_sql}) AS {a} ON TRUE"
                ));
                for (name, agg, agg_cast) in &child.hoisted {
                    let col = format!("{a}.{}", ident(name));
                    match agg {
                        Some(agg) if spread => {
                            node.select.push(format!("{col} AS {}", ident(name)));
                            node.hoisted
                                .push((name.clone(), Some(*agg), agg_cast.clone()));
                        }
                        Some(agg) => {
                            // `count()` in a spread counts its rows.
                            let selected = format!(" AS {}", ident(name));
                            let arg = if *agg == Aggregate::Count
                                && !child.select.iter().any(|s| s.ends_with(&selected))
                            {
                                format!("{a}.*")
                            } else {
                                col
                            };
                            let applied = apply_aggregate(*agg, &arg, agg_cast.as_deref());
                            node.select.push(format!("{applied} AS {}", ident(name)));
                            node.aggregated = true;
                        }
                        None => {
                            node.select.push(format!("{col} AS {}", ident(name)));
                            node.group_by.push(col);
                            if spread {
                                node.hoisted.push((name.clone(), None, None));
                            }
                        }
                    }
                    node.out_names.push(name.clone());
                }
                format!("row_to_json({a}.*)")
            }
            (true, false) => {
                let mut cols = vec!["count(*) AS \"pgrst_n\"".to_string()];
                for name in &child.out_names {
                    cols.push(format!(
                        "COALESCE(json_agg(\"pgrst_e\".{n}), '[]')::jsonb AS {n}",
                        n = ident(name)
                    ));
                }
                let on = if embed.inner {
                    format!("{a}.\"pgrst_n\" > 0")
                } else {
                    "TRUE".to_string()
                };
                node.joins.push(format!(
                    "{join_kind} JOIN LATERAL (SELECT {} FROM ({child_sql}) AS \"pgrst_e\") AS {a} ON {on}",
                    cols.join(", ")
                ));
                for name in &child.out_names {
                    let col = format!("{a}.{}", ident(name));
                    node.select.push(format!("{col} AS {}", ident(name)));
                    node.group_by.push(col);
                    if spread {
                        node.hoisted.push((name.clone(), None, None));
                    }
                    node.out_names.push(name.clone());
                }
                format!("NULLIF({a}.\"pgrst_n\", 0)")
            }
        }
    }

    /// The query of one embed's rows, correlated to `parent_ref`; returns it and its node.
    fn embed_query(&mut self, embed: &EmbedPlan<'_>, parent_ref: &str) -> (String, NodeSql) {
        let rel = embed.relationship;
        let alias = &embed.rows_alias;
        let child_ref = ident(alias);
        let child = self.node(&embed.child, &child_ref);
        let mut join_conds = Vec::new();
        let from = match &rel.cardinality {
            Cardinality::ManyToMany(j) => {
                let jalias = ident(&format!("{alias}_j"));
                let on: Vec<String> = j
                    .target_columns
                    .iter()
                    .map(|(t, jc)| format!("{jalias}.{} = {child_ref}.{}", ident(jc), ident(t)))
                    .collect();
                for (o, jc) in &j.origin_columns {
                    join_conds.push(format!(
                        "{jalias}.{} = {parent_ref}.{}",
                        ident(jc),
                        ident(o)
                    ));
                }
                format!(
                    "{} AS {child_ref} INNER JOIN {} AS {jalias} ON {}",
                    rel.target.sql(),
                    j.table.sql(),
                    on.join(" AND ")
                )
            }
            Cardinality::Computed { function, .. } => {
                format!("{}({parent_ref}) AS {child_ref}", function.sql())
            }
            _ => {
                for (o, t) in &rel.columns {
                    join_conds.push(format!(
                        "{child_ref}.{} = {parent_ref}.{}",
                        ident(t),
                        ident(o)
                    ));
                }
                format!("{} AS {child_ref}", rel.target.sql())
            }
        };
        let sql = child.query(&from, &join_conds, true);
        (sql, child)
    }
}

/// `SUM(expr)`, with the aggregate's cast (`CAST(SUM(expr) AS t)`).
fn apply_aggregate(agg: Aggregate, expr: &str, cast: Option<&str>) -> String {
    let applied = format!("{}({expr})", agg_name(agg).to_uppercase());
    match cast {
        Some(ty) => cast_expr(&applied, ty),
        None => applied,
    }
}

/// `CAST(expr AS ty)`; the planner has checked that `ty` is safe to paste.
pub(super) fn cast_expr(expr: &str, ty: &str) -> String {
    format!("CAST({expr} AS {ty})")
}

/// The body expression over the rows of `pgrst_t` for `media`.
pub(crate) fn body_expr(media: Media) -> &'static str {
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
        // PostgREST's `asGeoJsonF`: each row (all its columns) as a GeoJSON Feature, the
        // geometry column as its geometry and the others as its properties.
        Media::GeoJson => {
            "json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(\"pgrst_t\")::json), '[]'))::text"
        }
        Media::Csv => {
            "(SELECT coalesce(string_agg(a.k, ','), '') FROM (SELECT json_object_keys(r) AS k FROM (SELECT row_to_json(hh) AS r FROM \"pgrst_source\" AS hh LIMIT 1) AS s) AS a) || chr(10) || coalesce(string_agg(substring(\"pgrst_t\"::text, 2, length(\"pgrst_t\"::text) - 2), chr(10)), '')"
        }
        _ => "coalesce(json_agg(\"pgrst_t\"), '[]')::text",
    }
}

/// Wraps a paged query into the statement returning (total, page, body); `ctes` are extra
/// common table expressions (`"name" AS (…), `) placed before the source.
pub(crate) fn wrap_read(
    node: &NodeSql,
    from: &str,
    ctes: &str,
    media: Media,
    count: bool,
) -> String {
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
