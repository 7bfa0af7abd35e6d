use crate::ast::*;
use crate::parse_filter;
use crate::testing::*;

fn op(value: &str) -> Operation {
    parse_filter("c", value)
        .unwrap_or_else(|e| panic!("c={value}: {e}"))
        .1
        .operation
}

fn quant(op: CompareOp, q: Quantifier, value: &str) -> Operation {
    Operation::Compare {
        op,
        quantifier: Some(q),
        value: value.to_string(),
    }
}

fn list(items: &[&str]) -> Operation {
    Operation::In(items.iter().map(|s| (*s).to_string()).collect())
}

fn fts(kind: FtsKind, config: Option<&str>, value: &str) -> Operation {
    Operation::Fts {
        kind,
        config: config.map(String::from),
        value: value.to_string(),
    }
}

fn range(op: RangeOp, value: &str) -> Operation {
    Operation::Range {
        op,
        value: value.to_string(),
    }
}

#[test]
fn comparison_operators() {
    use CompareOp::*;
    let cases: Vec<(&str, Operation)> = vec![
        ("eq.1", cmp(Eq, "1")),
        ("neq.1", cmp(Neq, "1")),
        ("gt.1", cmp(Gt, "1")),
        ("gte.1", cmp(Gte, "1")),
        ("lt.1", cmp(Lt, "1")),
        ("lte.1", cmp(Lte, "1")),
        ("like.*a*", cmp(Like, "%a%")),
        ("ilike.*A_b*", cmp(Ilike, "%A_b%")),
        ("like.a%b", cmp(Like, "a%b")),
        ("match.^a.*$", cmp(Match, "^a.*$")),
        ("imatch.^A*", cmp(Imatch, "^A*")),
        ("eq.", cmp(Eq, "")),
        ("eq.a.b.c", cmp(Eq, "a.b.c")),
        ("eq.a b", cmp(Eq, "a b")),
        ("eq.null", cmp(Eq, "null")),
        ("eq.(1,2)", cmp(Eq, "(1,2)")),
        ("eq.\"quoted\"", cmp(Eq, "\"quoted\"")),
        ("eq.unicodé ✓", cmp(Eq, "unicodé ✓")),
        ("eq.line\nbreak", cmp(Eq, "line\nbreak")),
        ("eq.not.x", cmp(Eq, "not.x")),
        (
            "gt.2024-01-01T00:00:00+00:00",
            cmp(Gt, "2024-01-01T00:00:00+00:00"),
        ),
        ("neq.*", cmp(Neq, "*")),
        ("eq.*", cmp(Eq, "*")),
    ];
    for (input, want) in cases {
        assert_eq!(op(input), want, "c={input:?}");
    }
}

#[test]
fn quantified_operators() {
    use CompareOp::*;
    use Quantifier::*;
    let cases: Vec<(&str, Operation)> = vec![
        ("eq(any).{1,2}", quant(Eq, Any, "{1,2}")),
        ("eq(all).{1,2}", quant(Eq, All, "{1,2}")),
        ("gt(any).{1}", quant(Gt, Any, "{1}")),
        ("gte(all).{1}", quant(Gte, All, "{1}")),
        ("lt(any).{1}", quant(Lt, Any, "{1}")),
        ("lte(all).{1}", quant(Lte, All, "{1}")),
        ("like(any).{O*,P*}", quant(Like, Any, "{O%,P%}")),
        ("like(all).{*a*,*b*}", quant(Like, All, "{%a%,%b%}")),
        ("ilike(any).{*x}", quant(Ilike, Any, "{%x}")),
        ("ilike(all).{*x}", quant(Ilike, All, "{%x}")),
        ("match(any).{^a,b*}", quant(Match, Any, "{^a,b*}")),
        ("imatch(all).{a}", quant(Imatch, All, "{a}")),
        ("eq(any).value", quant(Eq, Any, "value")),
        ("eq(any).", quant(Eq, Any, "")),
    ];
    for (input, want) in cases {
        assert_eq!(op(input), want, "c={input:?}");
    }
}

