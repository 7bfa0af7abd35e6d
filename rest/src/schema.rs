//! The schema cache, as PostgREST's `SchemaCache.hs` builds it from `pg_catalog`: relations
//! (tables, views, materialized views, foreign and partitioned tables) with their columns, keys
//! and capabilities; the relationships between them (many-to-one, one-to-many, one-to-one and
//! many-to-many through a junction table, traced through simple views); and the functions with
//! their argument names, volatility and return shapes.

use std::collections::{HashMap, HashSet};

use bucketbase_sql::tokio_postgres::Client;

use crate::view_deps;

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

/// The name a stand-in shows base column `base` under.
fn exposed(cols: &view_deps::ColumnMap, base: &str) -> Option<String> {
    cols.iter()
        .find(|(b, _)| b == base)
        .map(|(_, shown)| shown.clone())
}

const RELATIONS_SQL: &str = r#"
select n.nspname::text, c.relname::text, c.relkind::text,
  c.relkind in ('r','p') or (pg_catalog.pg_relation_is_updatable(c.oid::regclass, true) & 8) = 8,
  c.relkind in ('r','p') or (pg_catalog.pg_relation_is_updatable(c.oid::regclass, true) & 4) = 4,
  c.relkind in ('r','p') or (pg_catalog.pg_relation_is_updatable(c.oid::regclass, true) & 16) = 16,
  pg_catalog.obj_description(c.oid, 'pg_class')
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r','v','m','f','p') and not c.relispartition and n.nspname = any($1)
"#;

const COLUMNS_SQL: &str = r#"
select n.nspname::text, c.relname::text, a.attname::text,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  coalesce(bt.typname, t.typname)::text,
  not a.attnotnull,
  case when a.attidentity <> '' then 'nextval(''' || c.relname || '_' || a.attname || '_seq''::regclass)'
       else pg_catalog.pg_get_expr(d.adbin, d.adrelid) end,
  a.attgenerated <> '' or a.attidentity = 'a',
  array(select e.enumlabel::text from pg_catalog.pg_enum e where e.enumtypid = a.atttypid order by e.enumsortorder),
  pg_catalog.col_description(c.oid, a.attnum),
  case when a.atttypmod > 4 and t.typname in ('varchar', 'bpchar') then a.atttypmod - 4 end
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_type t on t.oid = a.atttypid
left join pg_catalog.pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attnum > 0 and not a.attisdropped and c.relkind in ('r','v','m','f','p')
  and not c.relispartition and n.nspname = any($1)
order by n.nspname, c.relname, a.attnum
"#;

// Keys and foreign keys of every table (in any schema: a view or FK may reach a base table in
// a schema that is not exposed).
const CONSTRAINTS_SQL: &str = r#"
select con.conname::text, con.contype::text, n.nspname::text, c.relname::text,
  array(select a.attname::text from unnest(con.conkey) with ordinality k(num, ord)
        join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord),
  fn.nspname::text, fc.relname::text,
  array(select a.attname::text from unnest(con.confkey) with ordinality k(num, ord)
        join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord)
from pg_catalog.pg_constraint con
join pg_catalog.pg_class c on c.oid = con.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
left join pg_catalog.pg_class fc on fc.oid = con.confrelid
left join pg_catalog.pg_namespace fn on fn.oid = fc.relnamespace
where con.contype in ('p', 'u', 'f') and n.nspname not in ('pg_catalog', 'information_schema')
union all
select i.indexrelid::regclass::text, 'u', n.nspname::text, c.relname::text,
  array(select a.attname::text from unnest(i.indkey) with ordinality k(num, ord)
        join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.num order by k.ord),
  null, null, null
from pg_catalog.pg_index i
join pg_catalog.pg_class c on c.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where i.indisunique and i.indpred is null and 0 <> all(i.indkey)
  and not exists (select 1 from pg_catalog.pg_constraint con where con.conindid = i.indexrelid)
  and n.nspname not in ('pg_catalog', 'information_schema')
"#;

// Every view's `_RETURN` rule and its column names by position (views in any schema: an
// exposed view may be built on a private one).
const VIEW_RULES_SQL: &str = r#"
select n.nspname::text, v.relname::text, r.ev_action::text,
  array(select a.attname::text from pg_catalog.pg_attribute a
        where a.attrelid = v.oid and a.attnum > 0 order by a.attnum)
from pg_catalog.pg_rewrite r
join pg_catalog.pg_class v on v.oid = r.ev_class
join pg_catalog.pg_namespace n on n.oid = v.relnamespace
where v.relkind in ('v', 'm') and r.rulename = '_RETURN'
  and n.nspname not in ('pg_catalog', 'information_schema')
