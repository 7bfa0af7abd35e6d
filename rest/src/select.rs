//! The read side of PostgREST's planner and query builder (`Plan.hs`, `Query/QueryBuilder.hs`,
//! `Query/SqlFragment.hs`): a `select` tree with its filters, logic trees, order and limits,
//! rendered as one SQL query whose embeds are `LEFT JOIN LATERAL` subqueries that build their
//! JSON in PostgreSQL (`row_to_json` for to-one, `json_agg` for to-many).

use std::collections::{HashMap, HashSet};

use bucketbase_grammar::{
    Aggregate, CompareOp, Direction, EmbedPath, Field, Filter, FtsKind, IsValue, JoinType, JsonKey,
    JsonOp, LogicOp, LogicTree, Nulls, Operation, OrderTerm, Quantifier, QueryParams, RangeOp,
    SelectItem,
};

use crate::embed::find_relationship;
use crate::error::Error;
use crate::schema_cache::{Cardinality, QualifiedName, Relationship, SchemaCache, Table};
use crate::sql_text::{array_literal, ident, is_safe_type_name, SqlText};

/// Filters, logic trees, order and paging addressed to one node of the select tree.
#[derive(Debug, Default, Clone)]
pub struct Modifiers {
    /// `col=op.value` filters.
    pub filters: Vec<Filter>,
    /// `or=(…)` / `and=(…)` trees.
    pub logic: Vec<LogicTree>,
    /// `order=`.
    pub order: Vec<OrderTerm>,
    /// `limit=`.
    pub limit: Option<i64>,
    /// `offset=`.
    pub offset: Option<i64>,
}

/// The modifiers of a request, by embed path.
pub fn modifiers_by_path(q: &QueryParams) -> HashMap<EmbedPath, Modifiers> {
    let mut map: HashMap<EmbedPath, Modifiers> = HashMap::new();
    for (path, f) in &q.filters {
        map.entry(path.clone()).or_default().filters.push(f.clone());
    }
    for (path, l) in &q.logic {
        map.entry(path.clone()).or_default().logic.push(l.clone());
    }
    for (path, o) in &q.order {
        map.entry(path.clone())
            .or_default()
            .order
            .extend(o.iter().cloned());
    }
    for (path, l) in &q.limit {
        map.entry(path.clone()).or_default().limit = Some(*l);
    }
    for (path, o) in &q.offset {
        map.entry(path.clone()).or_default().offset = Some(*o);
    }
    map
}

/// One rendered node: the pieces of its `SELECT`.
#[derive(Debug, Default, Clone)]
pub struct NodeSql {
    /// `expr AS "name"` items (or `ref.*`).
    pub select: Vec<String>,
    /// Output keys, `*` expanded (for spreads and CSV).
    pub out_names: Vec<String>,
    /// Aggregates a to-one spread leaves to its parent: (output key, aggregate, cast).
    pub hoisted: Vec<(String, Option<Aggregate>, Option<String>)>,
    /// `LEFT JOIN LATERAL …` clauses.
    pub joins: Vec<String>,
    /// WHERE conditions (ANDed).
    pub conds: Vec<String>,
    /// GROUP BY terms (only used when `aggregated`).
    pub group_by: Vec<String>,
    /// True when an aggregate is selected: the other items form the GROUP BY.
    pub aggregated: bool,
    /// ORDER BY terms.
    pub order: Vec<String>,
    /// LIMIT.
    pub limit: Option<i64>,
    /// OFFSET.
    pub offset: Option<i64>,
}

impl NodeSql {
    /// `SELECT … FROM from … WHERE … GROUP BY … ORDER BY … LIMIT … OFFSET …` with
    /// `extra_conds` ANDed in.
    pub fn query(&self, from: &str, extra_conds: &[String], paged: bool) -> String {
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

struct EmbedInfo {
    name: String,
    alias: String,
    to_one: bool,
    /// NULL exactly when the embed has no rows (for `rel=is.null` and `!inner`).
    presence: String,
}

/// Renders select trees against the schema cache, binding values into `sql`.
pub struct SelectRenderer<'a> {
    cache: &'a SchemaCache,
    /// The statement's parameters.
    pub sql: &'a mut SqlText,
    mods: HashMap<EmbedPath, Modifiers>,
    visited: HashSet<EmbedPath>,
    aggregates: bool,
}

impl<'a> SelectRenderer<'a> {
    /// A renderer for one request.
    pub fn new(
        cache: &'a SchemaCache,
        sql: &'a mut SqlText,
        mods: HashMap<EmbedPath, Modifiers>,
    ) -> Self {
        Self {
            cache,
            sql,
            mods,
            visited: HashSet::new(),
            aggregates: cache
                .settings
                .get("db_aggregates_enabled")
                .is_some_and(|v| v == "true"),
        }
    }