#[test]
fn in_is_distinct_fts_range() {
    use IsValue::*;
    use RangeOp::*;
    let cases: Vec<(&str, Operation)> = vec![
        ("in.(1,2,3)", list(&["1", "2", "3"])),
        ("in.(a,\"b,c\",\"x(y)\")", list(&["a", "b,c", "x(y)"])),
        ("in.()", list(&[])),
        ("in.(\"\")", list(&[])),
        ("in.(,)", list(&["", ""])),
        ("in.(a)", list(&["a"])),
        ("in.(\"a\\\"b\")", list(&["a\"b"])),
        ("in.(\"a\\\\b\")", list(&["a\\b"])),
        ("in.(\"a\"b)", list(&["\"a\"b"])),
        ("in.(a b,c)", list(&["a b", "c"])),
        ("in.( 1 , 2 )", list(&["1 ", " 2 "])),
        ("in. (1)", list(&["1"])),
        ("in.(1,2)trailing", list(&["1", "2"])),
        ("in.(é,ü)", list(&["é", "ü"])),
        ("in.(a.b,c:d)", list(&["a.b", "c:d"])),
        ("is.null", Operation::Is(Null)),
        ("is.NULL", Operation::Is(Null)),
        ("is.NuLl", Operation::Is(Null)),
        ("is.not_null", Operation::Is(NotNull)),
        ("is.NOT_NULL", Operation::Is(NotNull)),
        ("is.true", Operation::Is(True)),
        ("is.TRUE", Operation::Is(True)),
        ("is.false", Operation::Is(False)),
        ("is.False", Operation::Is(False)),
        ("is.unknown", Operation::Is(Unknown)),
        ("is.UNKNOWN", Operation::Is(Unknown)),
        ("is.nullx", Operation::Is(Null)),
        ("isdistinct.5", Operation::IsDistinct("5".into())),
        ("isdistinct.", Operation::IsDistinct(String::new())),
        ("isdistinct.a.b", Operation::IsDistinct("a.b".into())),
        ("fts.cat", fts(FtsKind::Fts, None, "cat")),
        (
            "fts(english).cat & dog",
            fts(FtsKind::Fts, Some("english"), "cat & dog"),
        ),
        ("plfts.cat dog", fts(FtsKind::Plain, None, "cat dog")),
        (
            "plfts(french).chat",
            fts(FtsKind::Plain, Some("french"), "chat"),
        ),
        (
            "phfts(english).the cat",
            fts(FtsKind::Phrase, Some("english"), "the cat"),
        ),
        (
            "wfts.\"cat dog\" -rat",
            fts(FtsKind::Websearch, None, "\"cat dog\" -rat"),
        ),
        (
            "wfts(english).cat or dog",
            fts(FtsKind::Websearch, Some("english"), "cat or dog"),
        ),
        ("fts( english ).x", fts(FtsKind::Fts, Some("english"), "x")),
        ("fts(any).x", fts(FtsKind::Fts, Some("any"), "x")),
        ("cs.{1,2}", range(Contains, "{1,2}")),
        ("cs.{\"a\":1}", range(Contains, "{\"a\":1}")),
        ("cs.[1,5)", range(Contains, "[1,5)")),
        ("cd.{1}", range(ContainedIn, "{1}")),
        ("ov.{1,2}", range(Overlap, "{1,2}")),
        (
            "ov.[2000-01-01,2000-01-02)",
            range(Overlap, "[2000-01-01,2000-01-02)"),
        ),
        ("sl.(1,10)", range(StrictlyLeft, "(1,10)")),
        ("sr.(1,10)", range(StrictlyRight, "(1,10)")),
        ("nxr.(1,10)", range(NotExtendRight, "(1,10)")),
        ("nxl.(1,10)", range(NotExtendLeft, "(1,10)")),
        ("adj.(1,10)", range(Adjacent, "(1,10)")),
        ("cs.", range(Contains, "")),
    ];
    for (input, want) in cases {
        assert_eq!(op(input), want, "c={input:?}");
    }
}