"#;

// The relations and columns the views' target lists point at.
const ORIGIN_COLUMNS_SQL: &str = r#"
select c.oid::int8, a.attnum::int4, n.nspname::text, c.relname::text, a.attname::text
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.oid::int8 = any($1) and a.attnum > 0 and not a.attisdropped
"#;

// The zone names `Prefer: timezone=` accepts.
const TIMEZONES_SQL: &str = "select name::text from pg_catalog.pg_timezone_names";

// PostgREST's `funcsSqlQuery`: input arguments with `type::regtype` names, and only the
// callable functions (every argument named, or one unnamed bytea/json/jsonb/text/xml one).
const FUNCTIONS_SQL: &str = r#"
with arguments as (
  select oid,
    array_agg(coalesce(name, '')::text order by idx) as names,
    array_agg(type::regtype::text order by idx) as types,
    array_agg((idx <= (pronargs - pronargdefaults)) order by idx) as required,
    array_agg(coalesce(mode = 'v', false) order by idx) as variadic,
    case count(*) - count(name)
      when 0 then true
      when 1 then (array_agg(type))[1] in ('bytea'::regtype, 'json'::regtype, 'jsonb'::regtype, 'text'::regtype, 'xml'::regtype)
      else false
    end as callable
  from pg_catalog.pg_proc,
    unnest(proargnames, proargtypes, proargmodes) with ordinality as _ (name, type, mode, idx)
  where type is not null
    and pronamespace in (select oid from pg_catalog.pg_namespace where nspname = any($1))
  group by oid
)
select n.nspname::text, p.proname::text,
  coalesce(a.names, '{}'), coalesce(a.types, '{}'), coalesce(a.required, '{}'), coalesce(a.variadic, '{}'),
  p.provolatile::text, p.proretset,
  (rt.typtype = 'c' or coalesce(p.proargmodes::text[] && '{t,b,o}', false)),
  pg_catalog.format_type(p.prorettype, null), rn.nspname::text, rc.relname::text,
  pg_catalog.obj_description(p.oid, 'pg_proc'), p.oid::int8, p.prorows::float8
from pg_catalog.pg_proc p
left join arguments a on a.oid = p.oid
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
join pg_catalog.pg_type rt on rt.oid = p.prorettype
left join pg_catalog.pg_class rc on rc.oid = rt.typrelid and rc.relkind in ('r','v','m','f','p')
left join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
where n.nspname = any($1) and p.prokind = 'f' and rt.typname not in ('trigger', 'event_trigger')
  and coalesce(a.callable, true)
order by p.oid
"#;

// PostgREST's `allComputedRels`: `f(tbl) returns [setof] other_tbl` defines `tbl -> other_tbl`
// named `f`, to-one unless it returns a set of more than one row.
const COMPUTED_RELS_SQL: &str = r#"
with all_relations as (
  select reltype from pg_catalog.pg_class where relkind in ('v','r','m','f','p')
)
select pn.nspname::text, p.proname::text, arg_schema.nspname::text, arg_rel.relname::text,
  ret_schema.nspname::text, ret_rel.relname::text, (not p.proretset or p.prorows = 1)
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
join pg_catalog.pg_type arg_name on arg_name.oid = p.proargtypes[0]
join pg_catalog.pg_class arg_rel on arg_rel.oid = arg_name.typrelid
join pg_catalog.pg_namespace arg_schema on arg_schema.oid = arg_rel.relnamespace
join pg_catalog.pg_type ret_name on ret_name.oid = p.prorettype
join pg_catalog.pg_class ret_rel on ret_rel.oid = ret_name.typrelid
join pg_catalog.pg_namespace ret_schema on ret_schema.oid = ret_rel.relnamespace
where p.pronargs = 1
  and p.proargtypes[0] in (select reltype from all_relations)
  and p.prorettype in (select reltype from all_relations)
  and pn.nspname = any($1)
order by p.oid
"#;

// PostgREST's in-database configuration (`db-config`): `ALTER ROLE authenticator SET pgrst.x`.
const IN_DB_CONFIG_SQL: &str = r#"
select substr(kv, 1, strpos(kv, '=') - 1), substr(kv, strpos(kv, '=') + 1)
from pg_catalog.pg_db_role_setting s
join pg_catalog.pg_roles r on r.oid = s.setrole
cross join lateral unnest(s.setconfig) kv
where r.rolname = 'authenticator' and kv like 'pgrst.%'
  and (s.setdatabase = 0 or s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database()))
