//! The syntax tree of a PostgREST query string, mirroring the request types of
//! `PostgREST/ApiRequest/Types.hs` (`SelectItem`, `Filter`, `OpExpr`, `LogicTree`,
//! `OrderTerm`, …) and the `QueryParams` record of `ApiRequest/QueryParams.hs`.
//!
//! Differences from the Haskell types are of shape only: the select forest is nested
//! (`SelectItem::Embed` holds its children), `*` and `count()` get their own variants, and
//! the operators are split into the families the SQL renderer treats alike.

pub use crate::error::ParseError;

/// A column reference with an optional JSON path: `data->a->>b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The column (or computed field / embedded resource) name, unquoted.
    pub name: String,
    /// The `->` / `->>` steps after the name, in order.
    pub json_path: Vec<JsonOp>,
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonOp {
    /// `->key`: yields json/jsonb.
    Arrow(JsonKey),
    /// `->>key`: yields text.
    DoubleArrow(JsonKey),
}

/// The operand of a JSON path step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonKey {
    /// An object key (`->name`, `->"a.b"`).
    Key(String),
    /// An array index (`->0`, `->-1`).
    Index(i64),
}

/// Aggregate functions allowed in `select` (`col.sum()`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `sum()`
    Sum,
    /// `avg()`
    Avg,
    /// `count()`
    Count,
    /// `max()`
    Max,
    /// `min()`
    Min,
}

/// Join type of an embed (`!inner`, `!left`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinType {
    /// `!inner`: parents without matching embedded rows are dropped.
    Inner,
    /// `!left`: the default.
    Left,
}

/// One item of `select=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    /// `*` (also a bare quoted `"*"`, which PostgREST cannot tell apart from it).
    Star,
    /// `alias:field::cast.agg()::aggcast`.
    Column {
        /// The column and its JSON path.
        field: Field,
        /// `alias:` prefix.
        alias: Option<String>,
        /// `::type` right after the field.
        cast: Option<String>,
        /// `.sum()`, `.count()`, …
        aggregate: Option<Aggregate>,
        /// `::type` after the aggregate.
        aggregate_cast: Option<String>,
    },
    /// bare `count()` (aggregate over the whole row set), with optional alias and cast
    Count {
        /// `alias:` prefix.
        alias: Option<String>,
        /// `::type` after `count()`.
        cast: Option<String>,
    },
    /// `alias:relation!hint!inner(select)` or `...relation!hint(select)` (spread = true, alias None)
    Embed {
        /// The relation (table, view, FK or column name) to embed.
        relation: String,
        /// `alias:` prefix (never set on a spread).
        alias: Option<String>,
        /// `!hint` disambiguating the relationship.
        hint: Option<String>,
        /// `!inner` / `!left`.
        join: Option<JoinType>,
        /// `...relation(…)`.
        spread: bool,
        /// The embedded select list (empty for `rel()`).
        select: Vec<SelectItem>,
    },
}

/// Comparison operators, the ones that take an `(any)` / `(all)` modifier plus `neq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq` (`=`)
    Eq,
    /// `neq` (`<>`); never quantified
    Neq,
    /// `gt` (`>`)
    Gt,
    /// `gte` (`>=`)
    Gte,
    /// `lt` (`<`)
    Lt,
    /// `lte` (`<=`)
    Lte,
    /// `like`
    Like,
    /// `ilike`
    Ilike,
    /// `match` (`~`)
    Match,
    /// `imatch` (`~*`)
    Imatch,
}

/// `(any)` / `(all)` modifier of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// `(any)`: `op ANY(array)`
    Any,
    /// `(all)`: `op ALL(array)`
    All,
}

/// Right-hand side of `is`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    /// `is.null`
    Null,
    /// `is.not_null`
    NotNull,
    /// `is.true`
    True,
    /// `is.false`
    False,
    /// `is.unknown`
    Unknown,
}

/// Full-text search flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtsKind {
    /// `fts`: `to_tsquery`
    Fts,
    /// `plfts`: `plainto_tsquery`
    Plain,
    /// `phfts`: `phraseto_tsquery`
    Phrase,
    /// `wfts`: `websearch_to_tsquery`
    Websearch,
}

