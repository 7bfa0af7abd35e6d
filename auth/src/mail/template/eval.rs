//! Executing a parsed mail template as Go's `html/template` executes GoTrue's: fields and
//! `.Data` lookups (a missing key is nil, which `html/template` prints as nothing — its
//! `stringify` skips untyped nils, golang/go#25875), Go's truth for `if`, `eq`/`ne` that only
//! match values of one kind, and the HTML escaping of `html/template`'s `htmlEscaper`
//! (`htmlReplacementTable`: `&`, `<`, `>`, `"`, `'`, `+`, NUL) for every printed value of a body.

use std::borrow::Cow;

use serde_json::Value;

use super::{Cond, Node, Operand};

/// What a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vars<'a> {
    /// The mail's variables by name (`ConfirmationURL`, `Token`, …).
    pub fields: &'a [(&'a str, &'a str)],
    /// `.Data`: the user's `user_metadata`.
    pub data: &'a Value,
}

/// How printed values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// HTML-escaped, for bodies.
    Html,
    /// As they are, for subjects.
    None,
}

/// Appends the rendering of `nodes` to `out`.
pub(super) fn render_nodes(nodes: &[Node], vars: &Vars<'_>, escape: Escape, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Verbatim(source) => out.push_str(source),
            Node::Print(o) => {
                let text = text_of(&value(o, vars));
                match escape {
                    Escape::Html => escape_html(&text, out),
                    Escape::None => out.push_str(&text),
                }
            }
            Node::If {
                branches,
                otherwise,
            } => {
                let body = branches
                    .iter()
                    .find(|(cond, _)| holds(cond, vars))
                    .map_or(otherwise, |(_, body)| body);
                render_nodes(body, vars, escape, out);
            }
        }
    }
}

/// A value during evaluation.
enum Val<'a> {
    Str(&'a str),
    Json(&'a Value),
    Num(f64),
    Bool(bool),
    Nil,
}

fn value<'a>(o: &'a Operand, vars: &Vars<'a>) -> Val<'a> {
    match o {
        Operand::Field(name) => vars
            .fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or(Val::Nil, |(_, v)| Val::Str(v)),
        Operand::Data(keys) => {
            let mut v = vars.data;
            for k in keys {
                match v.get(k.as_str()) {
                    Some(next) => v = next,
                    None => return Val::Nil,
                }
            }
            Val::Json(v)
        }
        Operand::Str(s) => Val::Str(s),
        Operand::Num(n) => Val::Num(*n),
        Operand::Bool(b) => Val::Bool(*b),
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn text_of<'a>(v: &Val<'a>) -> Cow<'a, str> {
    match v {
        Val::Str(s) => Cow::Borrowed(s),
        Val::Json(Value::String(s)) => Cow::Borrowed(s),
        Val::Json(Value::Null) | Val::Nil => Cow::Borrowed(""),
        Val::Json(other) => Cow::Owned(other.to_string()),
        Val::Num(n) => Cow::Owned(number_text(*n)),
        Val::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
    }
}

fn truthy(v: &Val<'_>) -> bool {
    match v {
        Val::Str(s) => !s.is_empty(),
        Val::Num(n) => *n != 0.0,
        Val::Bool(b) => *b,
        Val::Nil => false,
        Val::Json(j) => match j {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        },
    }
}

/// A value reduced for `eq` / `ne`: values of different kinds are never equal.
#[derive(PartialEq)]
enum Comparable<'a> {
    Text(&'a str),
    Num(f64),
    Bool(bool),
    Nothing,
}

fn comparable<'a>(v: &Val<'a>) -> Option<Comparable<'a>> {
    match v {
        Val::Str(s) => Some(Comparable::Text(s)),
        Val::Json(Value::String(s)) => Some(Comparable::Text(s)),
        Val::Num(n) => Some(Comparable::Num(*n)),
        Val::Json(Value::Number(n)) => n.as_f64().map(Comparable::Num),
        Val::Bool(b) | Val::Json(Value::Bool(b)) => Some(Comparable::Bool(*b)),
        Val::Nil | Val::Json(Value::Null) => Some(Comparable::Nothing),
        Val::Json(_) => None,
    }
}

