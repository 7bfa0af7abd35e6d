//! The schema cache, as PostgREST's `SchemaCache.hs` builds it from `pg_catalog`: relations
//! (tables, views, materialized views, foreign and partitioned tables) with their columns, keys
//! and capabilities; the relationships between them (many-to-one, one-to-many, one-to-one and
//! many-to-many through a junction table, traced through simple views); and the functions with
//! their argument names, volatility and return shapes.

//!
//! The types live here; [`load`] fills them from the catalog (the queries are in [`queries`]),
//! and [`view_deps`] traces view columns back to their base tables.

mod load;
mod queries;
mod view_deps;

use std::collections::{HashMap, HashSet};

/// `schema.name` of a relation or function.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct QualifiedName {
    /// Schema.
    pub(crate) schema: String,
    /// Name inside the schema.
    pub(crate) name: String,
}

impl QualifiedName {
    /// Builds a name.
    pub(crate) fn new(schema: &str, name: &str) -> Self {
        Self {
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }

    /// `"schema"."name"`, quoted.
    pub(crate) fn sql(&self) -> String {
        format!(
            "{}.{}",
            bucketbase_sql::quote_ident(&self.schema),
            bucketbase_sql::quote_ident(&self.name)
        )
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// A column of a relation.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    /// Column name.
    pub(crate) name: String,
    /// `format_type` of the column (`integer`, `text[]`, `character varying(20)`).
    pub(crate) data_type: String,
    /// The base type name (`int4`, `jsonb`, `tsvector`), domains resolved.
    pub(crate) base_type: String,
    /// Accepts NULL.
    pub(crate) nullable: bool,
    /// Default expression text (`nextval(…)` for identity columns).
    pub(crate) default: Option<String>,
    /// Generated (`GENERATED ALWAYS AS …`) or `GENERATED ALWAYS AS IDENTITY`.
    pub(crate) generated: bool,
    /// Enum labels, when the type is an enum.
    pub(crate) enum_values: Vec<String>,
    /// `COMMENT ON COLUMN`.
    pub(crate) description: Option<String>,
    /// Maximum length for `varchar(n)`.
    pub(crate) max_length: Option<i32>,
}

impl Column {
    /// True for `json` and `jsonb` columns (JSON paths apply directly).
    pub(crate) fn is_json(&self) -> bool {
        self.base_type == "json" || self.base_type == "jsonb"
    }
}

/// A table, view, materialized view, foreign table or partitioned table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Its name.
    pub(crate) name: QualifiedName,
    /// Columns in `attnum` order.
    pub(crate) columns: Vec<Column>,
    /// Primary key columns (views: inherited from their base table).
    pub(crate) primary_key: Vec<String>,
    /// Unique constraints and unique indexes (column sets).
    pub(crate) unique_keys: Vec<Vec<String>>,
    /// `relkind`: `r`, `v`, `m`, `f`, `p`.
    pub(crate) kind: char,
    /// Accepts INSERT.
    pub(crate) insertable: bool,
    /// Accepts UPDATE.
    pub(crate) updatable: bool,
    /// Accepts DELETE.
    pub(crate) deletable: bool,
    /// `COMMENT ON TABLE`.
    pub(crate) description: Option<String>,
}

impl Table {
    /// The column called `name`.
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True for views and materialized views.
    pub(crate) fn is_view(&self) -> bool {
        self.kind == 'v' || self.kind == 'm'
    }
}

/// How many rows an embed yields per parent row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cardinality {
    /// Child → parent through the child's foreign key: an object (or null).
    ManyToOne,
    /// Parent → children: an array.
    OneToMany,
    /// A foreign key that is also unique: an object both ways.
    OneToOne,
    /// Through a junction table: an array.
    ManyToMany(Junction),
    /// A computed relationship: `function(origin_row)` returns the target rows.
    Computed {
        /// The function.
        function: QualifiedName,
        /// Returns one row (not SETOF, or `ROWS 1`): an object.
        single: bool,
    },
}

/// The junction table of a many-to-many relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Junction {
    /// The junction table.
    pub(crate) table: QualifiedName,
    /// FK constraint from the junction to the origin.
    pub(crate) origin_constraint: String,
    /// FK constraint from the junction to the target.
    pub(crate) target_constraint: String,
    /// (origin column, junction column) pairs.
    pub(crate) origin_columns: Vec<(String, String)>,
    /// (target column, junction column) pairs.
    pub(crate) target_columns: Vec<(String, String)>,
}

