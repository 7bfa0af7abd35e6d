//! The lexical building blocks shared by every query parameter, ported from
//! `ApiRequest/QueryParams.hs`: `ws`/`lexeme`, `pQuotedValue`, `pIdentifier`, `sepByDash`,
//! `pFieldName`, `pJsonPath`, `pField`, `pTreePath`, `pDelimiter` and `aliasSeparator`.
//!
//! Names are double-quoted (any char, `\x` escapes x) or identifiers made of letters,
//! digits, `_`, `$` and spaces (trimmed), joined by `-` when the dash is not the start of
//! an arrow. JSON keys are any run of chars other than `(-:.,>)`, or quoted.

use crate::ast::{EmbedPath, Field, JsonKey, JsonOp};
use crate::parsec::{
    alt, attempt, label, look_ahead, many, many1, map, not_followed_by, option, sep_by1, Input,
    Reply, Seq,
};
use crate::show::show_char;

/// Label of `pFieldName`.
const FIELD_NAME: &str = "field name (* or [a..z0..9_$])";
/// Label of `pJsonKeyName`.
const JSON_KEY: &str = "any non reserved character different from: .,>()";

/// `T.strip` of the collected chars.
fn strip(cs: Vec<char>) -> String {
    let s: String = cs.into_iter().collect();
    s.trim().to_string()
}