    /// Fails with `PGRST108` when a modifier addresses an embed that the select does not have.
    pub fn check_all_used(&self) -> Result<(), Error> {
        for (path, m) in &self.mods {
            if path.is_empty() || self.visited.contains(path) {
                continue;
            }
            if m.filters.is_empty()
                && m.logic.is_empty()
                && m.order.is_empty()
                && m.limit.is_none()
                && m.offset.is_none()
            {
                continue;
            }
            let name = path.last().cloned().unwrap_or_default();
            return Err(Error::new(
                400,
                "PGRST108",
                format!("'{name}' is not an embedded resource in this request"),
            )
            .hint(format!(
                "Verify that '{name}' is included in the 'select' query parameter."
            )));
        }
        Ok(())
    }

    /// Modifiers of the root node (`path = []`).
    pub fn root_modifiers(&self) -> Modifiers {
        self.mods.get(&Vec::new()).cloned().unwrap_or_default()
    }

    /// Renders the node for `table` (`origin` for relationships), whose rows are referred to
    /// as `reference`, with `items` selected, at `path`. In `spread` mode (a to-one spread)
    /// aggregates are left to the parent in [`NodeSql::hoisted`].
    pub fn node(
        &mut self,
        origin: &QualifiedName,
        table: Option<&Table>,
        reference: &str,
        items: &[SelectItem],
        path: &EmbedPath,
    ) -> Result<NodeSql, Error> {
        self.node_with(origin, table, reference, items, path, false)
    }