order by s.setdatabase
"#;

/// A foreign key between two stand-in relations: child, parent, name, (child, parent) column
/// pairs, and whether the child's columns are unique (one-to-one).
type ForeignKey = (
    QualifiedName,
    QualifiedName,
    String,
    Vec<(String, String)>,
    bool,
);

struct Constraint {
    name: String,
    kind: char,
    table: QualifiedName,
    columns: Vec<String>,
    referenced: Option<(QualifiedName, Vec<String>)>,
}

impl SchemaCache {
    /// Introspects the schemas in `schemas` through `client`.
    /// `timezones` are reused when given (`pg_timezone_names` is slow to list and only changes
    /// with the server's tz database).
    pub async fn load(
        client: &Client,
        schemas: &[String],
        timezones: Option<HashSet<String>>,
    ) -> Result<Self, bucketbase_sql::tokio_postgres::Error> {
        let schemas: Vec<String> = schemas.to_vec();
        let p: [&(dyn bucketbase_sql::tokio_postgres::types::ToSql + Sync); 1] = [&schemas];
        let zones_sql = if timezones.is_some() {
            "select ''::text where false"
        } else {
            TIMEZONES_SQL
        };
        let (relations, columns, constraints, view_rules, functions, computed, settings, zones) = tokio::try_join!(
            client.query(RELATIONS_SQL, &p),
            client.query(COLUMNS_SQL, &p),
            client.query(CONSTRAINTS_SQL, &[]),
            client.query(VIEW_RULES_SQL, &[]),
            client.query(FUNCTIONS_SQL, &p),
            client.query(COMPUTED_RELS_SQL, &p),
            client.query(IN_DB_CONFIG_SQL, &[]),
            client.query(zones_sql, &[]),
        )?;
        let mut views = HashMap::new();
        for r in &view_rules {
            let action: String = r.get(2);
            views.insert(
                QualifiedName::new(r.get(0), r.get(1)),
                (
                    r.get::<_, Vec<String>>(3),
                    view_deps::target_origins(&action),
                ),
            );
        }
        let oids: Vec<i64> = views
            .values()
            .flat_map(|(_, origins)| origins.iter().map(|o| i64::from(o.table)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let origin_columns: HashMap<(u32, i32), (QualifiedName, String)> = client
            .query(ORIGIN_COLUMNS_SQL, &[&oids])
            .await?
            .iter()
            .filter_map(|r| {
                let oid = u32::try_from(r.get::<_, i64>(0)).ok()?;
                Some((
                    (oid, r.get(1)),
                    (QualifiedName::new(r.get(2), r.get(3)), r.get(4)),
                ))
            })
            .collect();
        let view_map = view_deps::resolve(&views, &origin_columns);
        let mut cache = SchemaCache {
            timezones: timezones.unwrap_or_else(|| zones.iter().map(|r| r.get(0)).collect()),
            ..Default::default()
        };
        for r in settings {
            let key: String = r.get(0);
            cache
                .settings
                .insert(key.trim_start_matches("pgrst.").to_string(), r.get(1));
        }
        for r in relations {
            let name = QualifiedName::new(r.get(0), r.get(1));
            let kind: String = r.get(2);
            cache.tables.insert(
                name.clone(),
                Table {
                    name,
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    unique_keys: Vec::new(),
                    kind: kind.chars().next().unwrap_or('r'),
                    insertable: r.get(3),
                    updatable: r.get(4),
                    deletable: r.get(5),
                    description: r.get(6),
                },
            );
        }
        for r in columns {
            let name = QualifiedName::new(r.get(0), r.get(1));
            if let Some(t) = cache.tables.get_mut(&name) {
                t.columns.push(Column {
                    name: r.get(2),
                    data_type: r.get(3),
                    base_type: r.get(4),
                    nullable: r.get(5),
                    default: r.get(6),
                    generated: r.get(7),
                    enum_values: r.get(8),
                    description: r.get(9),
                    max_length: r.get(10),
                });
            }
        }
        let constraints: Vec<Constraint> = constraints
            .into_iter()
            .map(|r| {
                let kind: String = r.get(1);
                let fschema: Option<String> = r.get::<_, Option<String>>(5);
                let ftable: Option<String> = r.get::<_, Option<String>>(6);
                let fcols: Option<Vec<String>> = r.get(7);
                Constraint {
                    name: r.get(0),
                    kind: kind.chars().next().unwrap_or('u'),
                    table: QualifiedName::new(r.get(2), r.get(3)),
                    columns: r.get(4),
                    referenced: match (fschema, ftable, fcols) {
                        (Some(s), Some(t), Some(c)) => {
                            Some((QualifiedName::new(s.as_str(), t.as_str()), c))
                        }
                        _ => None,
                    },
                }
            })
            .collect();
        // Base-table keys, also for tables outside the exposed schemas (views reach them).
        let mut base_pk: HashMap<QualifiedName, Vec<String>> = HashMap::new();
        let mut base_unique: HashMap<QualifiedName, Vec<Vec<String>>> = HashMap::new();
        for c in &constraints {
            match c.kind {
                'p' => {
                    base_pk.insert(c.table.clone(), c.columns.clone());
                    base_unique
                        .entry(c.table.clone())
                        .or_default()
                        .push(c.columns.clone());
                }
                'u' => base_unique
                    .entry(c.table.clone())
                    .or_default()
                    .push(c.columns.clone()),
                _ => {}
            }
        }
        for t in cache.tables.values_mut() {
            if let Some(pk) = base_pk.get(&t.name) {
                t.primary_key = pk.clone();
            }
            if let Some(u) = base_unique.get(&t.name) {
                t.unique_keys = u.clone();
            }
        }
        // Each base relation and the exposed relations standing for it (itself, its views), with
        // (base column, exposed column) pairs: views may rename columns.
        let mut stand_ins: HashMap<QualifiedName, Vec<(QualifiedName, view_deps::ColumnMap)>> =
            HashMap::new();
        for t in cache.tables.values() {
            if !t.is_view() {
                let cols = t
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.name.clone()))
                    .collect();
                stand_ins
                    .entry(t.name.clone())
                    .or_default()
                    .push((t.name.clone(), cols));
            }
        }
        for (view, bases) in &view_map {
            if !cache.tables.contains_key(view) {
                continue;
            }
            for (base, cols) in bases {
                stand_ins
                    .entry(base.clone())
                    .or_default()
                    .push((view.clone(), cols.clone()));
                // A view inherits its base table's primary key when it shows all of it.
                if bases.len() == 1 {
                    if let Some(pk) = base_pk.get(base) {
                        let mapped: Option<Vec<String>> =
                            pk.iter().map(|c| exposed(cols, c)).collect();
                        if let (Some(mapped), Some(v)) = (mapped, cache.tables.get_mut(view)) {
                            if v.primary_key.is_empty() {
                                v.primary_key = mapped;
                            }
                        }
                    }
                }
            }
        }
        // Foreign keys between every pair of stand-ins.
        let mut fks: Vec<ForeignKey> = Vec::new();
        for c in constraints.iter().filter(|c| c.kind == 'f') {
            let Some((parent, parent_cols)) = &c.referenced else {
                continue;
            };
            let pairs: Vec<(String, String)> = c
                .columns
                .iter()
                .cloned()
                .zip(parent_cols.iter().cloned())
                .collect();
            let unique = base_unique
                .get(&c.table)
                .is_some_and(|keys| keys.iter().any(|k| same_set(k, &c.columns)));
            let empty = Vec::new();
            let children = stand_ins.get(&c.table).unwrap_or(&empty);
            let parents = stand_ins.get(parent).unwrap_or(&empty);
            for (child, child_cols) in children {
                for (par, par_cols) in parents {
                    // The key's columns under the names each stand-in shows them.
                    let mapped: Option<Vec<(String, String)>> = pairs
                        .iter()
                        .map(|(a, b)| Some((exposed(child_cols, a)?, exposed(par_cols, b)?)))
                        .collect();
                    let Some(mapped) = mapped else { continue };
                    fks.push((child.clone(), par.clone(), c.name.clone(), mapped, unique));
                }
            }
        }
        for (child, parent, name, pairs, unique) in &fks {
            let (to_parent, to_child) = if *unique {
                (Cardinality::OneToOne, Cardinality::OneToOne)
            } else {
                (Cardinality::ManyToOne, Cardinality::OneToMany)
            };
            cache
                .relationships
                .entry(child.clone())
                .or_default()
                .push(Relationship {
                    origin: child.clone(),
                    target: parent.clone(),
                    cardinality: to_parent,
                    constraint: name.clone(),
                    columns: pairs.clone(),
                    origin_holds_fk: true,
                });
            cache
                .relationships
                .entry(parent.clone())
                .or_default()
                .push(Relationship {
                    origin: parent.clone(),
                    target: child.clone(),
                    cardinality: to_child,
                    constraint: name.clone(),
                    columns: pairs.iter().map(|(a, b)| (b.clone(), a.clone())).collect(),
                    origin_holds_fk: false,
                });
        }
        // Many-to-many: a junction whose two FKs' columns are both inside its primary key.
        for junction in cache.tables.values() {
            if junction.is_view() || junction.primary_key.is_empty() {
                continue;
            }
            let outgoing: Vec<_> = fks
                .iter()
                .filter(|(child, _, _, pairs, _)| {
                    child == &junction.name
                        && pairs.iter().all(|(c, _)| junction.primary_key.contains(c))
                })
                .collect();
            for a in &outgoing {
                for b in &outgoing {
                    if a.2 == b.2 {
                        continue;
                    }
                    cache
                        .relationships
                        .entry(a.1.clone())
                        .or_default()
                        .push(Relationship {
                            origin: a.1.clone(),
                            target: b.1.clone(),
                            cardinality: Cardinality::ManyToMany(Junction {
                                table: junction.name.clone(),
                                origin_constraint: a.2.clone(),
                                target_constraint: b.2.clone(),
                                origin_columns: a
                                    .3
                                    .iter()
                                    .map(|(j, o)| (o.clone(), j.clone()))
                                    .collect(),
                                target_columns: b
                                    .3
                                    .iter()
                                    .map(|(j, t)| (t.clone(), j.clone()))
                                    .collect(),
                            }),
                            constraint: junction.name.name.clone(),
                            columns: Vec::new(),
                            origin_holds_fk: false,
                        });
                }
            }
        }
        for r in functions {
            let f = function_from_row(&r);
            // Newest first, as PostgREST's `HM.fromListWith (++)` leaves them.
            cache
                .functions
                .entry(f.name.clone())
                .or_default()
                .insert(0, f);
        }
        // PostgREST lists overloads in catalog order; fewest parameters first, newest first
        // among equals reproduces the order its error messages show.
        for overloads in cache.functions.values_mut() {
            overloads.sort_by(|a, b| {
                a.arguments
                    .len()
                    .cmp(&b.arguments.len())
                    .then(b.oid.cmp(&a.oid))
            });
        }
        // Computed relationships override detected ones of the same name.
        for r in computed {
            let function = QualifiedName::new(r.get(0), r.get(1));
            let origin = QualifiedName::new(r.get(2), r.get(3));
            let target = QualifiedName::new(r.get(4), r.get(5));
            if !cache.tables.contains_key(&origin) || !cache.tables.contains_key(&target) {
                continue;
            }
            let rels = cache.relationships.entry(origin.clone()).or_default();
            rels.retain(|rel| rel.target.name != function.name);
            rels.push(Relationship {
                origin,
                target,
                cardinality: Cardinality::Computed {
                    function: function.clone(),
                    single: r.get(6),
                },
                constraint: function.name.clone(),
                columns: Vec::new(),
                origin_holds_fk: false,
            });
        }
        Ok(cache)
    }

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

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn function_from_row(r: &bucketbase_sql::tokio_postgres::Row) -> Function {
    let names: Vec<String> = r.get(2);
    let types: Vec<String> = r.get(3);
    let required: Vec<bool> = r.get(4);
    let variadic: Vec<bool> = r.get(5);
    let volatility: String = r.get(6);
    let retset: bool = r.get(7);
    let composite: bool = r.get(8);
    let return_type: String = r.get(9);
    let rel_schema: Option<String> = r.get(10);
    let rel_name: Option<String> = r.get(11);
    let arguments = names
        .iter()
        .enumerate()
        .map(|(i, name)| Argument {
            name: name.clone(),
            data_type: types.get(i).cloned().unwrap_or_default(),
            required: required.get(i).copied().unwrap_or(true),
            variadic: variadic.get(i).copied().unwrap_or(false),
        })
        .collect();
    let relation = match (rel_schema, rel_name) {
        (Some(s), Some(n)) => Some(QualifiedName::new(&s, &n)),
        _ => None,
    };
    let returns = match (return_type.as_str(), retset, composite) {
        ("void", _, _) => ReturnShape::Void,
        (_, true, true) => ReturnShape::SetOfComposite { relation },
        ("record", true, false) => ReturnShape::SetOfComposite { relation: None },
        (_, true, false) => ReturnShape::SetOfScalar,
        (_, false, true) => ReturnShape::Composite { relation },
        ("record", false, false) => ReturnShape::Composite { relation: None },
        (_, false, false) => ReturnShape::Scalar,
    };
    Function {
        name: QualifiedName::new(r.get(0), r.get(1)),
        arguments,
        volatility: volatility.chars().next().unwrap_or('v'),
        returns,
        return_type,
        description: r.get(12),
        oid: r.get(13),
    }
}
