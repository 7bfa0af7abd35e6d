//! The read plan, as PostgREST's `Plan.hs` (`readPlan`, its `ReadPlanTree`): the `select` tree
//! with every embed resolved to one relationship of the schema cache, the filters, logic trees,
//! order and paging of each node attached to it, and the checks PostgREST makes before any SQL
//! (`PGRST100` casts, `PGRST108` unknown embeds, `PGRST118` related orders, `PGRST120` embed
//! filters, `PGRST123` disabled aggregates, `PGRST127` aggregates in to-many spreads).
//! The plan holds no SQL; `render::read` turns it into a query.

use std::collections::{HashMap, HashSet};

use bucketbase_grammar::{
    Aggregate, EmbedPath, Field, Filter, IsValue, JoinType, JsonKey, JsonOp, LogicOp, LogicTree,
    Operation, OrderTerm, QueryParams, SelectItem,
};

use super::embed::find_relationship;
use crate::error::{Error, ErrorCode};
use crate::render::sql_text::is_safe_type_name;
use crate::schema_cache::{QualifiedName, Relationship, SchemaCache, Table};

/// Filters, logic trees, order and paging addressed to one node of the select tree.
#[derive(Debug, Default, Clone)]
pub(crate) struct Modifiers<'q> {
    /// `col=op.value` filters.
    pub(crate) filters: Vec<&'q Filter>,
    /// `or=(…)` / `and=(…)` trees.
    pub(crate) logic: Vec<&'q LogicTree>,
    /// `order=`.
    pub(crate) order: Vec<&'q OrderTerm>,
    /// `limit=`.
    pub(crate) limit: Option<i64>,
    /// `offset=`.
    pub(crate) offset: Option<i64>,
}

impl Modifiers<'_> {
    fn is_empty(&self) -> bool {
        self.filters.is_empty()
            && self.logic.is_empty()
            && self.order.is_empty()
            && self.limit.is_none()
            && self.offset.is_none()
    }
}

/// The modifiers of a request, by embed path.
pub(crate) fn modifiers_by_path(q: &QueryParams) -> HashMap<&EmbedPath, Modifiers<'_>> {
    let mut map: HashMap<&EmbedPath, Modifiers<'_>> = HashMap::new();
    for (path, f) in &q.filters {
        map.entry(path).or_default().filters.push(f);
    }
    for (path, l) in &q.logic {
        map.entry(path).or_default().logic.push(l);
    }
    for (path, o) in &q.order {
        map.entry(path).or_default().order.extend(o.iter());
    }
    for (path, l) in &q.limit {
        map.entry(path).or_default().limit = Some(*l);
    }
    for (path, o) in &q.offset {
        map.entry(path).or_default().offset = Some(*o);
    }
    map
}

/// One node of the read plan: the rows of a relation (or of a function's result) and what is
/// selected, filtered and ordered on them.
#[derive(Debug)]
pub(crate) struct ReadPlan<'a> {
    /// The relation the rows come from (`None` for a function's record or scalar result).
    pub(crate) table: Option<&'a Table>,
    /// The selected items, in request order.
    pub(crate) items: Vec<SelectPlan<'a>>,
    /// Filters, ANDed.
    pub(crate) filters: Vec<FilterPlan<'a>>,
    /// `or=`/`and=` trees, ANDed.
    pub(crate) logic: Vec<LogicPlan<'a>>,
    /// `order=` terms.
    pub(crate) order: Vec<OrderPlan<'a>>,
    /// `limit=` (for the root, capped by `db-max-rows`).
    pub(crate) limit: Option<i64>,
    /// `offset=`.
    pub(crate) offset: Option<i64>,
    /// A to-one spread (`...rel(…)`): aggregates are left to the parent node.
    pub(crate) spread: bool,
}

/// One selected item of a node.
#[derive(Debug)]
pub(crate) enum SelectPlan<'a> {
    /// `*`: every column of the relation (or the whole record).
    Star,
    /// A column (with JSON path), optionally cast and aggregated.
    Column {
        /// The column and its JSON path.
        field: &'a Field,
        /// The output key.
        name: String,
        /// `::type` of the column (checked safe to paste).
        cast: Option<&'a str>,
        /// `.sum()`, `.avg()`, …
        aggregate: Option<Aggregate>,
        /// `::type` of the aggregate (checked safe to paste).
        aggregate_cast: Option<&'a str>,
    },
    /// `count()`.
    Count {
        /// The output key.
        name: String,
        /// `::type` of the count.
        cast: Option<&'a str>,
    },
    /// An embedded resource.
    Embed(Box<EmbedPlan<'a>>),
}