    fn node_with(
        &mut self,
        origin: &QualifiedName,
        table: Option<&Table>,
        reference: &str,
        items: &[SelectItem],
        path: &EmbedPath,
        spread: bool,
    ) -> Result<NodeSql, Error> {
        self.visited.insert(path.clone());
        let mods = self.mods.get(path).cloned().unwrap_or_default();
        let mut node = NodeSql {
            limit: mods.limit,
            offset: mods.offset,
            ..Default::default()
        };
        let mut embeds: Vec<EmbedInfo> = Vec::new();
        for item in items {
            match item {
                SelectItem::Star => {
                    match table {
                        Some(t) => {
                            node.select.push(format!("{reference}.*"));
                            for c in &t.columns {
                                node.group_by
                                    .push(format!("{reference}.{}", ident(&c.name)));
                                node.out_names.push(c.name.clone());
                            }
                        }
                        None => {
                            node.select.push(format!("{reference}.*"));
                            node.group_by.push(reference.to_string());
                        }
                    }
                    if spread {
                        for c in table.map(|t| t.columns.as_slice()).unwrap_or(&[]) {
                            node.hoisted.push((c.name.clone(), None, None));
                        }
                    }
                }
                SelectItem::Column {
                    field,
                    alias,
                    cast,
                    aggregate,
                    aggregate_cast,
                } => {
                    let mut expr = self.field_expr(table, reference, field);
                    if let Some(ty) = cast {
                        expr = cast_expr(&expr, ty)?;
                    }
                    match aggregate {
                        Some(agg) => {
                            if !self.aggregates {
                                return Err(aggregates_disabled());
                            }
                            let name = alias.clone().unwrap_or_else(|| agg_name(*agg).into());
                            if spread {
                                node.select.push(format!("{expr} AS {}", ident(&name)));
                                node.hoisted.push((
                                    name.clone(),
                                    Some(*agg),
                                    aggregate_cast.clone(),
                                ));
                            } else {
                                let applied = apply_aggregate(*agg, &expr, aggregate_cast)?;
                                node.select.push(format!("{applied} AS {}", ident(&name)));
                                node.aggregated = true;
                            }
                            node.out_names.push(name);
                        }
                        None => {
                            if aggregate_cast.is_some() {
                                return Err(aggregates_disabled());
                            }
                            let name = alias.clone().unwrap_or_else(|| output_name(field));
                            node.select.push(format!("{expr} AS {}", ident(&name)));
                            node.group_by.push(expr);
                            if spread {
                                node.hoisted.push((name.clone(), None, None));
                            }
                            node.out_names.push(name);
                        }
                    }
                }
                SelectItem::Count { alias, cast } => {
                    if !self.aggregates {
                        return Err(aggregates_disabled());
                    }
                    let name = alias.clone().unwrap_or_else(|| "count".into());
                    if spread {
                        node.hoisted
                            .push((name.clone(), Some(Aggregate::Count), cast.clone()));
                    } else {
                        let applied = apply_aggregate(Aggregate::Count, "*", cast)?;
                        node.select.push(format!("{applied} AS {}", ident(&name)));
                        node.aggregated = true;
                    }
                    node.out_names.push(name);
                }
                SelectItem::Embed {
                    relation,
                    alias,
                    hint,
                    join,
                    spread: is_spread,
                    select,
                } => {
                    let rel = find_relationship(self.cache, origin, relation, hint.as_deref())?;
                    let out = alias.clone().unwrap_or_else(|| relation.clone());
                    let mut child_path = path.clone();
                    child_path.push(out.clone());
                    // PostgREST's names: `<target>_<depth>` for the embedded rows and
                    // `<origin>_<name>_<depth>` for the joined subquery (errors quote them).
                    let depth = child_path.len();
                    let sql_alias = format!(
                        "{}_{}_{depth}",
                        origin.name,
                        alias.as_deref().unwrap_or(relation)
                    );
                    let table_alias = format!("{}_{depth}", rel.target.name);
                    let a = ident(&sql_alias);
                    let to_one = rel.is_to_one();
                    let inner = *join == Some(JoinType::Inner);
                    let join_kind = if inner { "INNER" } else { "LEFT" };
                    let child_spread = *is_spread && to_one;
                    let (child_sql, child) = self.embed_query(
                        &rel,
                        reference,
                        &table_alias,
                        select,
                        &child_path,
                        child_spread,
                    )?;
                    let presence;
                    match (*is_spread, to_one) {
                        (false, true) => {
                            node.joins.push(format!(
                                "{join_kind} JOIN LATERAL ({child_sql}) AS {a} ON TRUE"
                            ));
                            presence = format!("row_to_json({a}.*)");
                            if !select.is_empty() {
                                let body = format!("row_to_json({a}.*)::jsonb");
                                node.select.push(format!("{body} AS {}", ident(&out)));
                                node.group_by.push(body);
                                node.out_names.push(out.clone());
                                if spread {
                                    node.hoisted.push((out.clone(), None, None));
                                }
                            }
                        }
                        (false, false) => {
                            let on = if inner {
                                format!("{a}.\"pgrst_body\" IS NOT NULL")
                            } else {
                                "TRUE".to_string()
                            };
                            node.joins.push(format!(
                                "{join_kind} JOIN LATERAL (SELECT json_agg(\"pgrst_e\")::jsonb AS \"pgrst_body\" FROM ({child_sql}) AS \"pgrst_e\") AS {a} ON {on}"
                            ));
                            presence = format!("{a}.\"pgrst_body\"");
                            if !select.is_empty() {
                                let body = format!("COALESCE({a}.\"pgrst_body\", '[]')");
                                node.select.push(format!("{body} AS {}", ident(&out)));
                                node.group_by.push(body);
                                node.out_names.push(out.clone());
                                if spread {
                                    node.hoisted.push((out.clone(), None, None));
                                }
                            }
                        }
                        (true, true) => {
                            node.joins.push(format!(
                                "{join_kind} JOIN LATERAL ({child_sql}) AS {a} ON TRUE"
                            ));
                            presence = format!("row_to_json({a}.*)");
                            for (name, agg, agg_cast) in &child.hoisted {
                                let col = format!("{a}.{}", ident(name));
                                match agg {
                                    Some(agg) => {
                                        if spread {
                                            node.select.push(format!("{col} AS {}", ident(name)));
                                            node.hoisted.push((
                                                name.clone(),
                                                Some(*agg),
                                                agg_cast.clone(),
                                            ));
                                        } else {
                                            // `count()` in a spread counts its rows.
                                            let selected = format!(" AS {}", ident(name));
                                            let arg = if *agg == Aggregate::Count
                                                && !child
                                                    .select
                                                    .iter()
                                                    .any(|s| s.ends_with(&selected))
                                            {
                                                format!("{a}.*")
                                            } else {
                                                col
                                            };
                                            let applied = apply_aggregate(*agg, &arg, agg_cast)?;
                                            node.select
                                                .push(format!("{applied} AS {}", ident(name)));
                                            node.aggregated = true;
                                        }
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
                        }
                        (true, false) => {
                            if child.aggregated || !child.hoisted.is_empty() {
                                return Err(Error::new(400, "PGRST127", "Feature not implemented")
                                    .details("Aggregates are not implemented for one-to-many or many-to-many spreads."));
                            }
                            let mut cols = vec!["count(*) AS \"pgrst_n\"".to_string()];
                            for name in &child.out_names {
                                cols.push(format!(
                                    "COALESCE(json_agg(\"pgrst_e\".{n}), '[]')::jsonb AS {n}",
                                    n = ident(name)
                                ));
                            }
                            let on = if inner {
                                format!("{a}.\"pgrst_n\" > 0")
                            } else {
                                "TRUE".to_string()
                            };
                            node.joins.push(format!(
                                "{join_kind} JOIN LATERAL (SELECT {} FROM ({child_sql}) AS \"pgrst_e\") AS {a} ON {on}",
                                cols.join(", ")
                            ));
                            presence = format!("NULLIF({a}.\"pgrst_n\", 0)");
                            for name in &child.out_names {
                                let col = format!("{a}.{}", ident(name));
                                node.select.push(format!("{col} AS {}", ident(name)));
                                node.group_by.push(col);
                                if spread {
                                    node.hoisted.push((name.clone(), None, None));
                                }
                                node.out_names.push(name.clone());
                            }
                        }
                    }
                    embeds.push(EmbedInfo {
                        name: out,
                        alias: sql_alias,
                        to_one,
                        presence,
                    });
                }
            }
        }
        for f in &mods.filters {
            if let Some(e) = embeds.iter().find(|e| e.name == f.field.name) {
                node.conds.push(embed_null_check(&e.presence, f)?);
                continue;
            }
            let cond = self.filter_cond(table, reference, f)?;
            node.conds.push(cond);
        }
        for tree in &mods.logic {
            let cond = self.logic_cond(table, reference, tree, &embeds)?;
            node.conds.push(cond);
        }
        for term in &mods.order {
            let expr = match &term.relation {
                None => self.field_expr(table, reference, &term.field),
                Some(rel) => {
                    let Some(e) = embeds.iter().find(|e| &e.name == rel) else {
                        return Err(Error::new(
                            400,
                            "PGRST108",
                            format!("'{rel}' is not an embedded resource in this request"),
                        )
                        .hint(format!(
                            "Verify that '{rel}' is included in the 'select' query parameter."
                        )));
                    };
                    if !e.to_one {
                        return Err(Error::new(
                            400,
                            "PGRST118",
                            format!("A related order on '{rel}' is not possible"),
                        )
                        .details(format!("'{rel}' is not a to-one relationship")));
                    }
                    self.field_expr(None, &ident(&e.alias), &term.field)
                }
            };
            let mut s = expr;
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
        Ok(node)
    }

    /// The query of one embed's rows, correlated to `parent_ref`; returns it and its node.
    fn embed_query(
        &mut self,
        rel: &Relationship,
        parent_ref: &str,
        alias: &str,
        items: &[SelectItem],
        path: &EmbedPath,
        spread: bool,
    ) -> Result<(String, NodeSql), Error> {
        let cache = self.cache;
        let target = cache.tables.get(&rel.target);
        let child_ref = ident(alias);
        let child = self.node_with(&rel.target, target, &child_ref, items, path, spread)?;
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
        Ok((sql, child))
    }

    /// The SQL expression of a column with its JSON path.
    pub fn field_expr(&mut self, table: Option<&Table>, reference: &str, field: &Field) -> String {
        let mut expr = format!("{reference}.{}", ident(&field.name));
        if field.json_path.is_empty() {
            return expr;
        }
        let is_json = table
            .and_then(|t| t.column(&field.name))
            .map(|c| c.is_json())
            .unwrap_or(true);
        if !is_json {
            expr = format!("to_jsonb({expr})");
        }
        for op in &field.json_path {
            let (arrow, key) = match op {
                JsonOp::Arrow(k) => ("->", k),
                JsonOp::DoubleArrow(k) => ("->>", k),
            };
            match key {
                JsonKey::Key(k) => {
                    let p = self.sql.bind(k.clone());
                    expr = format!("{expr}{arrow}{p}::text");
                }
                JsonKey::Index(i) => expr = format!("{expr}{arrow}{i}"),
            }
        }
        expr
    }

    /// One filter as a SQL condition.
    pub fn filter_cond(
        &mut self,
        table: Option<&Table>,
        reference: &str,
        f: &Filter,
    ) -> Result<String, Error> {
        let lhs = self.field_expr(table, reference, &f.field);
        let cond = match &f.operation {
            Operation::Compare {
                op,
                quantifier,
                value,
            } => {
                let sql_op = match op {
                    CompareOp::Eq => "=",
                    CompareOp::Neq => "<>",
                    CompareOp::Gt => ">",
                    CompareOp::Gte => ">=",
                    CompareOp::Lt => "<",
                    CompareOp::Lte => "<=",
                    CompareOp::Like => "LIKE",
                    CompareOp::Ilike => "ILIKE",
                    CompareOp::Match => "~",
                    CompareOp::Imatch => "~*",
                };
                let p = self.sql.bind(value.clone());
                match quantifier {
                    None => format!("{lhs} {sql_op} {p}"),
                    Some(Quantifier::Any) => format!("{lhs} {sql_op} ANY({p})"),
                    Some(Quantifier::All) => format!("{lhs} {sql_op} ALL({p})"),
                }
            }
            Operation::In(items) => {
                let p = self.sql.bind(array_literal(items));
                format!("{lhs} = ANY({p})")
            }
            Operation::Is(v) => {
                let rhs = match v {
                    IsValue::Null => "NULL",
                    IsValue::NotNull => "NOT NULL",
                    IsValue::True => "TRUE",
                    IsValue::False => "FALSE",
                    IsValue::Unknown => "UNKNOWN",
                };
                format!("{lhs} IS {rhs}")
            }
            Operation::IsDistinct(v) => {
                let p = self.sql.bind(v.clone());
                format!("{lhs} IS DISTINCT FROM {p}")
            }
            Operation::Fts {
                kind,
                config,
                value,
            } => {
                let func = match kind {
                    FtsKind::Fts => "to_tsquery",
                    FtsKind::Plain => "plainto_tsquery",
                    FtsKind::Phrase => "phraseto_tsquery",
                    FtsKind::Websearch => "websearch_to_tsquery",
                };
                let is_tsvector = table
                    .and_then(|t| t.column(&f.field.name))
                    .map(|c| c.base_type == "tsvector")
                    .unwrap_or(true)
                    && f.field.json_path.is_empty();
                let cfg = config.as_ref().map(|c| self.sql.bind(c.clone()));
                let vector = match (&cfg, is_tsvector) {
                    (_, true) => lhs,
                    (Some(c), false) => format!("to_tsvector({c}::regconfig, {lhs})"),
                    (None, false) => format!("to_tsvector({lhs})"),
                };
                let p = self.sql.bind(value.clone());
                match cfg {
                    Some(c) => format!("{vector} @@ {func}({c}::regconfig, {p})"),
                    None => format!("{vector} @@ {func}({p})"),
                }
            }
            Operation::Range { op, value } => {
                let sql_op = match op {
                    RangeOp::Contains => "@>",
                    RangeOp::ContainedIn => "<@",
                    RangeOp::Overlap => "&&",
                    RangeOp::StrictlyLeft => "<<",
                    RangeOp::StrictlyRight => ">>",
                    RangeOp::NotExtendRight => "&<",
                    RangeOp::NotExtendLeft => "&>",
                    RangeOp::Adjacent => "-|-",
                };
                let p = self.sql.bind(value.clone());
                format!("{lhs} {sql_op} {p}")
            }
        };
        Ok(if f.negated {
            format!("NOT ({cond})")
        } else {
            cond
        })
    }

    fn logic_cond(
        &mut self,
        table: Option<&Table>,
        reference: &str,
        tree: &LogicTree,
        embeds: &[EmbedInfo],
    ) -> Result<String, Error> {
        match tree {
            LogicTree::Leaf(f) => {
                if let Some(e) = embeds.iter().find(|e| e.name == f.field.name) {
                    return embed_null_check(&e.presence, f);
                }
                self.filter_cond(table, reference, f)
            }
            LogicTree::Expr {
                negated,
                op,
                children,
            } => {
                let mut parts = Vec::new();
                for c in children {
                    parts.push(self.logic_cond(table, reference, c, embeds)?);
                }
                let joiner = match op {
                    LogicOp::And => " AND ",
                    LogicOp::Or => " OR ",
                };
                let inner = if parts.is_empty() {
                    match op {
                        LogicOp::And => "TRUE".to_string(),
                        LogicOp::Or => "FALSE".to_string(),
                    }
                } else {
                    parts.join(joiner)
                };
                Ok(if *negated {
                    format!("NOT ({inner})")
                } else {
                    format!("({inner})")
                })
            }
        }
    }
}

fn aggregates_disabled() -> Error {
    Error::new(400, "PGRST123", "Use of aggregate functions is not allowed")
}

fn agg_name(agg: Aggregate) -> &'static str {
    match agg {
        Aggregate::Sum => "sum",
        Aggregate::Avg => "avg",
        Aggregate::Count => "count",
        Aggregate::Max => "max",
        Aggregate::Min => "min",
    }
}

/// `SUM(expr)`, with the aggregate's cast (`CAST(SUM(expr) AS t)`).
fn apply_aggregate(agg: Aggregate, expr: &str, cast: &Option<String>) -> Result<String, Error> {
    let applied = format!("{}({expr})", agg_name(agg).to_uppercase());
    match cast {
        Some(ty) => cast_expr(&applied, ty),
        None => Ok(applied),
    }
}

fn cast_expr(expr: &str, ty: &str) -> Result<String, Error> {
    if !is_safe_type_name(ty) {
        return Err(Error::new(
            400,
            "PGRST100",
            format!("\"failed to parse select parameter ({ty})\""),
        ));
    }
    Ok(format!("CAST({expr} AS {ty})"))
}

/// The output key of a column item without alias: the last JSON key, else the column name.
pub fn output_name(field: &Field) -> String {
    field
        .json_path
        .iter()
        .rev()
        .find_map(|op| match op {
            JsonOp::Arrow(JsonKey::Key(k)) | JsonOp::DoubleArrow(JsonKey::Key(k)) => {
                Some(k.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| field.name.clone())
}

/// `rel=is.null` / `rel=not.is.null` on an embed: an anti-join / semi-join (PGRST120 otherwise).
fn embed_null_check(presence: &str, f: &Filter) -> Result<String, Error> {
    if !f.field.json_path.is_empty() {
        return Err(only_null_on_embeds());
    }
    let exists = match (&f.operation, f.negated) {
        (Operation::Is(IsValue::Null), false) => false,
        (Operation::Is(IsValue::Null), true) => true,
        (Operation::Is(IsValue::NotNull), false) => true,
        (Operation::Is(IsValue::NotNull), true) => false,
        _ => return Err(only_null_on_embeds()),
    };
    Ok(if exists {
        format!("{presence} IS NOT NULL")
    } else {
        format!("{presence} IS NULL")
    })
}

fn only_null_on_embeds() -> Error {
    Error::new(
        400,
        "PGRST120",
        "Only is null or not is null filters are allowed on embedded resources",
    )
}
