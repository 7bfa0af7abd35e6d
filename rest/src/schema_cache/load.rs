//! Filling the [`SchemaCache`] from the catalog, as PostgREST's `SchemaCache.hs`
//! (`querySchemaCache`): the catalog queries run concurrently on one connection, then named
//! steps turn their rows into relations, keys, relationships and functions.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bucketbase_sql::tokio_postgres::types::ToSql;
use bucketbase_sql::tokio_postgres::{Client, Error, Row};

use super::queries::{
    COLUMNS_SQL, COMPUTED_RELS_SQL, CONSTRAINTS_SQL, FUNCTIONS_SQL, IN_DB_CONFIG_SQL,
    ORIGIN_COLUMNS_SQL, RELATIONS_SQL, TIMEZONES_SQL, VIEW_RULES_SQL,
};
use super::view_deps::{self, ColumnMap, TargetOrigin};
use super::{
    Argument, Cardinality, Column, Function, Junction, QualifiedName, Relationship, ReturnShape,
    SchemaCache, Table,
};

/// A foreign key between two stand-in relations.
struct ForeignKey {
    /// The relation holding the key.
    child: QualifiedName,
    /// The relation it references.
    parent: QualifiedName,
    /// The constraint's name.
    name: String,
    /// (child column, parent column) pairs, under the names the stand-ins show.
    pairs: Vec<(String, String)>,
    /// The child's columns are unique: one-to-one.
    unique: bool,
}

/// A key or foreign key constraint of a base table.
struct Constraint {
    name: String,
    kind: char,
    table: QualifiedName,
    columns: Vec<String>,
    referenced: Option<(QualifiedName, Vec<String>)>,
}

/// The primary and unique keys of base tables (also outside the exposed schemas).
#[derive(Default)]
struct BaseKeys {
    primary: HashMap<QualifiedName, Vec<String>>,
    unique: HashMap<QualifiedName, Vec<Vec<String>>>,
}

/// Each base relation and the exposed relations standing for it (itself, its views), with
/// (base column, exposed column) pairs: views may rename columns.
type StandIns = HashMap<QualifiedName, Vec<(QualifiedName, ColumnMap)>>;

/// The rows of every catalog query.
struct CatalogRows {
    relations: Vec<Row>,
    columns: Vec<Row>,
    constraints: Vec<Row>,
    view_rules: Vec<Row>,
    functions: Vec<Row>,
    computed: Vec<Row>,
    settings: Vec<Row>,
    zones: Vec<Row>,
}

impl SchemaCache {
    /// Introspects the schemas in `schemas` through `client`.
    /// `timezones` are reused when given (`pg_timezone_names` is slow to list and only changes
    /// with the server's tz database).
    pub(crate) async fn load(
        client: &Client,
        schemas: &[String],
        timezones: Option<HashSet<String>>,
    ) -> Result<Self, Error> {
        let rows = fetch_catalog(client, schemas, timezones.is_none()).await?;
        let view_map = view_columns(client, &rows.view_rules).await?;
        let mut cache = SchemaCache {
            timezones: timezones.unwrap_or_else(|| rows.zones.iter().map(|r| r.get(0)).collect()),
            settings: in_database_settings(&rows.settings),
            tables: relations(&rows.relations),
            ..Default::default()
        };
        add_columns(&mut cache.tables, &rows.columns);
        let constraints: Vec<Constraint> = rows.constraints.iter().map(constraint).collect();
        let keys = base_keys(&constraints);
        apply_base_keys(&mut cache.tables, &keys);
        let stand_ins = stand_ins(&mut cache.tables, &view_map, &keys);
        let fks = foreign_keys(&constraints, &keys, &stand_ins);
        add_foreign_key_relationships(&mut cache.relationships, &fks);
        add_many_to_many_relationships(&cache.tables, &mut cache.relationships, &fks);
        cache.functions = functions(&rows.functions);
        add_computed_relationships(&mut cache, &rows.computed);
        Ok(cache)
    }
}

