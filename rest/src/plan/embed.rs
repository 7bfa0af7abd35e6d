//! Resolving `relation[!hint]` in a `select` to one relationship of the schema cache, as
//! PostgREST's `Plan.hs` (`findRel`) does, with its `PGRST200` / `PGRST201` errors.

use serde_json::{json, Value};

use crate::error::fuzzy::{FuzzySet, DEFAULT_MIN_SCORE};
use crate::error::{Error, ErrorCode};
use crate::schema_cache::{Cardinality, QualifiedName, Relationship, SchemaCache};

/// Finds the one relationship from `origin` that `name` (with `hint`) designates, with
/// `findRel`'s rules: self-relationships take the table name for the one-to-many side and the
/// FK column for the many-to-one side; otherwise the name is the target table/view, the FK
/// constraint or the FK column (tables only), and a hint is a constraint, a column of either
/// side, or the junction of a many-to-many relationship.
pub(crate) fn find_relationship<'a>(
    cache: &'a SchemaCache,
    origin: &QualifiedName,
    name: &str,
    hint: Option<&str>,
) -> Result<&'a Relationship, Error> {
    let all = cache.relationships_from(origin);
    let single_col = |r: &Relationship, col: &str| r.columns.len() == 1 && r.columns[0].0 == col;
    let single_ref_col =
        |r: &Relationship, col: &str| r.columns.len() == 1 && r.columns[0].1 == col;
    let is_fk = |r: &Relationship| {
        matches!(
            r.cardinality,
            Cardinality::ManyToOne | Cardinality::OneToMany | Cardinality::OneToOne
        )
    };
    let found: Vec<&Relationship> = all
        .iter()
        .filter(|r| {
            if let Cardinality::Computed { function, .. } = &r.cardinality {
                return function.name == name;
            }
            let target_is_view = cache.tables.get(&r.target).is_some_and(|t| t.is_view());
            let is_self = r.origin == r.target;
            if is_self {
                return match hint {
                    None => {
                        (r.target.name == name && r.cardinality == Cardinality::OneToMany)
                            || (single_col(r, name) && r.cardinality == Cardinality::ManyToOne)
                    }
                    Some(h) => {
                        r.target.name == name
                            && r.cardinality == Cardinality::OneToMany
                            && single_ref_col(r, h)
                    }
                };
            }
            match hint {
                None => {
                    r.target.name == name
                        || (is_fk(r) && r.constraint == name && !target_is_view)
                        || (is_fk(r) && single_col(r, name) && !target_is_view)
                }
                Some(h) => {
                    r.target.name == name
                        && ((is_fk(r) && r.constraint == h)
                            || (is_fk(r) && single_col(r, h))
                            || (is_fk(r) && single_ref_col(r, h))
                            || matches!(&r.cardinality, Cardinality::ManyToMany(j) if j.table.name == h))
                }
            }
        })
        .collect();
    match found.len() {
        1 => Ok(found[0]),
        0 => Err(with_hint(
            Error::new(ErrorCode::RelationshipNotFound,
            format!(
                "Could not find a relationship between '{}' and '{}' in the schema cache",
                origin.name, name
            ),
        )
        .details(format!(
            "Searched for a foreign key relationship between '{}' and '{}'{} in the schema '{}', but no matches were found.",
            origin.name,
            name,
                hint.map(|h| format!(" using the hint '{h}'")).unwrap_or_default(),
                origin.schema
            )),
            no_rel_between_hint(cache, origin, name),
        )),
        _ => {
            let details: Vec<Value> = found
                .iter()
                .map(|r| {
                    json!({
                        "cardinality": r.cardinality_name(),
                        "embedding": format!("{} with {}", r.origin.name, r.target.name),
                        "relationship": describe(r),
                    })
                })
                .collect();
            let options: Vec<String> = found
                .iter()
                .map(|r| format!("'{}!{}'", name, hint_for(r)))
                .collect();
            Err(Error::new(ErrorCode::AmbiguousRelationship,
                format!(
                    "Could not embed because more than one relationship was found for '{}' and '{}'",
                    origin.name, name
                ),
            )
            .details_json(Value::Array(details))
            .hint(format!(
                "Try changing '{}' to one of the following: {}. Find the desired relationship in the 'details' key.",
                name,
                options.join(", ")
            )))
        }
    }
}

fn hint_for(r: &Relationship) -> String {
    match &r.cardinality {
        Cardinality::ManyToMany(j) => j.table.name.clone(),
        Cardinality::Computed { function, .. } => function.name.clone(),
        _ => r.constraint.clone(),
    }
}

fn describe(r: &Relationship) -> String {
    match &r.cardinality {
        Cardinality::ManyToMany(j) => format!(
            "{} using {}({}) and {}({})",
            j.table,
            j.origin_constraint,
            j.origin_columns
                .iter()
                .map(|(_, c)| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            j.target_constraint,
            j.target_columns
                .iter()
                .map(|(_, c)| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => {
            let origin_cols: Vec<&str> = r.columns.iter().map(|(o, _)| o.as_str()).collect();
            let target_cols: Vec<&str> = r.columns.iter().map(|(_, t)| t.as_str()).collect();
            format!(
                "{} using {}({}) and {}({})",
                r.constraint,
                r.origin.name,
                origin_cols.join(", "),
                r.target.name,
                target_cols.join(", ")
            )
        }
    }
}

fn with_hint(err: Error, hint: Option<String>) -> Error {
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// PostgREST's `noRelBetweenHint`: when `origin` has relationships, the closest of their targets
/// to `child` (never `child` itself); otherwise the closest relation that has relationships to
/// `origin`.
fn no_rel_between_hint(cache: &SchemaCache, origin: &QualifiedName, child: &str) -> Option<String> {
    match cache.relationships.get(origin) {
        Some(rels) => {
            let targets = FuzzySet::new(rels.iter().map(|r| r.target.name.as_str()));
            let best = targets
                .get(child, DEFAULT_MIN_SCORE)
                .into_iter()
                .find(|(score, _)| *score < 1.0)?
                .1;
            Some(format!("Perhaps you meant '{best}' instead of '{child}'."))
        }
        None => {
            let parents = FuzzySet::new(
                cache
                    .relationships
                    .keys()
                    .filter(|k| k.schema == origin.schema)
                    .map(|k| k.name.as_str()),
            );
            let best = parents.get_one(&origin.name, DEFAULT_MIN_SCORE)?;
            Some(format!(
                "Perhaps you meant '{best}' instead of '{}'.",
                origin.name
            ))
        }
    }
}