impl Input<'_> {
    /// `ws = many (oneOf " \t")`.
    pub(crate) fn ws(&self, pos: usize) -> Reply<()> {
        map(many(pos, |p| self.one_of(p, " \t")), |_| ())
    }

    /// `lexeme p = ws *> p <* ws`.
    pub(crate) fn lexeme<T>(&self, pos: usize, p: impl FnOnce(usize) -> Reply<T>) -> Reply<T> {
        let mut s = Seq::new(pos);
        s.run(self.ws(s.pos()))?;
        let v = s.run(p(s.pos()))?;
        s.run(self.ws(s.pos()))?;
        s.done(v)
    }

    /// `pDelimiter = char '.' <?> "delimiter (.)"`.
    pub(crate) fn delimiter(&self, pos: usize) -> Reply<char> {
        label(self.char_(pos, '.'), "delimiter (.)")
    }

    /// `pQuotedValue`: `"…"` where a backslash escapes any char.
    pub(crate) fn quoted_value(&self, pos: usize) -> Reply<String> {
        let mut s = Seq::new(pos);
        s.run(self.char_(s.pos(), '"'))?;
        let cs = s.run(many(s.pos(), |p| {
            alt(self.none_of(p, "\\\""), || {
                let mut e = Seq::new(p);
                e.run(self.char_(e.pos(), '\\'))?;
                let c = e.run(self.any_char(e.pos()))?;
                e.done(c)
            })
        }))?;
        s.run(self.char_(s.pos(), '"'))?;
        s.done(cs.into_iter().collect())
    }

    /// `pIdentifier = T.strip <$> many1 (letter <|> digit <|> oneOf "_ $")`.
    pub(crate) fn identifier(&self, pos: usize) -> Reply<String> {
        map(
            many1(pos, |p| {
                alt(alt(self.letter(p), || self.digit(p)), || {
                    self.one_of(p, "_ $")
                })
            }),
            strip,
        )
    }

    /// `try (char '-' >> notFollowedBy (char '>'))`: a dash that does not start `->`.
    fn dash(&self, pos: usize) -> Reply<()> {
        attempt((|| {
            let mut s = Seq::new(pos);
            s.run(self.char_(s.pos(), '-'))?;
            let at = s.pos();
            s.run(not_followed_by(self, at, self.char_(at, '>'), |c| {
                show_char(*c)
            }))?;
            s.done(())
        })())
    }

    /// `sepByDash ident`: identifiers joined by dashes that are not arrows.
    fn sep_by_dash(&self, pos: usize, ident: impl FnMut(usize) -> Reply<String>) -> Reply<String> {
        map(sep_by1(pos, ident, |p| self.dash(p)), |parts| {
            parts.join("-")
        })
    }

    /// `pFieldName`: a quoted name or dash-separated identifiers.
    pub(crate) fn field_name(&self, pos: usize) -> Reply<String> {
        label(
            alt(self.quoted_value(pos), || {
                self.sep_by_dash(pos, |p| self.identifier(p))
            }),
            FIELD_NAME,
        )
    }

    /// `pJsonKeyName`.
    fn json_key_name(&self, pos: usize) -> Reply<String> {
        label(
            alt(self.quoted_value(pos), || {
                self.sep_by_dash(pos, |p| {
                    map(many1(p, |q| self.none_of(q, "(-:.,>)")), strip)
                })
            }),
            JSON_KEY,
        )
    }

    /// The `pEnd` of a JSON index: `->`, `::`, `.`, `,` or end of input must follow.
    fn json_index_end(&self, pos: usize) -> Reply<()> {
        let ahead = |s: &str| attempt(look_ahead(pos, self.string(pos, s)));
        alt(ahead("->"), || {
            alt(ahead("::"), || {
                alt(ahead("."), || alt(ahead(","), || attempt(self.eof(pos))))
            })
        })
    }

    /// `pJIdx`: `-?digits` followed by a path end. An index that does not fit an `i64`
    /// fails here, so (like any non-index) it is then read as an object key if it can be.
    fn json_index(&self, pos: usize) -> Reply<JsonKey> {
        let mut s = Seq::new(pos);
        let negative = s.run(option(
            s.pos(),
            false,
            map(self.char_(s.pos(), '-'), |_| true),
        ))?;
        let digits: String = s
            .run(many1(s.pos(), |p| self.digit(p)))?
            .into_iter()
            .collect();
        s.run(self.json_index_end(s.pos()))?;
        let text = if negative {
            format!("-{digits}")
        } else {
            digits
        };
        match text.parse::<i64>() {
            Ok(i) => s.done(JsonKey::Index(i)),
            // Reported where the digits end, so this message wins over the key alternative's.
            Err(_) => crate::parsec::fatal(s.pos(), "json array index out of range".to_string()),
        }
    }

    /// `pJsonOperation = pJsonArrow <*> (try pJIdx <|> try pJKey)`.
    fn json_operation(&self, pos: usize) -> Reply<JsonOp> {
        let mut s = Seq::new(pos);
        let at = s.pos();
        let double = s.run(alt(attempt(map(self.string(at, "->>"), |_| true)), || {
            attempt(map(self.string(at, "->"), |_| false))
        }))?;
        let at = s.pos();
        let key = s.run(alt(attempt(self.json_index(at)), || {
            attempt(map(self.json_key_name(at), JsonKey::Key))
        }))?;
        s.done(if double {
            JsonOp::DoubleArrow(key)
        } else {
            JsonOp::Arrow(key)
        })
    }

    /// `pJsonPath = many pJsonOperation`.
    pub(crate) fn json_path(&self, pos: usize) -> Reply<Vec<JsonOp>> {
        many(pos, |p| self.json_operation(p))
    }

    /// `pField = lexeme $ (,) <$> pFieldName <*> option [] pJsonPath`.
    pub(crate) fn field(&self, pos: usize) -> Reply<Field> {
        self.lexeme(pos, |p| {
            let mut s = Seq::new(p);
            let name = s.run(self.field_name(s.pos()))?;
            let json_path = s.run(option(s.pos(), Vec::new(), self.json_path(s.pos())))?;
            s.done(Field { name, json_path })
        })
    }

    /// `pTreePath`: `a.b.field->json` → (`["a","b"]`, field).
    pub(crate) fn tree_path(&self, pos: usize) -> Reply<(EmbedPath, Field)> {
        let mut s = Seq::new(pos);
        let mut names = s.run(sep_by1(
            s.pos(),
            |p| self.field_name(p),
            |p| self.delimiter(p),
        ))?;
        let json_path = s.run(option(s.pos(), Vec::new(), self.json_path(s.pos())))?;
        let name = names.pop().unwrap_or_default();
        s.done((names, Field { name, json_path }))
    }

    /// `aliasSeparator = char ':' >> notFollowedBy (char ':')`.
    pub(crate) fn alias_separator(&self, pos: usize) -> Reply<()> {
        let mut s = Seq::new(pos);
        s.run(self.char_(s.pos(), ':'))?;
        let at = s.pos();
        s.run(not_followed_by(self, at, self.char_(at, ':'), |c| {
            show_char(*c)
        }))?;
        s.done(())
    }

    /// `try (pFieldName <* aliasSeparator)`, the optional `alias:` prefix.
    pub(crate) fn alias_prefix(&self, pos: usize) -> Reply<String> {
        attempt((|| {
            let mut s = Seq::new(pos);
            let name = s.run(self.field_name(s.pos()))?;
            s.run(self.alias_separator(s.pos()))?;
            s.done(name)
        })())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn run<T>(s: &str, f: impl FnOnce(&Input, usize) -> Reply<T>) -> Option<(T, usize)> {
        let cs: Vec<char> = s.chars().collect();
        let inp = Input::new(&cs, true);
        f(&inp, 0).ok().map(|p| (p.val, p.pos))
    }

    #[test]
    fn field_names() {
        let cases: &[(&str, Option<(&str, usize)>)] = &[
            ("identifier", Some(("identifier", 10))),
            (
                "identifier with spaces",
                Some(("identifier with spaces", 22)),
            ),
            (
                "identifier-with-dashes",
                Some(("identifier-with-dashes", 22)),
            ),
            ("123", Some(("123", 3))),
            ("_", Some(("_", 1))),
            ("$", Some(("$", 1))),
            (":", None),
            ("\":\"", Some((":", 3))),
            (
                " no leading or trailing spaces ",
                Some(("no leading or trailing spaces", 31)),
            ),
            (
                "\" leading and trailing spaces \"",
                Some((" leading and trailing spaces ", 31)),
            ),
            ("\"a\\\"b\"", Some(("a\"b", 6))),
            ("\"a\\\\b\"", Some(("a\\b", 6))),
            ("\"a\\xb\"", Some(("axb", 6))),
            ("a->b", Some(("a", 1))),
            ("a-b->c", Some(("a-b", 3))),
            ("名前", Some(("名前", 2))),
            ("Ñandú", Some(("Ñandú", 5))),
            ("a.b", Some(("a", 1))),
            ("", None),
            ("\"unterminated", None),
            ("a-", None),
            ("-a", None),
        ];
        for (input, want) in cases {
            let got = run(input, |i, p| i.field_name(p));
            let got = got.as_ref().map(|(s, n)| (s.as_str(), *n));
            assert_eq!(got, *want, "field_name {input:?}");
        }
    }

    #[test]
    fn json_paths() {
        use JsonKey::{Index, Key};
        use JsonOp::{Arrow, DoubleArrow};
        let k = |s: &str| Key(s.to_string());
        let cases: Vec<(&str, Option<Vec<JsonOp>>)> = vec![
            ("->text", Some(vec![Arrow(k("text"))])),
            ("->!@#$%^&*_a", Some(vec![Arrow(k("!@#$%^&*_a"))])),
            ("->1", Some(vec![Arrow(Index(1))])),
            ("->>text", Some(vec![DoubleArrow(k("text"))])),
            ("->>1", Some(vec![DoubleArrow(Index(1))])),
            ("->-1", Some(vec![Arrow(Index(-1))])),
            ("->0,other", Some(vec![Arrow(Index(0))])),
            ("->0.desc", Some(vec![Arrow(Index(0))])),
            ("->0::int", Some(vec![Arrow(Index(0))])),
            ("->1a", Some(vec![Arrow(k("1a"))])),
            ("->a->>b", Some(vec![Arrow(k("a")), DoubleArrow(k("b"))])),
            ("->\"a.b\"", Some(vec![Arrow(k("a.b"))])),
            ("->a-b", Some(vec![Arrow(k("a-b"))])),
            ("-> a ", Some(vec![Arrow(k("a"))])),
            (
                "->99999999999999999999",
                Some(vec![Arrow(k("99999999999999999999"))]),
            ),
            ("", Some(vec![])),
            ("->", None),
            ("->>", None),
            ("->>-78xy", None),
            ("->>--34", None),
            ("->>-xy-4", None),
            ("->(", None),
            ("->-99999999999999999999", None),
        ];
        for (input, want) in cases {
            let got = run(input, |i, p| i.json_path(p)).map(|(v, _)| v);
            assert_eq!(got, want, "json_path {input:?}");
        }
    }

    #[test]
    fn tree_paths() {
        // (input, Some((embed path, field name, json path length)) or None for an error)
        type Case<'a> = (&'a str, Option<(Vec<&'a str>, &'a str, usize)>);
        let cases: Vec<Case> = vec![
            ("id", Some((vec![], "id", 0))),
            ("a.b", Some((vec!["a"], "b", 0))),
            ("a.b.c->d->>e", Some((vec!["a", "b"], "c", 2))),
            ("\"a.b\".c", Some((vec!["a.b"], "c", 0))),
            ("a.", None),
            ("", None),
            (".a", None),
        ];
        for (input, want) in cases {
            let got = run(input, |i, p| i.tree_path(p))
                .map(|((path, f), _)| (path, f.name, f.json_path.len()));
            let want = want.map(|(p, n, j)| {
                (
                    p.into_iter().map(String::from).collect::<Vec<_>>(),
                    n.to_string(),
                    j,
                )
            });
            assert_eq!(got, want, "tree_path {input:?}");
        }
    }

    #[test]
    fn aliases() {
        assert_eq!(
            run("a:b", |i, p| i.alias_prefix(p)).map(|x| x.0),
            Some("a".into())
        );
        assert_eq!(run("a::b", |i, p| i.alias_prefix(p)), None);
        assert_eq!(run("a", |i, p| i.alias_prefix(p)), None);
        let r = run(" \t x \t", |i, p| i.field(p)).unwrap();
        assert_eq!((r.0.name.as_str(), r.1), ("x", 6));
    }
}
