//! The one identifier-quoting function: every table, column, schema, role or function name
//! that reaches SQL text goes through [`quote_ident`]. Values never do; they are bound parameters.

/// Quotes an identifier the way PostgreSQL's `quote_ident` does, always: `a"b` → `"a""b"`.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Quotes a string literal (`'it''s'`). Only for DDL where PostgreSQL accepts no parameters
/// (for example `ALTER ROLE … PASSWORD`); request values are always bound parameters.
pub fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    let has_backslash = value.contains('\\');
    if has_backslash {
        out.push('E');
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("todos"), "\"todos\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("full name"), "\"full name\"");
        assert_eq!(quote_ident("x\0y"), "\"xy\"");
    }

    #[test]
    fn quotes_literals() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }
}
