//! View column dependencies, as PostgREST's `SchemaCache.hs` (`allViewsKeyDependencies`) reads
//! them from `pg_rewrite`: the `_RETURN` rule of a view is a stored query tree whose top-level
//! target list says, for each view column (`resno`), which relation (`resorigtbl`) and column
//! (`resorigcol`) it shows. That maps renamed columns (`select id as key from t`) back to their
//! base columns, so keys and foreign keys are traced through views. Views over views are
//! followed down to the base tables.
//!
//! Only the top-level target list counts (subqueries and CTEs have their own); entries that are
//! expressions rather than plain column references have no origin and are skipped.

use std::collections::{BTreeMap, HashMap};

use super::QualifiedName;

/// One top-level target entry: view column number, origin relation OID, origin column number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TargetOrigin {
    /// `resno`: the view column's position (its `attnum`).
    pub(crate) resno: i32,
    /// `resorigtbl`: the OID of the relation the column comes from.
    pub(crate) table: u32,
    /// `resorigcol`: that relation's column number.
    pub(crate) column: i32,
}

#[derive(Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
}

/// Splits node-tree text as PostgreSQL's `pg_strtok` does: on unescaped whitespace and on the
/// `(`, `)`, `{`, `}` delimiters; a backslash protects the next character.
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '(' | '{' => {
                flush(&mut word, &mut out);
                out.push(Token::Open);
            }
            ')' | '}' => {
                flush(&mut word, &mut out);
                out.push(Token::Close);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The origins of the top-level target list of a view's `_RETURN` rule (`ev_action::text`).
pub(crate) fn target_origins(action: &str) -> Vec<TargetOrigin> {
    let toks = tokens(action);
    let mut depth = 0usize;
    let mut i = 0;
    // Find `:targetList` among the fields of the outermost query node: `({QUERY … })`.
    let start = loop {
        let Some(t) = toks.get(i) else {
            return Vec::new();
        };
        match t {
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 2 && w == ":targetList" => break i + 1,
            Token::Word(_) => {}
        }
        i += 1;
    };
    if toks.get(start) != Some(&Token::Open) {
        return Vec::new();
    }
    let mut origins = Vec::new();
    // Inside the list (relative depth 1) each `{TARGETENTRY …}` opens relative depth 2; only
    // its own fields count, not those of its nested expression nodes.
    let mut rel = 0usize;
    let mut current: Option<(Option<i32>, Option<u32>, Option<i32>)> = None;
    let mut j = start;
    while let Some(t) = toks.get(j) {
        match t {
            Token::Open => {
                rel += 1;
                if rel == 2 {
                    current = Some((None, None, None));
                }
            }
            Token::Close => {
                if rel == 2 {
                    if let Some((Some(resno), Some(table), Some(column))) = current.take() {
                        if table != 0 && column > 0 {
                            origins.push(TargetOrigin {
                                resno,
                                table,
                                column,
                            });
                        }
                    }
                }
                rel = rel.saturating_sub(1);
                if rel == 0 {
                    break;
                }
            }
            Token::Word(w) if rel == 2 => {
                let value = match toks.get(j + 1) {
                    Some(Token::Word(v)) => Some(v.as_str()),
                    _ => None,
                };
                if let (Some(entry), Some(v)) = (current.as_mut(), value) {
                    match w.as_str() {
                        ":resno" => entry.0 = v.parse().ok(),
                        ":resorigtbl" => entry.1 = v.parse().ok(),
                        ":resorigcol" => entry.2 = v.parse().ok(),
                        _ => {}
                    }
                }
            }
            Token::Word(_) => {}
        }
        j += 1;
    }
    origins
}

/// A view's columns in terms of one base relation: (base column, view column) pairs.
pub(crate) type ColumnMap = Vec<(String, String)>;

/// Resolves every view's columns down to base tables. `views` holds, per view, its column
/// names by position and its parsed target origins; `columns` names the columns of every
/// relation an origin points at. The result: view → base table → (base column, view column).
pub(crate) fn resolve(
    views: &HashMap<QualifiedName, (Vec<String>, Vec<TargetOrigin>)>,
    columns: &HashMap<(u32, i32), (QualifiedName, String)>,
) -> BTreeMap<QualifiedName, BTreeMap<QualifiedName, ColumnMap>> {
    // One level: view column → (relation, column).
    let direct: HashMap<&QualifiedName, Vec<(String, QualifiedName, String)>> = views
        .iter()
        .map(|(view, (names, origins))| {
            let cols = origins
                .iter()
                .filter_map(|o| {
                    let name = names.get(usize::try_from(o.resno - 1).ok()?)?;
                    let (rel, col) = columns.get(&(o.table, o.column))?;
                    Some((name.clone(), rel.clone(), col.clone()))
                })
                .collect();
            (view, cols)
        })
        .collect();
    let mut out: BTreeMap<QualifiedName, BTreeMap<QualifiedName, ColumnMap>> = BTreeMap::new();
    for view in views.keys() {
        let Some(cols) = direct.get(view) else {
            continue;
        };
        for (view_col, rel, col) in cols {
            // Follow views over views (a bounded number of steps: view cycles cannot exist,
            // but the bound keeps a malformed catalog from looping).
            let (mut rel, mut col) = (rel.clone(), col.clone());
            for _ in 0..16 {
                let Some(next) = direct
                    .get(&rel)
                    .and_then(|c| c.iter().find(|(name, _, _)| *name == col))
                else {
                    break;
                };
                rel = next.1.clone();
                col = next.2.clone();
            }
            if views.contains_key(&rel) {
                continue;
            }
            let map = out.entry(view.clone()).or_default().entry(rel).or_default();
            if !map.iter().any(|(base, _)| *base == col) {
                map.push((col, view_col.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Abridged from `select ev_action from pg_rewrite` on PostgreSQL 16 for
    // `create view v as select id as key, name, (select 1) as one from t`.
    const ACTION: &str = r#"({QUERY :commandType 1 :querySource 0 :canSetTag true :utilityStmt <> :resultRelation 0 :hasAggs false :cteList <> :rtable ({RANGETBLENTRY :alias <> :eref {ALIAS :aliasname t :colnames ("id" "name\ x")} :rtekind 0 :relid 16390 :relkind r :rellockmode 1 :tablesample <> :perminfoindex 1 :lateral false :inh true :inFromCl true :securityQuals <>}) :rteperminfos ({RTEPERMISSIONINFO :relid 16390 :inh true :requiredPerms 2 :checkAsUser 0 :selectedCols (b 8 9) :insertedCols (b) :updatedCols (b)}) :jointree {FROMEXPR :fromlist ({RANGETBLREF :rtindex 1}) :quals <>} :mergeActionList <> :targetList ({TARGETENTRY :expr {VAR :varno 1 :varattno 1 :vartype 23 :vartypmod -1 :varcollid 0 :varnullingrels (b) :varlevelsup 0 :varnosyn 1 :varattnosyn 1 :location 23} :resno 1 :resname key :ressortgroupref 0 :resorigtbl 16390 :resorigcol 1 :resjunk false} {TARGETENTRY :expr {VAR :varno 1 :varattno 2 :vartype 25 :vartypmod -1 :varcollid 100 :varnullingrels (b) :varlevelsup 0 :varnosyn 1 :varattnosyn 2 :location 34} :resno 2 :resname name\ x :ressortgroupref 0 :resorigtbl 16390 :resorigcol 2 :resjunk false} {TARGETENTRY :expr {SUBLINK :subLinkType 4 :subLinkId 0 :testexpr <> :operName <> :subselect {QUERY :commandType 1 :targetList ({TARGETENTRY :expr {CONST :consttype 23 :constvalue 4 [ 1 0 0 0 0 0 0 0 ]} :resno 1 :resname \?column\? :ressortgroupref 0 :resorigtbl 999 :resorigcol 7 :resjunk false})} :location 40} :resno 3 :resname one :ressortgroupref 0 :resorigtbl 0 :resorigcol 0 :resjunk false}) :override 0 :onConflict <> :returningList <>})"#;

    #[test]
    fn reads_only_the_top_level_target_list() {
        assert_eq!(
            target_origins(ACTION),
            vec![
                TargetOrigin {
                    resno: 1,
                    table: 16390,
                    column: 1
                },
                TargetOrigin {
                    resno: 2,
                    table: 16390,
                    column: 2
                },
            ]
        );
    }

    #[test]
    fn tolerates_garbage() {
        for text in [
            "",
            "(",
            ")))",
            "({QUERY :targetList",
            "({QUERY :targetList <>})",
            "\\",
        ] {
            assert!(target_origins(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn resolves_through_views() {
        let t = QualifiedName::new("public", "t");
        let v = QualifiedName::new("public", "v");
        let w = QualifiedName::new("api", "w");
        let views = HashMap::from([
            (
                v.clone(),
                (
                    vec!["key".to_string(), "label".to_string()],
                    vec![
                        TargetOrigin {
                            resno: 1,
                            table: 1,
                            column: 1,
                        },
                        TargetOrigin {
                            resno: 2,
                            table: 1,
                            column: 2,
                        },
                    ],
                ),
            ),
            (
                w.clone(),
                (
                    vec!["k".to_string()],
                    vec![TargetOrigin {
                        resno: 1,
                        table: 2,
                        column: 1,
                    }],
                ),
            ),
        ]);
        let columns = HashMap::from([
            ((1, 1), (t.clone(), "id".to_string())),
            ((1, 2), (t.clone(), "name".to_string())),
            ((2, 1), (v.clone(), "key".to_string())),
        ]);
        let out = resolve(&views, &columns);
        assert_eq!(
            out[&v][&t],
            vec![
                ("id".to_string(), "key".to_string()),
                ("name".to_string(), "label".to_string())
            ]
        );
        assert_eq!(out[&w][&t], vec![("id".to_string(), "k".to_string())]);
    }
}
