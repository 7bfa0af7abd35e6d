//! Haskell's `show` for `Char` and `String` (GHC.Show's `showLitChar`), which parsec uses
//! to write the tokens in its error messages, so `details` quote them as PostgREST does
//! (`unexpected "\233"` for `é`).

/// Haskell's `show` for a `Char`: `'x'`, with `showLitChar` escapes.
pub(crate) fn show_char(c: char) -> String {
    if c == '\'' {
        return "'\\''".to_string();
    }
    let mut out = String::from("'");
    show_lit_char(c, None, &mut out);
    out.push('\'');
    out
}

/// Haskell's `show` for a `String`: `"x"`, with `showLitChar` escapes (non-ASCII chars
/// become decimal escapes such as `\233`).
pub(crate) fn show_string(s: &str) -> String {
    let mut out = String::from("\"");
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '"' {
            out.push_str("\\\"");
        } else {
            show_lit_char(c, it.peek().copied(), &mut out);
        }
    }
    out.push('"');
    out
}

const ASCII_NAMES: [&str; 32] = [
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC",
    "FS", "GS", "RS", "US",
];

/// `showLitChar c`, with `next` the following char (for the `\&` protection).
fn show_lit_char(c: char, next: Option<char>, out: &mut String) {
    let code = c as u32;
    match c {
        _ if code > 127 => {
            out.push('\\');
            out.push_str(&code.to_string());
            if next.is_some_and(|n| n.is_ascii_digit()) {
                out.push_str("\\&");
            }
        }
        '\u{7f}' => out.push_str("\\DEL"),
        '\\' => out.push_str("\\\\"),
        _ if c >= ' ' => out.push(c),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\u{e}' => {
            out.push_str("\\SO");
            if next == Some('H') {
                out.push_str("\\&");
            }
        }
        _ => {
            out.push('\\');
            out.push_str(ASCII_NAMES.get(code as usize).copied().unwrap_or("NUL"));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn show_matches_haskell() {
        let cases: &[(&str, &str)] = &[
            ("abc", "\"abc\""),
            ("a\"b", "\"a\\\"b\""),
            ("a\\b", "\"a\\\\b\""),
            ("é", "\"\\233\""),
            ("é1", "\"\\233\\&1\""),
            ("\n", "\"\\n\""),
            ("\u{1}", "\"\\SOH\""),
            ("\u{e}H", "\"\\SO\\&H\""),
            ("\u{7f}", "\"\\DEL\""),
            ("'", "\"'\""),
        ];
        for (input, want) in cases {
            assert_eq!(show_string(input), *want, "show {input:?}");
        }
        assert_eq!(show_char('x'), "'x'");
        assert_eq!(show_char('\''), "'\\''");
        assert_eq!(show_char('"'), "'\"'");
        assert_eq!(show_char('ü'), "'\\252'");
    }
}