/// A relationship from `origin` to `target`.
#[derive(Debug, Clone)]
pub(crate) struct Relationship {
    /// The relation embedding starts from.
    pub(crate) origin: QualifiedName,
    /// The embedded relation.
    pub(crate) target: QualifiedName,
    /// Cardinality (with the junction for many-to-many).
    pub(crate) cardinality: Cardinality,
    /// The foreign key constraint's name (for M2M: the junction's name is the hint).
    pub(crate) constraint: String,
    /// (origin column, target column) pairs of the join (empty for M2M).
    pub(crate) columns: Vec<(String, String)>,
}

impl Relationship {
    /// True when the embed yields one object rather than an array.
    pub(crate) fn is_to_one(&self) -> bool {
        matches!(
            self.cardinality,
            Cardinality::ManyToOne
                | Cardinality::OneToOne
                | Cardinality::Computed { single: true, .. }
        )
    }

    /// The PostgREST name of the cardinality (`many-to-one`, …), used in PGRST201 details.
    pub(crate) fn cardinality_name(&self) -> &'static str {
        match self.cardinality {
            Cardinality::ManyToOne => "many-to-one",
            Cardinality::OneToMany => "one-to-many",
            Cardinality::OneToOne => "one-to-one",
            Cardinality::ManyToMany(_) => "many-to-many",
            Cardinality::Computed { .. } => "computed",
        }
    }
}

/// A function argument.
#[derive(Debug, Clone)]
pub(crate) struct Argument {
    /// Name (empty for an unnamed argument).
    pub(crate) name: String,
    /// `format_type` of the argument.
    pub(crate) data_type: String,
    /// True when it has no default.
    pub(crate) required: bool,
    /// True for a VARIADIC argument.
    pub(crate) variadic: bool,
}

/// What a function returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReturnShape {
    /// `void`.
    Void,
    /// One scalar value.
    Scalar,
    /// `SETOF scalar`.
    SetOfScalar,
    /// One row (composite type, OUT parameters); `relation` when it is a table's row type.
    Composite {
        /// The table or view whose row type it is.
        relation: Option<QualifiedName>,
    },
    /// `SETOF composite` / `RETURNS TABLE`.
    SetOfComposite {
        /// The table or view whose row type it is.
        relation: Option<QualifiedName>,
    },
}

/// A function callable through `/rpc`.
#[derive(Debug, Clone)]
pub(crate) struct Function {
    /// Its name.
    pub(crate) name: QualifiedName,
    /// IN arguments in order.
    pub(crate) arguments: Vec<Argument>,
    /// `provolatile`: `v`, `s` or `i`.
    pub(crate) volatility: char,
    /// Return shape.
    pub(crate) returns: ReturnShape,
    /// `COMMENT ON FUNCTION`.
    pub(crate) description: Option<String>,
    /// `pg_proc.oid` (overloads are listed newest first, as PostgREST's map has them).
    pub(crate) oid: i64,
}

impl Function {
    /// True for VOLATILE functions (which need a read-write transaction).
    pub(crate) fn is_volatile(&self) -> bool {
        self.volatility == 'v'
    }
}

/// The whole cache.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    /// Relations by name.
    pub(crate) tables: HashMap<QualifiedName, Table>,
    /// Relationships by origin.
    pub(crate) relationships: HashMap<QualifiedName, Vec<Relationship>>,
    /// Overloads by name.
    pub(crate) functions: HashMap<QualifiedName, Vec<Function>>,
    /// PostgREST's in-database settings (`pgrst.db_aggregates_enabled`, …) of `authenticator`.
    pub(crate) settings: HashMap<String, String>,
    /// `pg_timezone_names`, for `Prefer: timezone=`.
    pub(crate) timezones: HashSet<String>,
}

impl SchemaCache {
    /// The relation `name` in `schema`.
    pub(crate) fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables.get(&QualifiedName::new(schema, name))
    }

    /// Relationships starting at `origin`.
    pub(crate) fn relationships_from(&self, origin: &QualifiedName) -> &[Relationship] {
        self.relationships
            .get(origin)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}