/// An embed resolved to its relationship.
#[derive(Debug)]
pub(crate) struct EmbedPlan<'a> {
    /// The relationship that `relation[!hint]` designates.
    pub(crate) relationship: &'a Relationship,
    /// The output key (alias or relation name); also the name filters address it by.
    pub(crate) name: String,
    /// PostgREST's `<origin>_<name>_<depth>`: the joined subquery.
    pub(crate) join_alias: String,
    /// PostgREST's `<target>_<depth>`: the embedded rows.
    pub(crate) rows_alias: String,
    /// `!inner`.
    pub(crate) inner: bool,
    /// `...rel(…)`.
    pub(crate) spread: bool,
    /// The relationship yields one object.
    pub(crate) to_one: bool,
    /// `rel()` selects nothing (only filters with it).
    pub(crate) selects_nothing: bool,
    /// The embedded node.
    pub(crate) child: ReadPlan<'a>,
}

/// A filter of a node.
#[derive(Debug)]
pub(crate) enum FilterPlan<'a> {
    /// A condition on a column.
    Column(&'a Filter),
    /// `rel=is.null` / `rel=not.is.null`: whether the node's `embed`-th embed has rows.
    Presence {
        /// Index of the embed among the node's embeds (in item order).
        embed: usize,
        /// True for `not.is.null`.
        exists: bool,
    },
}

/// A logic tree with its leaves planned.
#[derive(Debug)]
pub(crate) enum LogicPlan<'a> {
    /// A leaf.
    Filter(FilterPlan<'a>),
    /// `[not.]and(…)` / `[not.]or(…)`.
    Expr {
        /// `not.`.
        negated: bool,
        /// AND or OR.
        op: LogicOp,
        /// The operands.
        children: Vec<LogicPlan<'a>>,
    },
}

/// An order term, on a column of the node or of one of its to-one embeds.
#[derive(Debug)]
pub(crate) struct OrderPlan<'a> {
    /// The term as requested.
    pub(crate) term: &'a OrderTerm,
    /// `Some(i)`: the column is the node's `i`-th embed's (a related order).
    pub(crate) embed: Option<usize>,
}

impl ReadPlan<'_> {
    /// True when the node aggregates: an aggregate of its own, or one a to-one spread below it
    /// leaves to it.
    pub(crate) fn aggregates(&self) -> bool {
        self.items.iter().any(|i| match i {
            SelectPlan::Column { aggregate, .. } => aggregate.is_some(),
            SelectPlan::Count { .. } => true,
            SelectPlan::Embed(e) => e.spread && e.to_one && e.child.aggregates(),
            SelectPlan::Star => false,
        })
    }
}

/// `select=*`, when the request has no `select`.
static STAR: [SelectItem; 1] = [SelectItem::Star];

/// Plans the read of the rows of `origin` (`table` when it is a relation) for the request's
/// `select` and modifiers, capping the root's `limit` at `max_rows`. Without
/// `root_conditions` the root's filters, logic and paging are left out (a mutation's
/// representation: those already chose the written rows).
pub(crate) fn plan_read<'a>(
    cache: &'a SchemaCache,
    query: &'a QueryParams,
    origin: &QualifiedName,
    table: Option<&'a Table>,
    max_rows: Option<i64>,
    root_conditions: bool,
) -> Result<ReadPlan<'a>, Error> {
    let items: &'a [SelectItem] = query.select.as_deref().unwrap_or(&STAR);
    let mut mods = modifiers_by_path(query);
    if !root_conditions {
        if let Some(root) = mods.get_mut(&Vec::new()) {
            root.filters.clear();
            root.logic.clear();
            root.limit = None;
            root.offset = None;
        }
    }
    let mut planner = ReadPlanner {
        cache,
        mods,
        visited: HashSet::new(),
        aggregates: cache
            .settings
            .get("db_aggregates_enabled")
            .is_some_and(|v| v == "true"),
    };
    let mut plan = planner.node(origin, table, items, &Vec::new(), false)?;
    planner.check_all_used()?;
    if let Some(max) = max_rows {
        plan.limit = Some(plan.limit.map_or(max, |l| l.min(max)));
    }
    Ok(plan)
}