#[test]
fn negation_and_keys() {
    let cases: Vec<(&str, &str, EmbedPath, Filter)> = vec![
        (
            "id",
            "not.eq.1",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("id"), cmp(CompareOp::Eq, "1"))
            },
        ),
        (
            "id",
            "not.in.(1,2)",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("id"), list(&["1", "2"]))
            },
        ),
        (
            "x",
            "not.is.null",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("x"), Operation::Is(IsValue::Null))
            },
        ),
        (
            "x",
            "not.like(all).{a*}",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("x"), quant(CompareOp::Like, Quantifier::All, "{a%}"))
            },
        ),
        (
            "x",
            "not.cs.{1}",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("x"), range(RangeOp::Contains, "{1}"))
            },
        ),
        (
            "x",
            "not.fts.a",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("x"), fts(FtsKind::Fts, None, "a"))
            },
        ),
        (
            "x",
            "not.isdistinct.a",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("x"), Operation::IsDistinct("a".into()))
            },
        ),
        (
            "data->>a",
            "eq.1",
            vec![],
            filter(jfld("data", &[(true, "a")]), cmp(CompareOp::Eq, "1")),
        ),
        (
            "data->a->>b",
            "eq.1",
            vec![],
            filter(
                jfld("data", &[(false, "a"), (true, "b")]),
                cmp(CompareOp::Eq, "1"),
            ),
        ),
        (
            "data->0",
            "gt.2",
            vec![],
            filter(jfld("data", &[(false, "0")]), cmp(CompareOp::Gt, "2")),
        ),
        (
            "data->-1->b->>-1",
            "eq.5",
            vec![],
            filter(
                jfld("data", &[(false, "-1"), (false, "b"), (true, "-1")]),
                cmp(CompareOp::Eq, "5"),
            ),
        ),
        (
            "tags.name",
            "eq.x",
            path(&["tags"]),
            filter(fld("name"), cmp(CompareOp::Eq, "x")),
        ),
        (
            "roles.actors.first_name",
            "like.*Tom*",
            path(&["roles", "actors"]),
            filter(fld("first_name"), cmp(CompareOp::Like, "%Tom%")),
        ),
        (
            "rel.data->>k",
            "eq.v",
            path(&["rel"]),
            filter(jfld("data", &[(true, "k")]), cmp(CompareOp::Eq, "v")),
        ),
        (
            "\"a.b\".c",
            "eq.1",
            path(&["a.b"]),
            filter(fld("c"), cmp(CompareOp::Eq, "1")),
        ),
        (
            "\"a.b\"",
            "eq.1",
            vec![],
            filter(fld("a.b"), cmp(CompareOp::Eq, "1")),
        ),
        (
            "first name",
            "eq.1",
            vec![],
            filter(fld("first name"), cmp(CompareOp::Eq, "1")),
        ),
        (
            "first-name",
            "eq.1",
            vec![],
            filter(fld("first-name"), cmp(CompareOp::Eq, "1")),
        ),
        (
            "名前",
            "eq.太郎",
            vec![],
            filter(fld("名前"), cmp(CompareOp::Eq, "太郎")),
        ),
        (
            "tags",
            "not.is.null",
            vec![],
            Filter {
                negated: true,
                ..filter(fld("tags"), Operation::Is(IsValue::Null))
            },
        ),
        (
            "select",
            "eq.1",
            vec![],
            filter(fld("select"), cmp(CompareOp::Eq, "1")),
        ),
        (
            "a.select",
            "eq.1",
            path(&["a"]),
            filter(fld("select"), cmp(CompareOp::Eq, "1")),
        ),
        // Upstream stops the key at the first char that is not part of a name.
        (
            "id[x]",
            "eq.1",
            vec![],
            filter(fld("id"), cmp(CompareOp::Eq, "1")),
        ),
        (
            "data->a.b",
            "eq.1",
            vec![],
            filter(jfld("data", &[(false, "a")]), cmp(CompareOp::Eq, "1")),
        ),
    ];
    for (key, value, want_path, want) in cases {
        assert_eq!(
            parse_filter(key, value).unwrap(),
            (want_path, want),
            "{key}={value}"
        );
    }
}