/// Array / range operators: `cs cd ov sl sr nxr nxl adj`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    /// `cs` (`@>`)
    Contains,
    /// `cd` (`<@`)
    ContainedIn,
    /// `ov` (`&&`)
    Overlap,
    /// `sl` (`<<`)
    StrictlyLeft,
    /// `sr` (`>>`)
    StrictlyRight,
    /// `nxr` (`&<`)
    NotExtendRight,
    /// `nxl` (`&>`)
    NotExtendLeft,
    /// `adj` (`-|-`)
    Adjacent,
}

/// The operator and operand of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `eq.v`, `like(any).{a,b}`; `value` is the raw text after the operator dot (for like/ilike the `*`->`%` replacement is done by the parser; for quantified ops, value is the `{...}` array literal text, also with `*`->`%` for like/ilike)
    Compare {
        /// The comparison.
        op: CompareOp,
        /// `(any)` / `(all)`.
        quantifier: Option<Quantifier>,
        /// The operand text.
        value: String,
    },
    /// `in.(a,"b,c")` -> vec!["a", "b,c"]; quoted elements unescape `\"` and `\\`; `in.()` -> empty vec
    In(Vec<String>),
    /// `is.null`, `is.true`, …
    Is(IsValue),
    /// `isdistinct.v`
    IsDistinct(String),
    /// `fts(config).value` and friends.
    Fts {
        /// Which `*to_tsquery` function.
        kind: FtsKind,
        /// The text search configuration, `fts(english)`.
        config: Option<String>,
        /// The query text.
        value: String,
    },
    /// `cs.{1,2}`, `adj.[1,5)`, …
    Range {
        /// The operator.
        op: RangeOp,
        /// The operand text (array, range or JSON literal).
        value: String,
    },
}

/// A horizontal filter `field=[not.]op.value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The filtered column (with JSON path).
    pub field: Field,
    /// `not.` prefix.
    pub negated: bool,
    /// Operator and operand.
    pub operation: Operation,
}

/// `and` / `or`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOp {
    /// `and(…)`
    And,
    /// `or(…)`
    Or,
}

/// A boolean tree from `or=(…)` / `and=(…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogicTree {
    /// `[not.]and(…)` / `[not.]or(…)`.
    Expr {
        /// `not.` prefix.
        negated: bool,
        /// `and` / `or`.
        op: LogicOp,
        /// At least one child.
        children: Vec<LogicTree>,
    },
    /// a leaf `field.op.value`; `rel.is.null` / `rel.not.is.null` arrive as a Filter whose field name is the leading path, see below
    Leaf(Filter),
}

/// `.asc` / `.desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `.asc`
    Asc,
    /// `.desc`
    Desc,
}

/// `.nullsfirst` / `.nullslast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// `.nullsfirst`
    First,
    /// `.nullslast`
    Last,
}

/// One term of `order=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerm {
    /// The column (with JSON path) to order by.
    pub field: Field,
    /// `order=rel(col).desc` -> Some("rel")
    pub relation: Option<String>,
    /// Explicit direction, if any.
    pub direction: Option<Direction>,
    /// Explicit null placement, if any.
    pub nulls: Option<Nulls>,
}

/// Each `EmbedPath` is the dotted prefix before the last key segment (empty = root), e.g. `roles.actors.order=…` -> vec!["roles","actors"].
pub type EmbedPath = Vec<String>;

/// Everything a request's query string says, classified as PostgREST's QueryParams.hs does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    /// `select=`; None when absent ( = `*`), `Some(vec![])` for an empty `select=`.
    pub select: Option<Vec<SelectItem>>,
    /// `columns="a","b",c` (duplicates removed, first occurrence kept).
    pub columns: Option<Vec<String>>,
    /// `on_conflict=a,b`.
    pub on_conflict: Option<Vec<String>>,
    /// Root filters have an empty path; `tags.name=eq.x` -> (["tags"], name eq x).
    pub filters: Vec<(EmbedPath, Filter)>,
    /// `or=(…)`, `and=(…)`, `not.or=(…)`, `rel.or=(…)`.
    pub logic: Vec<(EmbedPath, LogicTree)>,
    /// Every `order` / `rel.order` param, in query-string order.
    pub order: Vec<(EmbedPath, Vec<OrderTerm>)>,
    /// `limit` per embed path (the last one wins; always `>= 0`).
    pub limit: Vec<(EmbedPath, i64)>,
    /// `offset` per embed path (the last one wins; negative values are clamped to 0).
    pub offset: Vec<(EmbedPath, i64)>,
    /// only filled when `rpc_get` is true: params whose value does not parse as an operator expression (function arguments), in order, repeated keys kept
    pub rpc_args: Vec<(String, String)>,
}
