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
pub struct QualifiedName {
    /// Schema.
    pub schema: String,
    /// Name inside the schema.
    pub name: String,
}

impl QualifiedName {
    /// Builds a name.
    pub fn new(schema: &str, name: &str) -> Self {
        Self {
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }

    /// `"schema"."name"`, quoted.
    pub fn sql(&self) -> String {
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
pub struct Column {
    /// Column name.
    pub name: String,
    /// `format_type` of the column (`integer`, `text[]`, `character varying(20)`).
    pub data_type: String,
    /// The base type name (`int4`, `jsonb`, `tsvector`), domains resolved.
    pub base_type: String,
    /// Accepts NULL.
    pub nullable: bool,
    /// Default expression text (`nextval(…)` for identity columns).
    pub default: Option<String>,
    /// Generated (`GENERATED ALWAYS AS …`) or `GENERATED ALWAYS AS IDENTITY`.
    pub generated: bool,
    /// Enum labels, when the type is an enum.
    pub enum_values: Vec<String>,
    /// `COMMENT ON COLUMN`.
    pub description: Option<String>,
    /// Maximum length for `varchar(n)`.
    pub max_length: Option<i32>,
}

impl Column {
    /// True for `json` and `jsonb` columns (JSON paths apply directly).
    pub fn is_json(&self) -> bool {
        self.base_type == "json" || self.base_type == "jsonb"
    }
}

/// A table, view, materialized view, foreign table or partitioned table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its name.
    pub name: QualifiedName,
    /// Columns in `attnum` order.
    pub columns: Vec<Column>,
    /// Primary key columns (views: inherited from their base table).
    pub primary_key: Vec<String>,
    /// Unique constraints and unique indexes (column sets).
    pub unique_keys: Vec<Vec<String>>,
    /// `relkind`: `r`, `v`, `m`, `f`, `p`.
    pub kind: char,
    /// Accepts INSERT.
    pub insertable: bool,
    /// Accepts UPDATE.
    pub updatable: bool,
    /// Accepts DELETE.
    pub deletable: bool,
    /// `COMMENT ON TABLE`.
    pub description: Option<String>,
}

impl Table {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True for views and materialized views.
    pub fn is_view(&self) -> bool {
        self.kind == 'v' || self.kind == 'm'
    }
}

/// How many rows an embed yields per parent row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cardinality {
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
pub struct Junction {
    /// The junction table.
    pub table: QualifiedName,
    /// FK constraint from the junction to the origin.
    pub origin_constraint: String,
    /// FK constraint from the junction to the target.
    pub target_constraint: String,
    /// (origin column, junction column) pairs.
    pub origin_columns: Vec<(String, String)>,
    /// (target column, junction column) pairs.
    pub target_columns: Vec<(String, String)>,
}

/// A relationship from `origin` to `target`.
#[derive(Debug, Clone)]
pub struct Relationship {
    /// The relation embedding starts from.
    pub origin: QualifiedName,
    /// The embedded relation.
    pub target: QualifiedName,
    /// Cardinality (with the junction for many-to-many).
    pub cardinality: Cardinality,
    /// The foreign key constraint's name (for M2M: the junction's name is the hint).
    pub constraint: String,
    /// (origin column, target column) pairs of the join (empty for M2M).
    pub columns: Vec<(String, String)>,
    /// True when the foreign key is on the origin (child → parent).
    pub origin_holds_fk: bool,
}

impl Relationship {
    /// True when the embed yields one object rather than an array.
    pub fn is_to_one(&self) -> bool {
        matches!(
            self.cardinality,
            Cardinality::ManyToOne
                | Cardinality::OneToOne
                | Cardinality::Computed { single: true, .. }
        )
    }

    /// The PostgREST name of the cardinality (`many-to-one`, …), used in PGRST201 details.
    pub fn cardinality_name(&self) -> &'static str {
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
pub struct Argument {
    /// Name (empty for an unnamed argument).
    pub name: String,
    /// `format_type` of the argument.
    pub data_type: String,
    /// True when it has no default.
    pub required: bool,
    /// True for a VARIADIC argument.
    pub variadic: bool,
}

/// What a function returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnShape {
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
pub struct Function {
    /// Its name.
    pub name: QualifiedName,
    /// IN arguments in order.
    pub arguments: Vec<Argument>,
    /// `provolatile`: `v`, `s` or `i`.
    pub volatility: char,
    /// Return shape.
    pub returns: ReturnShape,
    /// `format_type` of the return type.
    pub return_type: String,
    /// `COMMENT ON FUNCTION`.
    pub description: Option<String>,
    /// `pg_proc.oid` (overloads are listed newest first, as PostgREST's map has them).
    pub oid: i64,
}

impl Function {
    /// True for VOLATILE functions (which need a read-write transaction).
    pub fn is_volatile(&self) -> bool {
        self.volatility == 'v'
    }
}

/// The whole cache.
#[derive(Debug, Default)]
pub struct SchemaCache {
    /// Relations by name.
    pub tables: HashMap<QualifiedName, Table>,
    /// Relationships by origin.
    pub relationships: HashMap<QualifiedName, Vec<Relationship>>,
    /// Overloads by name.
    pub functions: HashMap<QualifiedName, Vec<Function>>,
    /// PostgREST's in-database settings (`pgrst.db_aggregates_enabled`, …) of `authenticator`.
    pub settings: HashMap<String, String>,
    /// `pg_timezone_names`, for `Prefer: timezone=`.
    pub timezones: HashSet<String>,
}

impl SchemaCache {
    /// The relation `name` in `schema`.
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables.get(&QualifiedName::new(schema, name))
    }

    /// Relationships starting at `origin`.
    pub fn relationships_from(&self, origin: &QualifiedName) -> &[Relationship] {
        self.relationships
            .get(origin)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}
