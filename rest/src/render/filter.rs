//! Rendering filters, as PostgREST's `Query/SqlFragment.hs` (`pgFmtFilter`, `pgFmtLogicTree`,
//! `pgFmtField`, `pgFmtJsonPath`): a column with its JSON path and cast, each operator with its
//! value bound as a parameter, and `and`/`or`/`not` trees of them.

use bucketbase_grammar::{
    CompareOp, Field, Filter, FtsKind, IsValue, JsonKey, JsonOp, LogicOp, Operation, Quantifier,
    RangeOp,
};

use super::read::{EmbedSql, ReadRenderer};
use super::sql_text::{array_literal, ident};
use crate::plan::read::{FilterPlan, LogicPlan};
use crate::schema_cache::Table;

impl ReadRenderer<'_> {
    /// The SQL expression of a column with its JSON path.
    pub(crate) fn field_expr(
        &mut self,
        table: Option<&Table>,
        reference: &str,
        field: &Field,
    ) -> String {
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
    pub(crate) fn filter_cond(
        &mut self,
        table: Option<&Table>,
        reference: &str,
        f: &Filter,
    ) -> String {
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
        if f.negated {
            format!("NOT ({cond})")
        } else {
            cond
        }
    }

    /// A planned filter as a SQL condition (`embeds`: the node's rendered embeds).
    pub(super) fn condition(
        &mut self,
        table: Option<&Table>,
        reference: &str,
        f: &FilterPlan<'_>,
        embeds: &[EmbedSql],
    ) -> String {
        match f {
            FilterPlan::Column(f) => self.filter_cond(table, reference, f),
            FilterPlan::Presence { embed, exists } => {
                let presence = &embeds[*embed].presence;
                if *exists {
                    format!("{presence} IS NOT NULL")
                } else {
                    format!("{presence} IS NULL")
                }
            }
        }
    }

    /// The conditions of a write's `WHERE` (no embeds), rendered against `reference`.
    pub(crate) fn conditions(
        &mut self,
        table: &Table,
        reference: &str,
        filters: &[FilterPlan<'_>],
        logic: Option<&LogicPlan<'_>>,
    ) -> Vec<String> {
        let mut conds: Vec<String> = filters
            .iter()
            .map(|f| self.condition(Some(table), reference, f, &[]))
            .collect();
        if let Some(tree) = logic {
            conds.push(self.logic_cond(Some(table), reference, tree, &[]));
        }
        conds
    }

    pub(super) fn logic_cond(
        &mut self,
        table: Option<&Table>,
        reference: &str,
        tree: &LogicPlan<'_>,
        embeds: &[EmbedSql],
    ) -> String {
        match tree {
            LogicPlan::Filter(f) => self.condition(table, reference, f, embeds),
            LogicPlan::Expr {
                negated,
                op,
                children,
            } => {
                let parts: Vec<String> = children
                    .iter()
                    .map(|c| self.logic_cond(table, reference, c, embeds))
                    .collect();
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
                if *negated {
                    format!("NOT ({inner})")
                } else {
                    format!("({inner})")
                }
            }
        }
    }
}