/// Plans the conditions of a write's `WHERE`: the root filters and, ANDed in one tree, the
/// root logic trees (no embeds: those shape the representation, not the written rows).
pub(crate) fn plan_root_conditions(
    query: &QueryParams,
) -> Result<(Vec<FilterPlan<'_>>, Option<LogicPlan<'_>>), Error> {
    let filters = query
        .filters
        .iter()
        .filter(|(p, _)| p.is_empty())
        .map(|(_, f)| FilterPlan::Column(f))
        .collect();
    let logic: Vec<LogicPlan<'_>> = query
        .logic
        .iter()
        .filter(|(p, _)| p.is_empty())
        .map(|(_, tree)| plan_logic(tree, &[]))
        .collect::<Result<_, _>>()?;
    let tree = (!logic.is_empty()).then_some(LogicPlan::Expr {
        negated: false,
        op: LogicOp::And,
        children: logic,
    });
    Ok((filters, tree))
}

struct ReadPlanner<'a> {
    cache: &'a SchemaCache,
    mods: HashMap<&'a EmbedPath, Modifiers<'a>>,
    visited: HashSet<EmbedPath>,
    aggregates: bool,
}

impl<'a> ReadPlanner<'a> {
    /// Fails with `PGRST108` when a modifier addresses an embed that the select does not have.
    fn check_all_used(&self) -> Result<(), Error> {
        for (path, m) in &self.mods {
            if path.is_empty() || self.visited.contains(*path) || m.is_empty() {
                continue;
            }
            let name = path.last().cloned().unwrap_or_default();
            return Err(not_embedded(&name));
        }
        Ok(())
    }

    fn node(
        &mut self,
        origin: &QualifiedName,
        table: Option<&'a Table>,
        items: &'a [SelectItem],
        path: &EmbedPath,
        spread: bool,
    ) -> Result<ReadPlan<'a>, Error> {
        self.visited.insert(path.clone());
        let mods = self.mods.get(path).cloned().unwrap_or_default();
        let mut planned_items = Vec::with_capacity(items.len());
        for item in items {
            let planned = match item {
                SelectItem::Star => SelectPlan::Star,
                SelectItem::Column {
                    field,
                    alias,
                    cast,
                    aggregate,
                    aggregate_cast,
                } => {
                    let cast = checked_cast(cast)?;
                    match aggregate {
                        Some(_) if !self.aggregates => return Err(aggregates_disabled()),
                        None if aggregate_cast.is_some() => return Err(aggregates_disabled()),
                        Some(agg) => SelectPlan::Column {
                            field,
                            name: alias.clone().unwrap_or_else(|| agg_name(*agg).into()),
                            cast,
                            aggregate: Some(*agg),
                            aggregate_cast: checked_cast(aggregate_cast)?,
                        },
                        None => SelectPlan::Column {
                            field,
                            name: alias.clone().unwrap_or_else(|| output_name(field)),
                            cast,
                            aggregate: None,
                            aggregate_cast: None,
                        },
                    }
                }
                SelectItem::Count { alias, cast } => {
                    if !self.aggregates {
                        return Err(aggregates_disabled());
                    }
                    SelectPlan::Count {
                        name: alias.clone().unwrap_or_else(|| "count".into()),
                        cast: checked_cast(cast)?,
                    }
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
                    let name = alias.clone().unwrap_or_else(|| relation.clone());
                    let mut child_path = path.clone();
                    child_path.push(name.clone());
                    // PostgREST's names: `<target>_<depth>` for the embedded rows and
                    // `<origin>_<name>_<depth>` for the joined subquery (errors quote them).
                    let depth = child_path.len();
                    let join_alias = format!(
                        "{}_{}_{depth}",
                        origin.name,
                        alias.as_deref().unwrap_or(relation)
                    );
                    let rows_alias = format!("{}_{depth}", rel.target.name);
                    let to_one = rel.is_to_one();
                    let target = self.cache.tables.get(&rel.target);
                    let child = self.node(
                        &rel.target,
                        target,
                        select,
                        &child_path,
                        *is_spread && to_one,
                    )?;
                    if *is_spread && !to_one && child.aggregates() {
                        return Err(Error::new(ErrorCode::NotImplemented, "Feature not implemented").details(
                            "Aggregates are not implemented for one-to-many or many-to-many spreads.",
                        ));
                    }
                    SelectPlan::Embed(Box::new(EmbedPlan {
                        relationship: rel,
                        name,
                        join_alias,
                        rows_alias,
                        inner: *join == Some(JoinType::Inner),
                        spread: *is_spread,
                        to_one,
                        selects_nothing: select.is_empty(),
                        child,
                    }))
                }
            };
            planned_items.push(planned);
        }
        let embeds: Vec<&EmbedPlan<'a>> = embeds_of(&planned_items).collect();
        let names: Vec<&str> = embeds.iter().map(|e| e.name.as_str()).collect();
        let filters = mods
            .filters
            .iter()
            .map(|f| plan_filter(f, &names))
            .collect::<Result<_, _>>()?;
        let logic = mods
            .logic
            .iter()
            .map(|tree| plan_logic(tree, &names))
            .collect::<Result<_, _>>()?;
        let mut order = Vec::with_capacity(mods.order.len());
        for term in &mods.order {
            let embed = match &term.relation {
                None => None,
                Some(rel) => {
                    let Some(i) = names.iter().position(|n| n == rel) else {
                        return Err(not_embedded(rel));
                    };
                    if !embeds[i].to_one {
                        return Err(Error::new(
                            ErrorCode::RelatedOrderNotToOne,
                            format!("A related order on '{rel}' is not possible"),
                        )
                        .details(format!("'{rel}' is not a to-one relationship")));
                    }
                    Some(i)
                }
            };
            order.push(OrderPlan { term, embed });
        }
        Ok(ReadPlan {
            table,
            items: planned_items,
            filters,
            logic,
            order,
            limit: mods.limit,
            offset: mods.offset,
            spread,
        })
    }
}

