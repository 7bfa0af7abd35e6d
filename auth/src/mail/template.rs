//! The subset of Go's `html/template` that GoTrue's mail templates are written in (GoTrue parses
//! every subject and body with `html/template`; Supabase's docs show what people use):
//!
//! - `{{ .Field }}` for the mail's variables (`.ConfirmationURL`, `.Token`, `.Email`, …) and
//!   `{{ .Data.key }}` (or `.Data.a.b`) for the user's `user_metadata`: strings as they are,
//!   other JSON values as their JSON text, `null` and missing keys as nothing. A field the mail
//!   does not have renders as nothing too (`html/template` skips the nil of a missing map key).
//! - `{{ if C }}…{{ else if C }}…{{ else }}…{{ end }}`, where `C` is an operand, `not X`,
//!   `eq X Y…`, `ne X Y`, `and X…` or `or X…`; operands are fields, `"strings"`, `` `raw` ``,
//!   numbers, `true` and `false`. Truth is Go's: empty strings, `0`, `false`, `null` and empty
//!   arrays or objects are false.
//! - `{{/* comments */}}` and the `{{-` / `-}}` whitespace trimming.
//!
//! Values printed into a body are escaped as `html/template` escapes them in HTML text and quoted
//! attributes (`&`, `<`, `>`, `"`, `'`, `+`, NUL); the contextual URL, JS and CSS escapers are
//! not reproduced, so a value is HTML-escaped wherever it lands. Subjects are printed unescaped
//! (GoTrue escapes them too, a known bug: supabase/auth#1361).
//! Any other action (`{{ printf … }}`, pipelines, variables) is copied to the output as
//! written. What cannot be copied without breaking the structure (`range`, `with`, `define`,
//! `block`, an unsupported `if` condition, an unbalanced `end`, an unclosed `{{`) makes the
//! template invalid, as Go's parser would, and the mailer then uses its built-in body.

mod eval;

pub(crate) use eval::{Escape, Vars};

/// Nesting deeper than this is refused (the templates are fetched over the network).
const MAX_DEPTH: usize = 64;

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {0}")]
pub(crate) struct ParseError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Print(Operand),
    /// An action this subset does not evaluate, copied as written.
    Verbatim(String),
    If {
        branches: Vec<(Cond, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `.Name` (or `.Name.more`, which no mail has).
    Field(String),
    /// `.Data` followed by keys.
    Data(Vec<String>),
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Truthy(Operand),
    Not(Operand),
    Eq(Operand, Vec<Operand>),
    Ne(Operand, Operand),
    And(Vec<Operand>),
    Or(Vec<Operand>),
}

/// One lexed piece: text, or an action with its source and its trimmed inside.
enum Piece<'a> {
    Text(String),
    Action { source: &'a str, inner: &'a str },
}