fn equal(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (comparable(a), comparable(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn holds(cond: &Cond, vars: &Vars<'_>) -> bool {
    match cond {
        Cond::Truthy(o) => truthy(&value(o, vars)),
        Cond::Not(o) => !truthy(&value(o, vars)),
        Cond::Eq(a, others) => {
            let a = value(a, vars);
            others.iter().any(|b| equal(&a, &value(b, vars)))
        }
        Cond::Ne(a, b) => !equal(&value(a, vars), &value(b, vars)),
        Cond::And(all) => all.iter().all(|o| truthy(&value(o, vars))),
        Cond::Or(any) => any.iter().any(|o| truthy(&value(o, vars))),
    }
}

/// Appends `text` HTML-escaped as Go's `html/template` escapes text and attribute values.
pub(super) fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '+' => out.push_str("&#43;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Template;
    use super::*;
    use serde_json::json;

    fn render(src: &str, data: Value, escape: Escape) -> String {
        let fields = [
            ("Token", "123456"),
            ("Email", "a+b@x.test"),
            ("ConfirmationURL", "http://h/verify?token=t&type=signup"),
            ("NewEmail", ""),
        ];
        Template::parse(src).expect("parses").render(
            &Vars {
                fields: &fields,
                data: &data,
            },
            escape,
        )
    }

    fn html(src: &str, data: Value) -> String {
        render(src, data, Escape::Html)
    }

    #[test]
    fn prints_fields_and_escapes_them_in_bodies() {
        assert_eq!(
            html(
                "<a href=\"{{ .ConfirmationURL }}\">{{.Token}}</a> {{ .Email }}",
                json!({})
            ),
            "<a href=\"http://h/verify?token=t&amp;type=signup\">123456</a> a&#43;b@x.test"
        );
        assert_eq!(
            render("{{ .Email }} & {{ .Token }}", json!({}), Escape::None),
            "a+b@x.test & 123456"
        );
    }

    #[test]
    fn metadata_cannot_inject_markup() {
        let data = json!({"name": "<script>alert('x')</script>", "q": "\"&"});
        assert_eq!(
            html(
                "<p>Hi {{ .Data.name }}</p><a title=\"{{ .Data.q }}\">",
                data
            ),
            "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p><a title=\"&#34;&amp;\">"
        );
    }

    #[test]
    fn data_values_print_as_text_or_json() {
        let data = json!({"s": "Ann", "n": 27, "f": 1.5, "b": true, "nul": null,
            "arr": [1, "x"], "obj": {"inner": "deep"}});
        assert_eq!(
            html(
                "{{ .Data.s }}|{{ .Data.n }}|{{ .Data.f }}|{{ .Data.b }}|{{ .Data.nul }}|{{ .Data.missing }}|{{ .Data.obj.inner }}|{{ .Data.s.x }}",
                data.clone()
            ),
            "Ann|27|1.5|true|||deep|"
        );
        assert_eq!(html("{{ .Data.arr }}", data), "[1,&#34;x&#34;]");
        assert_eq!(html("{{ .Data.x }}", Value::Null), "");
    }

    #[test]
    fn unknown_fields_are_empty_and_other_actions_are_copied() {
        assert_eq!(html("[{{ .OldEmail }}]", json!({})), "[]");
        assert_eq!(
            html(
                "{{ printf \"%s\" .Token }} {{ .Token | html }} {{ . }}",
                json!({})
            ),
            "{{ printf \"%s\" .Token }} {{ .Token | html }} {{ . }}"
        );
    }

    #[test]
    fn conditions() {
        let t = "{{ if .Data.name }}Hi {{ .Data.name }}{{ else }}Hi there{{ end }}";
        assert_eq!(html(t, json!({"name": "Ann"})), "Hi Ann");
        assert_eq!(html(t, json!({"name": ""})), "Hi there");
        assert_eq!(html(t, json!({})), "Hi there");
        let lang = "{{if eq .Data.language \"en\" }}Welcome{{ else if eq .Data.language `pl` }}Witamy{{ else }}?{{end}}";
        assert_eq!(html(lang, json!({"language": "en"})), "Welcome");
        assert_eq!(html(lang, json!({"language": "pl"})), "Witamy");
        assert_eq!(html(lang, json!({"language": 3})), "?");
        assert_eq!(html("{{ if .NewEmail }}x{{ end }}", json!({})), "");
        assert_eq!(html("{{ if not .NewEmail }}x{{ end }}", json!({})), "x");
        assert_eq!(html("{{ if ne .Token \"1\" }}x{{ end }}", json!({})), "x");
        assert_eq!(
            html("{{ if eq .Data.n 2 3 }}x{{ end }}", json!({"n": 3})),
            "x"
        );
        assert_eq!(
            html(
                "{{ if and .Token .Data.ok }}x{{ end }}",
                json!({"ok": false})
            ),
            ""
        );
        assert_eq!(
            html(
                "{{ if or .NewEmail .Data.ok }}x{{ end }}",
                json!({"ok": [1]})
            ),
            "x"
        );
        assert_eq!(
            html(
                "{{ if .Data.a }}{{ if .Data.b }}ab{{ else }}a{{ end }}{{ end }}",
                json!({"a": 1})
            ),
            "a"
        );
    }

    #[test]
    fn escapes_like_go() {
        let mut out = String::new();
        escape_html("<a href='x'>\"&+\0", &mut out);
        assert_eq!(out, "&lt;a href=&#39;x&#39;&gt;&#34;&amp;&#43;\u{FFFD}");
    }
}