#[test]
fn errors_match_upstream() {
    let msg =
        |s: &str, col: usize| format!("\"failed to parse filter ({s})\" (line 1, column {col})");
    let op_expected = "expecting operator (eq, gt, ...)";
    let not_or_op = "expecting \"not\" or operator (eq, gt, ...)";
    let cases: Vec<(&str, usize, String)> = vec![
        // From PostgREST's own doctests and spec.
        ("noop.0", 1, format!("unexpected \"o\" {not_or_op}")),
        ("val", 1, format!("unexpected \"v\" {not_or_op}")),
        ("0", 1, format!("unexpected \"0\" {not_or_op}")),
        ("fts().value", 5, format!("unexpected \")\" {op_expected}")),
        ("eq().value", 4, format!("unexpected \")\" {op_expected}")),
        ("is().value", 3, format!("unexpected \"(\" {op_expected}")),
        ("in().value", 3, format!("unexpected \"(\" {op_expected}")),
        // Further malformed input.
        ("", 1, format!("unexpected end of input {not_or_op}")),
        ("eq", 3, format!("unexpected end of input {op_expected}")),
        ("eq1", 3, format!("unexpected \"1\" {op_expected}")),
        ("eqx.1", 3, format!("unexpected \"x\" {op_expected}")),
        ("EQ.1", 1, format!("unexpected \"E\" {not_or_op}")),
        (
            "not",
            4,
            "unexpected end of input expecting delimiter (.)".into(),
        ),
        ("not.", 5, format!("unexpected end of input {op_expected}")),
        ("not.x", 5, format!("unexpected \"x\" {op_expected}")),
        ("not.not.eq.1", 5, format!("unexpected \"n\" {op_expected}")),
        ("neq(any).x", 4, format!("unexpected \"(\" {op_expected}")),
        ("cs(any).{1}", 3, format!("unexpected \"(\" {op_expected}")),
        ("adj(all).x", 4, format!("unexpected \"(\" {op_expected}")),
        ("like(some).x", 6, format!("unexpected \"s\" {op_expected}")),
        ("eq(any.x", 7, format!("unexpected \".\" {op_expected}")),
        ("eq(any)x", 8, format!("unexpected \"x\" {op_expected}")),
        ("is", 3, format!("unexpected end of input {op_expected}")),
        (
            "is.",
            4,
            "unexpected end of input expecting isVal: (null, not_null, true, false, unknown)"
                .into(),
        ),
        (
            "is.nul",
            7,
            "unexpected end of input expecting isVal: (null, not_null, true, false, unknown)"
                .into(),
        ),
        (
            "is.1",
            4,
            "unexpected \"1\" expecting isVal: (null, not_null, true, false, unknown)".into(),
        ),
        (
            "is.yes",
            4,
            "unexpected \"y\" expecting isVal: (null, not_null, true, false, unknown)".into(),
        ),
        ("in.1,2", 4, "unexpected \"1\" expecting \"(\"".into()),
        ("in.", 4, "unexpected end of input expecting \"(\"".into()),
        (
            "in.(1,2",
            8,
            "unexpected end of input expecting \",\" or \")\"".into(),
        ),
        (
            "in.(\"a",
            7,
            "unexpected end of input expecting \",\" or \")\"".into(),
        ),
        (
            "fts(english.x",
            12,
            format!("unexpected \".\" {op_expected}"),
        ),
        (
            "fts(english)x",
            13,
            format!("unexpected \"x\" {op_expected}"),
        ),
        (
            "isdistinct",
            11,
            format!("unexpected end of input {op_expected}"),
        ),
        ("in(any).(1)", 3, format!("unexpected \"(\" {op_expected}")),
        ("like", 5, format!("unexpected end of input {op_expected}")),
        ("é", 1, format!("unexpected \"\\233\" {not_or_op}")),
    ];
    for (input, column, details) in cases {
        assert_err(parse_filter("c", input), &msg(input, column), &details);
    }
}

#[test]
fn key_errors() {
    let msg =
        |s: &str, col: usize| format!("\"failed to parse tree path ({s})\" (line 1, column {col})");
    let name = "expecting field name (* or [a..z0..9_$])";
    let cases: Vec<(&str, usize, String)> = vec![
        ("", 1, format!("unexpected end of input {name}")),
        ("a.", 3, format!("unexpected end of input {name}")),
        (".a", 1, format!("unexpected \".\" {name}")),
        ("a..b", 3, format!("unexpected \".\" {name}")),
        ("a->", 4, "unexpected end of input expecting \"-\", digit or any non reserved character different from: .,>()".into()),
        ("\"a", 3, "unexpected end of input expecting \"\\\\\" or \"\\\"\"".into()),
    ];
    for (key, column, details) in cases {
        assert_err(parse_filter(key, "eq.1"), &msg(key, column), &details);
    }
}
