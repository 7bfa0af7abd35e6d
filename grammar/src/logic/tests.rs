use crate::ast::*;
use crate::testing::*;
use crate::{parse_logic, MAX_NESTING_DEPTH};

fn leaf(name: &str, operation: Operation) -> LogicTree {
    LogicTree::Leaf(filter(fld(name), operation))
}

fn negated(tree: LogicTree) -> LogicTree {
    match tree {
        LogicTree::Expr { op, children, .. } => LogicTree::Expr {
            negated: true,
            op,
            children,
        },
        LogicTree::Leaf(f) => LogicTree::Leaf(Filter { negated: true, ..f }),
    }
}

#[test]
fn trees() {
    use CompareOp::*;
    use LogicOp::{And, Or};
    let in_list = |xs: &[&str]| Operation::In(xs.iter().map(|s| (*s).to_string()).collect());
    let cases: Vec<(&str, &str, EmbedPath, LogicTree)> = vec![
        (
            "or",
            "(a.eq.1,b.gt.2)",
            vec![],
            expr(Or, vec![leaf_eq("a", "1"), leaf("b", cmp(Gt, "2"))]),
        ),
        (
            "and",
            "(a.eq.1)",
            vec![],
            expr(And, vec![leaf_eq("a", "1")]),
        ),
        (
            "not.or",
            "(a.eq.1,b.eq.2)",
            vec![],
            negated(expr(Or, vec![leaf_eq("a", "1"), leaf_eq("b", "2")])),
        ),
        (
            "not.and",
            "(a.eq.1)",
            vec![],
            negated(expr(And, vec![leaf_eq("a", "1")])),
        ),
        (
            "rel.or",
            "(a.eq.1)",
            path(&["rel"]),
            expr(Or, vec![leaf_eq("a", "1")]),
        ),
        (
            "a.b.not.and",
            "(x.eq.1)",
            path(&["a", "b"]),
            negated(expr(And, vec![leaf_eq("x", "1")])),
        ),
        (
            "not.rel.or",
            "(x.eq.1)",
            path(&["rel"]),
            negated(expr(Or, vec![leaf_eq("x", "1")])),
        ),
        (
            "\"my rel\".or",
            "(x.eq.1)",
            path(&["my rel"]),
            expr(Or, vec![leaf_eq("x", "1")]),
        ),
        (
            "or",
            "(a.eq.1,and(b.gt.2,c.is.null),not.or(d.eq.x,e.eq.y))",
            vec![],
            expr(
                Or,
                vec![
                    leaf_eq("a", "1"),
                    expr(
                        And,
                        vec![
                            leaf("b", cmp(Gt, "2")),
                            leaf("c", Operation::Is(IsValue::Null)),
                        ],
                    ),
                    negated(expr(Or, vec![leaf_eq("d", "x"), leaf_eq("e", "y")])),
                ],
            ),
        ),
        (
            "and",
            "( and ( id.in.( 1, 2, 3 ) , id.eq.3 ) , or ( id.eq.2 , id.eq.3 ) )",
            vec![],
            expr(
                And,
                vec![
                    expr(
                        And,
                        vec![
                            leaf("id", in_list(&["1", " 2", " 3 "])),
                            leaf_eq("id", "3 "),
                        ],
                    ),
                    expr(Or, vec![leaf_eq("id", "2 "), leaf_eq("id", "3 ")]),
                ],
            ),
        ),
        (
            "or",
            "(a.eq.\"x,y\",b.eq.\"a.b:c(d)\")",
            vec![],
            expr(Or, vec![leaf_eq("a", "x,y"), leaf_eq("b", "a.b:c(d)")]),
        ),
        (
            "or",
            "(a.eq.\"say \\\"hi\\\"\")",
            vec![],
            expr(Or, vec![leaf_eq("a", "say \"hi\"")]),
        ),
        (
            "or",
            "(a.eq.\"q\"x)",
            vec![],
            expr(Or, vec![leaf_eq("a", "\"q\"x")]),
        ),
        (
            "or",
            "(a.eq.a.b.c)",
            vec![],
            expr(Or, vec![leaf_eq("a", "a.b.c")]),
        ),
        (
            "or",
            "(a.eq.,b.eq.)",
            vec![],
            expr(Or, vec![leaf_eq("a", ""), leaf_eq("b", "")]),
        ),
        (
            "or",
            "(tags.cs.{a,b},tags.ov.{c})",
            vec![],
            expr(
                Or,
                vec![
                    leaf(
                        "tags",
                        Operation::Range {
                            op: RangeOp::Contains,
                            value: "{a,b}".into(),
                        },
                    ),
                    leaf(
                        "tags",
                        Operation::Range {
                            op: RangeOp::Overlap,
                            value: "{c}".into(),
                        },
                    ),
                ],
            ),
        ),
        (
            "or",
            "(n.like(any).{a*,b*},n.eq(all).{1,2})",
            vec![],
            expr(
                Or,
                vec![
                    leaf(
                        "n",
                        Operation::Compare {
                            op: Like,
                            quantifier: Some(Quantifier::Any),
                            value: "{a%,b%}".into(),
                        },
                    ),
                    leaf(
                        "n",
                        Operation::Compare {
                            op: Eq,
                            quantifier: Some(Quantifier::All),
                            value: "{1,2}".into(),
                        },
                    ),
                ],
            ),
        ),
        (
            "or",
            "(id.in.(1,2),id.eq.3)",
            vec![],
            expr(
                Or,
                vec![leaf("id", in_list(&["1", "2"])), leaf_eq("id", "3")],
            ),
        ),
        (
            "or",
            "(id.in.(\"a,b\",c))",
            vec![],
            expr(Or, vec![leaf("id", in_list(&["a,b", "c"]))]),
        ),
        (
            "or",
            "(data->>a.eq.1,data->0.gt.2)",
            vec![],
            expr(
                Or,
                vec![
                    LogicTree::Leaf(filter(jfld("data", &[(true, "a")]), cmp(Eq, "1"))),
                    LogicTree::Leaf(filter(jfld("data", &[(false, "0")]), cmp(Gt, "2"))),
                ],
            ),
        ),
        (
            "or",
            "(rel.is.null,rel.not.is.null)",
            vec![],
            expr(
                Or,
                vec![
                    leaf("rel", Operation::Is(IsValue::Null)),
                    negated(leaf("rel", Operation::Is(IsValue::Null))),
                ],
            ),
        ),
        (
            "or",
            "(a.not.eq.1)",
            vec![],
            expr(Or, vec![negated(leaf_eq("a", "1"))]),
        ),
        (
            "or",
            "(a.fts(english).cat,b.wfts.dog,c.isdistinct.1)",
            vec![],
            expr(
                Or,
                vec![
                    leaf(
                        "a",
                        Operation::Fts {
                            kind: FtsKind::Fts,
                            config: some("english"),
                            value: "cat".into(),
                        },
                    ),
                    leaf(
                        "b",
                        Operation::Fts {
                            kind: FtsKind::Websearch,
                            config: None,
                            value: "dog".into(),
                        },
                    ),
                    leaf("c", Operation::IsDistinct("1".into())),
                ],
            ),
        ),
        (
            "or",
            "(\"a b\".eq.1)",
            vec![],
            expr(Or, vec![leaf_eq("a b", "1")]),
        ),
        (
            "or",
            "(名前.eq.é)",
            vec![],
            expr(Or, vec![leaf_eq("名前", "é")]),
        ),
        (
            "or",
            "(not.eq.1)",
            vec![],
            expr(Or, vec![leaf_eq("not", "1")]),
        ),
        // Upstream quirks: text after the tree is ignored, and the operator is glued to the
        // value, so `or=.eq.1` / `or=a.eq.1` are leaves on columns `or` / `ora`.
        (
            "or",
            "(a.eq.1)xyz",
            vec![],
            expr(Or, vec![leaf_eq("a", "1")]),
        ),
        (
            "or",
            "(a.eq.1))(",
            vec![],
            expr(Or, vec![leaf_eq("a", "1")]),
        ),
        ("or", ".eq.1", vec![], leaf_eq("or", "1")),
        ("or", "a.eq.1", vec![], leaf_eq("ora", "1")),
    ];
    for (key, value, want_path, want) in cases {
        assert_eq!(
            parse_logic(key, value).unwrap(),
            (want_path, want),
            "{key}={value}"
        );
    }
}

