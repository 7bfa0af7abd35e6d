//! The mutate plan, as PostgREST's `Plan.hs` (`mutatePlan`, its `MutatePlan`): which write on
//! which relation, the columns it sets (from `columns=` or the payload's keys, `PGRST204` for
//! unknown ones), conflict handling, the root conditions of `PATCH`/`DELETE`, `PUT`'s key
//! checks (`PGRST105`, `PGRST114`, `PGRST115`), and the read plan of the representation.
//! The plan holds no SQL; `render::mutate` turns it into a statement.

use bucketbase_grammar::{CompareOp, EmbedPath, Operation, QueryParams};
use serde_json::{Map, Value};

use super::read::{plan_read, plan_root_conditions, FilterPlan, LogicPlan, ReadPlan};
use crate::api::prefer::{Preferences, Resolution, Return};
use crate::error::{Error, ErrorCode};
use crate::schema_cache::{SchemaCache, Table};

/// Which write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    /// `POST`.
    Insert,
    /// `PATCH`.
    Update,
    /// `DELETE`.
    Delete,
    /// `PUT`: the single-row upsert addressed by its primary key.
    Upsert,
}

/// The rows of a payload and the columns they set.
#[derive(Debug)]
pub(crate) struct Payload {
    /// The rows (an object body is one row).
    pub(crate) rows: Vec<Map<String, Value>>,
    /// The columns to write, in order.
    pub(crate) columns: Vec<String>,
}

/// What the statement returns for each written row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returning {
    /// The whole row (`return=representation`).
    Rows,
    /// The primary key (`return=headers-only`, for `Location`).
    PrimaryKey,
    /// Only that a row was written.
    Count,
}

/// A planned write.
#[derive(Debug)]
pub(crate) struct MutatePlan<'a> {
    /// Which write.
    pub(crate) kind: Write,
    /// The relation written to.
    pub(crate) table: &'a Table,
    /// The rows and columns (none for `DELETE`).
    pub(crate) payload: Option<Payload>,
    /// What the statement returns per row.
    pub(crate) returning: Returning,
    /// `Prefer: return=` (minimal when absent).
    pub(crate) return_: Return,
    /// An upsert that merges: the statement reports how many rows it inserted.
    pub(crate) merge: bool,
    /// `ON CONFLICT` handling and its target columns.
    pub(crate) on_conflict: Option<(Resolution, Vec<String>)>,
    /// `Prefer: missing=default`: absent columns take their defaults.
    pub(crate) missing_default: bool,
    /// Root filters (`PATCH`/`DELETE`: the `WHERE`; `PUT`: checked against the payload row).
    pub(crate) filters: Vec<FilterPlan<'a>>,
    /// Root logic trees, ANDed in one (`PATCH`/`DELETE`).
    pub(crate) logic: Option<LogicPlan<'a>>,
    /// The representation's read plan (`return=representation`).
    pub(crate) representation: Option<ReadPlan<'a>>,
}

impl MutatePlan<'_> {
    /// True when there is nothing to write (`[]`, or a `PATCH` of `{}`): the answer is the
    /// empty one of the same shape, without a statement.
    pub(crate) fn writes_nothing(&self) -> bool {
        match (&self.kind, &self.payload) {
            (Write::Insert, Some(p)) => p.rows.is_empty(),
            (Write::Update, Some(p)) => p.columns.is_empty(),
            _ => false,
        }
    }

    /// True when the representation is asked for.
    pub(crate) fn representation_requested(&self) -> bool {
        self.return_ == Return::Representation
    }
}

/// The request parts a write is planned from.
pub(crate) struct WriteRequest<'a> {
    /// The schema cache.
    pub(crate) cache: &'a SchemaCache,
    /// The parsed query string.
    pub(crate) query: &'a QueryParams,
    /// The `Prefer` header.
    pub(crate) prefer: &'a Preferences,
}