/// Splits `src` into text and actions, applying `{{-` / `-}}` trimming and dropping comments.
fn lex(src: &str) -> Result<Vec<Piece<'_>>, ParseError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let trim_prev = after.starts_with("- ")
            || after.starts_with("-\t")
            || after.starts_with("-\n")
            || after.starts_with("-\r");
        if trim_prev {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        let Some(end) = action_end(after) else {
            return err("unclosed action");
        };
        let mut inner = &after[..end];
        if trim_prev {
            inner = &inner[1..];
        }
        trim_next = inner.ends_with(" -")
            || inner.ends_with("\t-")
            || inner.ends_with("\n-")
            || inner.ends_with("\r-");
        if trim_next {
            inner = &inner[..inner.len() - 1];
        }
        let inner = inner.trim();
        let source = &rest[start..start + 2 + end + 2];
        if let Some(comment) = inner.strip_prefix("/*") {
            if !comment.ends_with("*/") {
                return err("unclosed comment");
            }
        } else {
            pieces.push(Piece::Action { source, inner });
        }
        rest = &after[end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
    Ok(pieces)
}

/// The offset of the `}}` closing an action, skipping quoted strings and comments.
fn action_end(after: &str) -> Option<usize> {
    let body = after.trim_start_matches('-').trim_start();
    if body.starts_with("/*") {
        let offset = after.len() - body.len();
        let close = body.find("*/")?;
        return after[offset + close..]
            .find("}}")
            .map(|i| offset + close + i);
    }
    let bytes = after.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            q @ (b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if q == b'"' && bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Operand(Operand),
    /// Anything else (`(`, `|`, `$x`, `:=`, a bad field): an action this subset cannot evaluate.
    Other,
}

fn tokenize(inner: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = inner.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let mut s = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next().map(|(_, e)| e) {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some(e) => s.push(e),
                        None => break,
                    },
                    c => s.push(c),
                }
            }
            tokens.push(if closed {
                Token::Operand(Operand::Str(s))
            } else {
                Token::Other
            });
            continue;
        }
        if c == '`' {
            chars.next();
            let rest = &inner[start + 1..];
            match rest.find('`') {
                Some(end) => {
                    tokens.push(Token::Operand(Operand::Str(rest[..end].to_string())));
                    while chars.peek().is_some_and(|&(i, _)| i <= start + 1 + end) {
                        chars.next();
                    }
                }
                None => {
                    tokens.push(Token::Other);
                    break;
                }
            }
            continue;
        }
        let mut end = inner.len();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || c == '"' || c == '`' {
                end = i;
                break;
            }
            chars.next();
        }
        tokens.push(word(&inner[start..end]));
    }
    tokens
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn word(w: &str) -> Token {
    if let Some(path) = w.strip_prefix('.') {
        let keys: Vec<&str> = path.split('.').collect();
        if !keys.iter().all(|k| is_ident(k)) {
            return Token::Other;
        }
        return Token::Operand(match keys.split_first() {
            Some((&"Data", rest)) => Operand::Data(rest.iter().map(|k| k.to_string()).collect()),
            _ => Operand::Field(path.to_string()),
        });
    }
    match w {
        "true" => return Token::Operand(Operand::Bool(true)),
        "false" => return Token::Operand(Operand::Bool(false)),
        _ => {}
    }
    if w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return match w.parse::<f64>() {
            Ok(n) => Token::Operand(Operand::Num(n)),
            Err(_) => Token::Other,
        };
    }
    if is_ident(w) {
        Token::Word(w.to_string())
    } else {
        Token::Other
    }
}

fn operands(tokens: &[Token]) -> Option<Vec<Operand>> {
    tokens
        .iter()
        .map(|t| match t {
            Token::Operand(o) => Some(o.clone()),
            _ => None,
        })
        .collect()
}

