//! Resolving `relation[!hint]` in a `select` to one relationship of the schema cache, as
//! PostgREST's `Plan.hs` (`findRel`) does, with its `PGRST200` / `PGRST201` errors.

use serde_json::{json, Value};

use crate::error::Error;
use crate::schema::{Cardinality, QualifiedName, Relationship, SchemaCache};

/// Finds the one relationship from `origin` that `name` (with `hint`) designates.
pub fn find_relationship(
    cache: &SchemaCache,
    origin: &QualifiedName,
    name: &str,
    hint: Option<&str>,
) -> Result<Relationship, Error> {
    let all = cache.relationships_from(origin);
    let mut found: Vec<&Relationship> = all
        .iter()
        .filter(|r| match hint {
            None => {
                r.target.name == name
                    || (!matches!(r.cardinality, Cardinality::ManyToMany(_))
                        && r.constraint == name)
                    || (matches!(
                        r.cardinality,
                        Cardinality::ManyToOne | Cardinality::OneToOne
                    ) && r.columns.len() == 1
                        && r.columns[0].0 == name
                        && r.origin_holds_fk)
            }
            Some(h) => {
                r.target.name == name
                    && (r.constraint == h
                        || r.columns.iter().any(|(o, t)| o == h || t == h)
                        || match &r.cardinality {
                            Cardinality::ManyToMany(j) => {
                                j.table.name == h
                                    || j.origin_constraint == h
                                    || j.target_constraint == h
                            }
                            _ => false,
                        })
            }
        })
        .collect();
    // A self-referencing foreign key: the table's name means its children, the column means
    // its parent.
    if found.len() > 1 && hint.is_none() {
        let by_table: Vec<&Relationship> = found
            .iter()
            .copied()
            .filter(|r| {
                !(r.origin == r.target
                    && r.target.name == name
                    && matches!(r.cardinality, Cardinality::ManyToOne))
            })
            .collect();
        if !by_table.is_empty() {
            found = by_table;
        }
        let exact: Vec<&Relationship> = found
            .iter()
            .copied()
            .filter(|r| r.constraint == name || r.columns.iter().any(|(o, _)| o == name))
            .collect();
        if exact.len() == 1 {
            found = exact;
        }
    }
    match found.len() {
        1 => Ok(found[0].clone()),
        0 => Err(Error::new(
            400,
            "PGRST200",
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
        ))),
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
            Err(Error::new(
                300,
                "PGRST201",
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