/// Plans `kind` on `table` with the payload's `rows` (`None` for `DELETE`).
pub(crate) fn plan_mutate<'a>(
    req: &WriteRequest<'a>,
    table: &'a Table,
    kind: Write,
    rows: Option<Vec<Map<String, Value>>>,
) -> Result<MutatePlan<'a>, Error> {
    let query = req.query;
    let payload = rows
        .map(|rows| {
            let columns = payload_columns(&rows, query.columns.as_ref(), table)?;
            Ok::<_, Error>(Payload { rows, columns })
        })
        .transpose()?;
    let return_ = req.prefer.return_.unwrap_or(Return::Minimal);
    let returning = match return_ {
        Return::Representation => Returning::Rows,
        Return::HeadersOnly if !table.primary_key.is_empty() => Returning::PrimaryKey,
        _ => Returning::Count,
    };
    let merge = (kind == Write::Insert
        && req.prefer.resolution == Some(Resolution::MergeDuplicates))
        || kind == Write::Upsert;
    let on_conflict = match kind {
        Write::Insert => req.prefer.resolution.map(|r| {
            (
                r,
                query
                    .on_conflict
                    .clone()
                    .unwrap_or_else(|| table.primary_key.clone()),
            )
        }),
        Write::Upsert => Some((Resolution::MergeDuplicates, table.primary_key.clone())),
        _ => None,
    };
    let (filters, logic) = match kind {
        Write::Update | Write::Delete => plan_root_conditions(query)?,
        Write::Upsert => (plan_root_conditions(query)?.0, None),
        Write::Insert => (Vec::new(), None),
    };
    let mut plan = MutatePlan {
        kind,
        table,
        payload,
        returning,
        return_,
        merge,
        on_conflict,
        missing_default: req.prefer.missing_default,
        filters,
        logic,
        representation: None,
    };
    let unconditional = plan.filters.is_empty() && plan.logic.is_none();
    match (kind, &plan.payload) {
        (Write::Upsert, Some(p)) if p.rows.is_empty() => return Err(put_mismatch()),
        (Write::Update, Some(p)) if !p.columns.is_empty() && unconditional => {
            return Err(safe_update("UPDATE"))
        }
        (Write::Delete, _) if unconditional => return Err(safe_update("DELETE")),
        _ => {}
    }
    if plan.representation_requested() && !plan.writes_nothing() {
        plan.representation = Some(plan_read(
            req.cache,
            query,
            &table.name,
            Some(table),
            None,
            false,
        )?);
    }
    Ok(plan)
}

/// The columns a payload sets: `columns=` when given, else the keys of its rows, which must
/// all have the same (`PGRST102`); every one a column of `table` (`PGRST204`).
fn payload_columns(
    rows: &[Map<String, Value>],
    columns_param: Option<&Vec<String>>,
    table: &Table,
) -> Result<Vec<String>, Error> {
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
    if let Some(c) = columns.iter().find(|c| table.column(c).is_none()) {
        return Err(Error::new(
            ErrorCode::ColumnNotFound,
            format!(
                "Could not find the '{c}' column of '{}' in the schema cache",
                table.name.name
            ),
        ));
    }
    Ok(columns)
}

/// `PUT`'s preconditions (PostgREST's `getRanges` and `mutatePlan`): no `limit`/`offset`
/// (`PGRST114`), and root filters that are exactly `eq` on every primary-key column
/// (`PGRST105`).
pub(crate) fn check_single_upsert(query: &QueryParams, table: &Table) -> Result<(), Error> {
    let root: EmbedPath = Vec::new();
    if query.limit.iter().any(|(p, _)| *p == root) || query.offset.iter().any(|(p, _)| *p == root) {
        return Err(Error::new(
            ErrorCode::PutLimit,
            "limit/offset querystring parameters are not allowed for PUT",
        ));
    }
    let filters: Vec<&bucketbase_grammar::Filter> = query
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
                Operation::Compare {
                    op: CompareOp::Eq,
                    quantifier: None,
                    ..
                }
            )
    });
    let logic = query.logic.iter().any(|(p, _)| *p == root);
    if logic || pk.is_empty() || fields != pk || !all_eq {
        return Err(Error::new(
            ErrorCode::PutFilters,
            "Filters must include all and only primary key columns with 'eq' operators",
        ));
    }
    Ok(())
}

/// `PGRST115`: the `PUT` payload does not match the URL's key.
pub(crate) fn put_mismatch() -> Error {
    Error::new(
        ErrorCode::PutMismatch,
        "Payload values do not match URL in primary key column(s)",
    )
}

/// pg-safeupdate's refusal, which Supabase installs and PostgREST passes on.
fn safe_update(verb: &str) -> Error {
    Error::sqlstate("21000", format!("{verb} requires a WHERE clause"))
}