/// Runs the catalog queries concurrently (pipelined on the one connection).
async fn fetch_catalog(
    client: &Client,
    schemas: &[String],
    with_zones: bool,
) -> Result<CatalogRows, Error> {
    let schemas: Vec<String> = schemas.to_vec();
    let p: [&(dyn ToSql + Sync); 1] = [&schemas];
    let zones_sql = if with_zones {
        TIMEZONES_SQL
    } else {
        "select ''::text where false"
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
    Ok(CatalogRows {
        relations,
        columns,
        constraints,
        view_rules,
        functions,
        computed,
        settings,
        zones,
    })
}

/// Every view's columns in terms of base tables: parses the `_RETURN` rules, then looks up the
/// relations and columns their target lists point at.
async fn view_columns(
    client: &Client,
    view_rules: &[Row],
) -> Result<BTreeMap<QualifiedName, BTreeMap<QualifiedName, ColumnMap>>, Error> {
    let mut views: HashMap<QualifiedName, (Vec<String>, Vec<TargetOrigin>)> = HashMap::new();
    for r in view_rules {
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
        .collect::<BTreeSet<_>>()
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
    Ok(view_deps::resolve(&views, &origin_columns))
}

/// `pgrst.*` settings of `authenticator`, without the prefix.
fn in_database_settings(rows: &[Row]) -> HashMap<String, String> {
    rows.iter()
        .map(|r| {
            let key: String = r.get(0);
            (key.trim_start_matches("pgrst.").to_string(), r.get(1))
        })
        .collect()
}

/// The relations, still without columns and keys.
fn relations(rows: &[Row]) -> HashMap<QualifiedName, Table> {
    rows.iter()
        .map(|r| {
            let name = QualifiedName::new(r.get(0), r.get(1));
            let kind: String = r.get(2);
            let table = Table {
                name: name.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                unique_keys: Vec::new(),
                kind: kind.chars().next().unwrap_or('r'),
                insertable: r.get(3),
                updatable: r.get(4),
                deletable: r.get(5),
                description: r.get(6),
            };
            (name, table)
        })
        .collect()
}

/// Adds the columns (in `attnum` order) to their relations.
fn add_columns(tables: &mut HashMap<QualifiedName, Table>, rows: &[Row]) {
    for r in rows {
        let name = QualifiedName::new(r.get(0), r.get(1));
        if let Some(t) = tables.get_mut(&name) {
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
}

fn constraint(r: &Row) -> Constraint {
    let kind: String = r.get(1);
    let fschema: Option<String> = r.get(5);
    let ftable: Option<String> = r.get(6);
    let fcols: Option<Vec<String>> = r.get(7);
    Constraint {
        name: r.get(0),
        kind: kind.chars().next().unwrap_or('u'),
        table: QualifiedName::new(r.get(2), r.get(3)),
        columns: r.get(4),
        referenced: match (fschema, ftable, fcols) {
            (Some(s), Some(t), Some(c)) => Some((QualifiedName::new(s.as_str(), t.as_str()), c)),
            _ => None,
        },
    }
}

/// Base-table keys, also for tables outside the exposed schemas (views reach them).
fn base_keys(constraints: &[Constraint]) -> BaseKeys {
    let mut keys = BaseKeys::default();
    for c in constraints {
        match c.kind {
            'p' => {
                keys.primary.insert(c.table.clone(), c.columns.clone());
                keys.unique
                    .entry(c.table.clone())
                    .or_default()
                    .push(c.columns.clone());
            }
            'u' => keys
                .unique
                .entry(c.table.clone())
                .or_default()
                .push(c.columns.clone()),
            _ => {}
        }
    }
    keys
}

fn apply_base_keys(tables: &mut HashMap<QualifiedName, Table>, keys: &BaseKeys) {
    for t in tables.values_mut() {
        if let Some(pk) = keys.primary.get(&t.name) {
            t.primary_key = pk.clone();
        }
        if let Some(u) = keys.unique.get(&t.name) {
            t.unique_keys = u.clone();
        }
    }
}

/// The name a stand-in shows base column `base` under.
fn exposed(cols: &ColumnMap, base: &str) -> Option<String> {
    cols.iter()
        .find(|(b, _)| b == base)
        .map(|(_, shown)| shown.clone())
}

/// The stand-ins of every base relation; a view over one base table that shows all of its
/// primary key inherits that key (under the view's column names).
fn stand_ins(
    tables: &mut HashMap<QualifiedName, Table>,
    view_map: &BTreeMap<QualifiedName, BTreeMap<QualifiedName, ColumnMap>>,
    keys: &BaseKeys,
) -> StandIns {
    let mut stand_ins: StandIns = HashMap::new();
    for t in tables.values() {
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
    for (view, bases) in view_map {
        if !tables.contains_key(view) {
            continue;
        }
        for (base, cols) in bases {
            stand_ins
                .entry(base.clone())
                .or_default()
                .push((view.clone(), cols.clone()));
            if bases.len() == 1 {
                if let Some(pk) = keys.primary.get(base) {
                    let mapped: Option<Vec<String>> = pk.iter().map(|c| exposed(cols, c)).collect();
                    if let (Some(mapped), Some(v)) = (mapped, tables.get_mut(view)) {
                        if v.primary_key.is_empty() {
                            v.primary_key = mapped;
                        }
                    }
                }
            }
        }
    }
    stand_ins
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Foreign keys between every pair of stand-ins of the constrained tables.
fn foreign_keys(
    constraints: &[Constraint],
    keys: &BaseKeys,
    stand_ins: &StandIns,
) -> Vec<ForeignKey> {
    let mut fks = Vec::new();
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
        let unique = keys
            .unique
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
                fks.push(ForeignKey {
                    child: child.clone(),
                    parent: par.clone(),
                    name: c.name.clone(),
                    pairs: mapped,
                    unique,
                });
            }
        }
    }
    fks
}

/// Both directions of every foreign key: many-to-one and one-to-many, or one-to-one twice.
fn add_foreign_key_relationships(
    relationships: &mut HashMap<QualifiedName, Vec<Relationship>>,
    fks: &[ForeignKey],
) {
    for fk in fks {
        let (to_parent, to_child) = if fk.unique {
            (Cardinality::OneToOne, Cardinality::OneToOne)
        } else {
            (Cardinality::ManyToOne, Cardinality::OneToMany)
        };
        relationships
            .entry(fk.child.clone())
            .or_default()
            .push(Relationship {
                origin: fk.child.clone(),
                target: fk.parent.clone(),
                cardinality: to_parent,
                constraint: fk.name.clone(),
                columns: fk.pairs.clone(),
            });
        relationships
            .entry(fk.parent.clone())
            .or_default()
            .push(Relationship {
                origin: fk.parent.clone(),
                target: fk.child.clone(),
                cardinality: to_child,
                constraint: fk.name.clone(),
                columns: fk
                    .pairs
                    .iter()
                    .map(|(a, b)| (b.clone(), a.clone()))
                    .collect(),
            });
    }
}

/// Many-to-many: a junction whose two FKs' columns are both inside its primary key.
fn add_many_to_many_relationships(
    tables: &HashMap<QualifiedName, Table>,
    relationships: &mut HashMap<QualifiedName, Vec<Relationship>>,
    fks: &[ForeignKey],
) {
    for junction in tables.values() {
        if junction.is_view() || junction.primary_key.is_empty() {
            continue;
        }
        let outgoing: Vec<&ForeignKey> = fks
            .iter()
            .filter(|fk| {
                fk.child == junction.name
                    && fk
                        .pairs
                        .iter()
                        .all(|(c, _)| junction.primary_key.contains(c))
            })
            .collect();
        for a in &outgoing {
            for b in &outgoing {
                if a.name == b.name {
                    continue;
                }
                relationships
                    .entry(a.parent.clone())
                    .or_default()
                    .push(Relationship {
                        origin: a.parent.clone(),
                        target: b.parent.clone(),
                        cardinality: Cardinality::ManyToMany(Junction {
                            table: junction.name.clone(),
                            origin_constraint: a.name.clone(),
                            target_constraint: b.name.clone(),
                            origin_columns: a
                                .pairs
                                .iter()
                                .map(|(j, o)| (o.clone(), j.clone()))
                                .collect(),
                            target_columns: b
                                .pairs
                                .iter()
                                .map(|(j, t)| (t.clone(), j.clone()))
                                .collect(),
                        }),
                        constraint: junction.name.name.clone(),
                        columns: Vec::new(),
                    });
            }
        }
    }
}

/// The callable functions by name, overloads in the order PostgREST's errors list them.
fn functions(rows: &[Row]) -> HashMap<QualifiedName, Vec<Function>> {
    let mut functions: HashMap<QualifiedName, Vec<Function>> = HashMap::new();
    for r in rows {
        let f = function_from_row(r);
        // Newest first, as PostgREST's `HM.fromListWith (++)` leaves them.
        functions.entry(f.name.clone()).or_default().insert(0, f);
    }
    // PostgREST lists overloads in catalog order; fewest parameters first, newest first
    // among equals reproduces the order its error messages show.
    for overloads in functions.values_mut() {
        overloads.sort_by(|a, b| {
            a.arguments
                .len()
                .cmp(&b.arguments.len())
                .then(b.oid.cmp(&a.oid))
        });
    }
    functions
}

/// Computed relationships, which override detected ones of the same name.
fn add_computed_relationships(cache: &mut SchemaCache, rows: &[Row]) {
    for r in rows {
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
        });
    }
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
        description: r.get(12),
        oid: r.get(13),
    }
}
