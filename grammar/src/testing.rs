//! Builders shared by the unit tests of every module (test-only).
#![allow(dead_code)]

use crate::ast::*;

/// A plain field.
pub(crate) fn fld(name: &str) -> Field {
    Field {
        name: name.to_string(),
        json_path: Vec::new(),
    }
}

/// A field with a JSON path, written as `(double_arrow, key)` steps; keys that parse as
/// integers become indexes.
pub(crate) fn jfld(name: &str, steps: &[(bool, &str)]) -> Field {
    Field {
        name: name.to_string(),
        json_path: steps
            .iter()
            .map(|(double, k)| {
                let key = match k.parse::<i64>() {
                    Ok(i) => JsonKey::Index(i),
                    Err(_) => JsonKey::Key((*k).to_string()),
                };
                if *double {
                    JsonOp::DoubleArrow(key)
                } else {
                    JsonOp::Arrow(key)
                }
            })
            .collect(),
    }
}

/// `Some(s.to_string())`.
pub(crate) fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// A bare column in a select list.
pub(crate) fn col(name: &str) -> SelectItem {
    column(fld(name))
}

/// A column item for `field`, nothing else set.
pub(crate) fn column(field: Field) -> SelectItem {
    SelectItem::Column {
        field,
        alias: None,
        cast: None,
        aggregate: None,
        aggregate_cast: None,
    }
}

/// An embed without alias, hint or join type.
pub(crate) fn embed(relation: &str, select: Vec<SelectItem>) -> SelectItem {
    SelectItem::Embed {
        relation: relation.to_string(),
        alias: None,
        hint: None,
        join: None,
        spread: false,
        select,
    }
}

/// A comparison operation.
pub(crate) fn cmp(op: CompareOp, value: &str) -> Operation {
    Operation::Compare {
        op,
        quantifier: None,
        value: value.to_string(),
    }
}

/// A non-negated filter.
pub(crate) fn filter(field: Field, operation: Operation) -> Filter {
    Filter {
        field,
        negated: false,
        operation,
    }
}

/// `field.eq.value` as a logic leaf.
pub(crate) fn leaf_eq(name: &str, value: &str) -> LogicTree {
    LogicTree::Leaf(filter(fld(name), cmp(CompareOp::Eq, value)))
}

/// A non-negated logic expression.
pub(crate) fn expr(op: LogicOp, children: Vec<LogicTree>) -> LogicTree {
    LogicTree::Expr {
        negated: false,
        op,
        children,
    }
}

/// An embed path from string slices.
pub(crate) fn path(p: &[&str]) -> EmbedPath {
    p.iter().map(|s| (*s).to_string()).collect()
}

/// Assert that `r` failed with exactly this message (column included) and details.
#[track_caller]
pub(crate) fn assert_err<T: std::fmt::Debug>(
    r: Result<T, crate::ParseError>,
    message: &str,
    details: &str,
) {
    match r {
        Ok(v) => panic!("expected error {message:?}, got {v:?}"),
        Err(e) => {
            assert_eq!(e.message, message);
            assert_eq!(e.details.as_deref(), Some(details), "details of {message}");
        }
    }
}
