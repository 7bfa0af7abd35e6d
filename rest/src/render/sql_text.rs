//! A SQL text with its bound parameters: every value a request brings is pushed here and
//! referenced as `$n`, sent as an untyped text literal so PostgreSQL coerces it to the type the
//! context needs (as PostgREST does); identifiers go through `bucketbase_sql::quote_ident`.

use bucketbase_sql::request_tx::UntypedParam;
use bucketbase_sql::tokio_postgres::types::ToSql;

/// SQL being built, with its parameters.
#[derive(Debug, Default)]
pub(crate) struct SqlText {
    /// The statement text.
    pub(crate) sql: String,
    /// The parameters, `$1` first.
    pub(crate) params: Vec<UntypedParam>,
}

impl SqlText {
    /// Binds `value` and returns its placeholder (`$n`).
    pub(crate) fn bind(&mut self, value: impl Into<String>) -> String {
        self.params.push(UntypedParam(value.into()));
        format!("${}", self.params.len())
    }

    /// The parameters as `tokio_postgres` wants them.
    pub(crate) fn param_refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Quotes an identifier (the one quoting function of `bucketbase_sql`).
pub(crate) fn ident(name: &str) -> String {
    bucketbase_sql::quote_ident(name)
}

/// Renders a PostgreSQL array literal (`{"a","b,c"}`) from items, escaping `"` and `\`.
pub(crate) fn array_literal(items: &[String]) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// True when `ty` is safe to paste as a cast target: PostgREST's grammar only admits
/// identifier characters, plus `[]` and spaces for types like `character varying[]`.
pub(crate) fn is_safe_type_name(ty: &str) -> bool {
    !ty.is_empty()
        && ty
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '[' | ']' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_array_literals() {
        assert_eq!(
            array_literal(&["a".into(), "b,c".into(), "x\"y".into()]),
            r#"{"a","b,c","x\"y"}"#
        );
        assert_eq!(array_literal(&[]), "{}");
    }

    #[test]
    fn binds_in_order() {
        let mut s = SqlText::default();
        assert_eq!(s.bind("a"), "$1");
        assert_eq!(s.bind("b"), "$2");
        assert_eq!(s.param_refs().len(), 2);
    }

    #[test]
    fn refuses_unsafe_casts() {
        assert!(is_safe_type_name("text"));
        assert!(is_safe_type_name("character varying[]"));
        assert!(!is_safe_type_name("text); drop table x; --"));
    }
}