#[test]
fn errors_match_upstream() {
    let msg = |s: &str, col: usize| {
        format!("\"failed to parse logic tree ({s})\" (line 1, column {col})")
    };
    let start = "expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)";
    let cases: Vec<(&str, &str, usize, String)> = vec![
        // From PostgREST's own doctests and spec.
        ("or", "()", 4, format!("unexpected \")\" {start}")),
        (
            "or",
            "(id.in.1,2,id.eq.3)",
            10,
            "unexpected \"1\" expecting \"(\"".into(),
        ),
        ("or", ")(", 3, "unexpected \")\" expecting \"(\"".into()),
        (
            "and",
            "(ord(id.eq.1,id.eq.1),id.eq.2)",
            7,
            "unexpected \"d\" expecting \"(\"".into(),
        ),
        (
            "or",
            "(id.eq.1,not.xor(id.eq.2,id.eq.3))",
            16,
            "unexpected \"x\" expecting logic operator (and, or)".into(),
        ),
        // Further malformed input.
        (
            "or",
            "",
            3,
            "unexpected end of input expecting \"(\"".into(),
        ),
        (
            "or",
            "(a.eq.1",
            10,
            "unexpected end of input expecting \",\" or \")\"".into(),
        ),
        ("or", "(a.eq.1,)", 11, format!("unexpected \")\" {start}")),
        ("or", "(,a.eq.1)", 4, format!("unexpected \",\" {start}")),
        (
            "or",
            "(a)",
            5,
            "unexpected \")\" expecting letter, digit, \"-\", \"->>\", \"->\" or delimiter (.)"
                .into(),
        ),
        (
            "or",
            "(a.eq)",
            8,
            "unexpected \")\" expecting operator (eq, gt, ...)".into(),
        ),
        (
            "or",
            "(a.xx.1)",
            6,
            "unexpected \"x\" expecting \"not\" or operator (eq, gt, ...)".into(),
        ),
        (
            "or",
            "(a.eq.{1,2}x)",
            14,
            "unexpected \"x\" expecting \",\" or \")\"".into(),
        ),
        (
            "or",
            "(a.in.(1,2)",
            14,
            "unexpected end of input expecting \",\" or \")\"".into(),
        ),
        (
            "xor",
            "(a.eq.1)",
            4,
            "unexpected \"(\" expecting letter, digit, \"-\", \"->>\", \"->\" or delimiter (.)"
                .into(),
        ),
        (
            "or",
            "(a.eq.1,nor(b.eq.2))",
            14,
            "unexpected \"(\" expecting letter, digit, \"-\", \"->>\", \"->\" or delimiter (.)"
                .into(),
        ),
    ];
    for (key, value, column, details) in cases {
        assert_err(parse_logic(key, value), &msg(value, column), &details);
    }
    assert_err(
        parse_logic("", "(a.eq.1)"),
        "\"failed to parse logic path ()\" (line 1, column 1)",
        "unexpected end of input expecting field name (* or [a..z0..9_$])",
    );
    assert_err(
        parse_logic("rel..or", "(a.eq.1)"),
        "\"failed to parse logic path (rel..or)\" (line 1, column 5)",
        "unexpected \".\" expecting field name (* or [a..z0..9_$])",
    );
}

#[test]
fn nesting_depth_is_capped() {
    let nested = |levels: usize| -> String {
        let mut s = String::from("a.eq.1");
        for _ in 1..levels {
            s = format!("or({s})");
        }
        format!("({s})")
    };
    let (_, tree) = parse_logic("or", &nested(MAX_NESTING_DEPTH)).unwrap();
    let mut depth = 0;
    let mut cur = &tree;
    while let LogicTree::Expr { children, .. } = cur {
        depth += 1;
        cur = &children[0];
    }
    assert_eq!(depth, MAX_NESTING_DEPTH);
    let err = parse_logic("or", &nested(MAX_NESTING_DEPTH + 1)).unwrap_err();
    assert!(
        err.details
            .as_deref()
            .unwrap_or("")
            .contains("nested deeper than 64"),
        "{err:?}"
    );
    assert!(parse_logic("or", &"(or".repeat(100_000)).is_err());
    assert!(parse_logic("or", &"(not.and".repeat(100_000)).is_err());
}
