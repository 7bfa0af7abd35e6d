//! Rendering of parse errors the way PostgREST does it: `mapError` in
//! `ApiRequest/QueryParams.hs` turns a parsec `ParseError` into `QPError message details`,
//! where `message` is `show (errorPos e)` (`"<source name>" (line L, column C)`, from
//! parsec's `Text.Parsec.Pos`) and `details` is parsec's `showErrorMessages` (from
//! `Text.Parsec.Error`) with newlines replaced by spaces and the result stripped.

use crate::error::ParseError;
use crate::parsec::{Msg, PErr};

/// Build the [`ParseError`] PostgREST would report for `err` while parsing `input` under
/// the parsec source name `source_name` (e.g. `failed to parse filter (eq.)`).
pub(crate) fn render(source_name: &str, input: &[char], err: &PErr) -> ParseError {
    let (line, column) = source_pos(input, err.pos);
    ParseError {
        message: format!("\"{source_name}\" (line {line}, column {column})"),
        details: Some(details(&err.msgs)),
    }
}

/// parsec's `updatePosChar` applied to the chars before `pos`: a newline starts a new line,
/// a tab moves to the next multiple of 8 plus one.
fn source_pos(input: &[char], pos: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for &c in input.iter().take(pos) {
        match c {
            '\n' => {
                line += 1;
                column = 1;
            }
            '\t' => column = column + 8 - ((column - 1) % 8),
            _ => column += 1,
        }
    }
    (line, column)
}

/// `showErrorMessages "or" "unknown parse error" "expecting" "unexpected" "end of input"`,
/// then PostgREST's `T.strip . T.replace "\n" " "`.
fn details(msgs: &[Msg]) -> String {
    if msgs.is_empty() {
        return "unknown parse error".to_string();
    }
    // `errorMessages` sorts by kind; the sort is stable, so order within a kind is kept.
    let mut sorted: Vec<&Msg> = msgs.iter().collect();
    sorted.sort_by_key(|m| m.rank());
    let of_rank = |r: u8| -> Vec<&str> {
        sorted
            .iter()
            .filter(|m| m.rank() == r)
            .map(|m| m.text())
            .collect()
    };
    let sys_unexpect = of_rank(0);
    let unexpect = of_rank(1);
    let expect = of_rank(2);
    let messages = of_rank(3);

    let show_sys_unexpect = match sys_unexpect.first() {
        Some(_) if !unexpect.is_empty() => String::new(),
        None => String::new(),
        Some(&"") => "unexpected end of input".to_string(),
        Some(first) => format!("unexpected {first}"),
    };
    let parts = [
        show_sys_unexpect,
        show_many("unexpected", &unexpect),
        show_many("expecting", &expect),
        show_many("", &messages),
    ];
    let shown = clean(parts.iter().map(String::as_str).collect());
    let joined: String = shown.iter().map(|p| format!("\n{p}")).collect();
    joined.replace('\n', " ").trim().to_string()
}

/// `showMany pre msgs`.
fn show_many(pre: &str, msgs: &[&str]) -> String {
    let ms = clean(msgs.to_vec());
    if ms.is_empty() {
        String::new()
    } else if pre.is_empty() {
        commas_or(&ms)
    } else {
        format!("{pre} {}", commas_or(&ms))
    }
}

/// `commasOr`: `a`, `a or b`, `a, b or c`.
fn commas_or(ms: &[&str]) -> String {
    match ms {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", clean(init.to_vec()).join(", ")),
    }
}

/// `clean = nub . filter (not . null)`.
fn clean(ms: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(ms.len());
    for m in ms {
        if !m.is_empty() && !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sys(s: &str) -> Msg {
        Msg::SysUnExpect(s.to_string())
    }
    fn un(s: &str) -> Msg {
        Msg::UnExpect(s.to_string())
    }
    fn exp(s: &str) -> Msg {
        Msg::Expect(s.to_string())
    }

    #[test]
    fn details_follow_show_error_messages() {
        let cases: Vec<(Vec<Msg>, &str)> = vec![
            (vec![], "unknown parse error"),
            (vec![sys("")], "unexpected end of input"),
            (
                vec![exp("\"not\""), sys("\"0\""), sys("\"1\""), exp("operator")],
                "unexpected \"0\" expecting \"not\" or operator",
            ),
            (
                vec![sys("\"t\""), exp("\",\""), un("'t'"), exp("end of input")],
                "unexpected 't' expecting \",\" or end of input",
            ),
            (
                vec![exp("a"), exp("b"), exp("a"), exp("c"), sys("\"x\"")],
                "unexpected \"x\" expecting a, b or c",
            ),
            (vec![un("'>'")], "unexpected '>'"),
            (
                vec![Msg::Message("too deep".into()), sys("\"(\"")],
                "unexpected \"(\" too deep",
            ),
            (vec![exp(""), sys("\"x\"")], "unexpected \"x\""),
        ];
        for (msgs, want) in cases {
            assert_eq!(details(&msgs), want, "{msgs:?}");
        }
    }

    #[test]
    fn positions_follow_parsec() {
        let input: Vec<char> = "ab\ncd\tx".chars().collect();
        assert_eq!(source_pos(&input, 0), (1, 1));
        assert_eq!(source_pos(&input, 2), (1, 3));
        assert_eq!(source_pos(&input, 3), (2, 1));
        assert_eq!(source_pos(&input, 6), (2, 9));
        let e = render("failed to parse x (y)", &input, &PErr::new(1, sys("")));
        assert_eq!(e.message, "\"failed to parse x (y)\" (line 1, column 2)");
        assert_eq!(e.details.as_deref(), Some("unexpected end of input"));
    }
}