fn embeds_of<'p, 'a>(items: &'p [SelectPlan<'a>]) -> impl Iterator<Item = &'p EmbedPlan<'a>> {
    items.iter().filter_map(|i| match i {
        SelectPlan::Embed(e) => Some(&**e),
        _ => None,
    })
}

/// A filter of a node: on one of its embeds (`names`) only `[not.]is.null`, with no JSON path
/// (`PGRST120`); on anything else a column condition.
fn plan_filter<'a>(f: &'a Filter, names: &[&str]) -> Result<FilterPlan<'a>, Error> {
    let Some(embed) = names.iter().position(|n| *n == f.field.name) else {
        return Ok(FilterPlan::Column(f));
    };
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
    Ok(FilterPlan::Presence { embed, exists })
}

fn plan_logic<'a>(tree: &'a LogicTree, names: &[&str]) -> Result<LogicPlan<'a>, Error> {
    Ok(match tree {
        LogicTree::Leaf(f) => LogicPlan::Filter(plan_filter(f, names)?),
        LogicTree::Expr {
            negated,
            op,
            children,
        } => LogicPlan::Expr {
            negated: *negated,
            op: *op,
            children: children
                .iter()
                .map(|c| plan_logic(c, names))
                .collect::<Result<_, _>>()?,
        },
    })
}

/// The cast of a select item, when safe to paste as a type name (`PGRST100` otherwise).
fn checked_cast(cast: &Option<String>) -> Result<Option<&str>, Error> {
    match cast.as_deref() {
        Some(ty) if !is_safe_type_name(ty) => Err(Error::new(
            ErrorCode::QueryParse,
            format!("\"failed to parse select parameter ({ty})\""),
        )),
        other => Ok(other),
    }
}

fn not_embedded(name: &str) -> Error {
    Error::new(
        ErrorCode::NotEmbedded,
        format!("'{name}' is not an embedded resource in this request"),
    )
    .hint(format!(
        "Verify that '{name}' is included in the 'select' query parameter."
    ))
}

fn aggregates_disabled() -> Error {
    Error::new(
        ErrorCode::AggregatesDisabled,
        "Use of aggregate functions is not allowed",
    )
}

fn only_null_on_embeds() -> Error {
    Error::new(
        ErrorCode::EmbedFilter,
        "Only is null or not is null filters are allowed on embedded resources",
    )
}

/// The lower-case name of an aggregate (its SQL function and default output key).
pub(crate) fn agg_name(agg: Aggregate) -> &'static str {
    match agg {
        Aggregate::Sum => "sum",
        Aggregate::Avg => "avg",
        Aggregate::Count => "count",
        Aggregate::Max => "max",
        Aggregate::Min => "min",
    }
}

/// The output key of a column item without alias: the last JSON key, else the column name.
pub(crate) fn output_name(field: &Field) -> String {
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