fn condition(tokens: &[Token]) -> Option<Cond> {
    match tokens {
        [Token::Operand(o)] => Some(Cond::Truthy(o.clone())),
        [Token::Word(f), args @ ..] => {
            let args = operands(args)?;
            match (f.as_str(), args.as_slice()) {
                ("not", [o]) => Some(Cond::Not(o.clone())),
                ("eq", [a, rest @ ..]) if !rest.is_empty() => {
                    Some(Cond::Eq(a.clone(), rest.to_vec()))
                }
                ("ne", [a, b]) => Some(Cond::Ne(a.clone(), b.clone())),
                ("and", [_, ..]) => Some(Cond::And(args)),
                ("or", [_, ..]) => Some(Cond::Or(args)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// How a block of nodes ended.
enum Terminator {
    Eof,
    Else,
    ElseIf(Cond),
    End,
}

fn parse_block<'a, I>(pieces: &mut I, depth: usize) -> Result<(Vec<Node>, Terminator), ParseError>
where
    I: Iterator<Item = Piece<'a>>,
{
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.next() {
        let (source, inner) = match piece {
            Piece::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Piece::Action { source, inner } => (source, inner),
        };
        let tokens = tokenize(inner);
        match tokens.as_slice() {
            [] => return err("empty action"),
            [Token::Word(w), rest @ ..] if w == "if" => {
                if depth >= MAX_DEPTH {
                    return err("too deeply nested");
                }
                let mut cond = condition(rest)
                    .ok_or_else(|| ParseError(format!("unsupported condition in {source}")))?;
                let mut branches = Vec::new();
                let mut otherwise = Vec::new();
                loop {
                    let (body, end) = parse_block(pieces, depth + 1)?;
                    branches.push((cond, body));
                    match end {
                        Terminator::ElseIf(c) => cond = c,
                        Terminator::Else => {
                            let (body, end) = parse_block(pieces, depth + 1)?;
                            if !matches!(end, Terminator::End) {
                                return err("{{ if }} without {{ end }}");
                            }
                            otherwise = body;
                            break;
                        }
                        Terminator::End => break,
                        Terminator::Eof => return err("{{ if }} without {{ end }}"),
                    }
                }
                nodes.push(Node::If {
                    branches,
                    otherwise,
                });
            }
            [Token::Word(w)] if w == "else" => return Ok((nodes, Terminator::Else)),
            [Token::Word(w), Token::Word(i), rest @ ..] if w == "else" && i == "if" => {
                let cond = condition(rest)
                    .ok_or_else(|| ParseError(format!("unsupported condition in {source}")))?;
                return Ok((nodes, Terminator::ElseIf(cond)));
            }
            [Token::Word(w)] if w == "end" => return Ok((nodes, Terminator::End)),
            [Token::Word(w), ..]
                if matches!(
                    w.as_str(),
                    "else" | "end" | "range" | "with" | "define" | "block"
                ) =>
            {
                return err(format!("unsupported action {source}"));
            }
            [Token::Operand(o)] => nodes.push(Node::Print(o.clone())),
            _ => nodes.push(Node::Verbatim(source.to_string())),
        }
    }
    Ok((nodes, Terminator::Eof))
}

impl Template {
    /// Parses `src`.
    pub(crate) fn parse(src: &str) -> Result<Self, ParseError> {
        let mut pieces = lex(src)?.into_iter();
        let (nodes, end) = parse_block(&mut pieces, 0)?;
        match end {
            Terminator::Eof => Ok(Self { nodes }),
            Terminator::End => err("{{ end }} without {{ if }}"),
            Terminator::Else | Terminator::ElseIf(_) => err("{{ else }} without {{ if }}"),
        }
    }

    /// A template that is only `text`.
    pub(crate) fn text(text: &str) -> Self {
        Self {
            nodes: vec![Node::Text(text.to_string())],
        }
    }

    /// Renders the template with `vars`.
    pub(crate) fn render(&self, vars: &Vars<'_>, escape: Escape) -> String {
        let mut out = String::new();
        eval::render_nodes(&self.nodes, vars, escape, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn html(src: &str, data: serde_json::Value) -> String {
        Template::parse(src).expect("parses").render(
            &Vars {
                fields: &[("Token", "123456")],
                data: &data,
            },
            Escape::Html,
        )
    }

    #[test]
    fn comments_and_trimming() {
        assert_eq!(html("a {{/* note */}}b", json!({})), "a b");
        assert_eq!(html("a  {{- .Token -}}  b", json!({})), "a123456b");
        assert_eq!(
            html(
                "<p>\n  {{- if .Token }}\n  yes\n  {{- end }}\n</p>",
                json!({})
            ),
            "<p>\n  yes\n</p>"
        );
        assert_eq!(html("{{ \"}}\" }}", json!({})), "}}");
    }

    #[test]
    fn broken_structure_is_a_parse_error() {
        for src in [
            "{{ if .Token }}never closed",
            "stray {{ end }}",
            "{{ else }}",
            "{{ range .Data.items }}x{{ end }}",
            "{{ with .Data }}x{{ end }}",
            "{{ if (eq .Token \"1\") }}x{{ end }}",
            "unclosed {{ .Token",
            "{{ }}",
            "{{/* unclosed comment }}",
        ] {
            assert!(Template::parse(src).is_err(), "{src}");
        }
        let deep = "{{ if .Token }}".repeat(MAX_DEPTH + 1) + &"{{ end }}".repeat(MAX_DEPTH + 1);
        assert!(Template::parse(&deep).is_err());
    }
}
