#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::read_integer;
use crate::ast::*;
use crate::testing::*;
use crate::{parse_columns, parse_on_conflict, parse_query_string, MAX_INPUT_LEN};

fn qs(raw: &str) -> QueryParams {
    parse_query_string(raw, false).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn rpc(raw: &str) -> QueryParams {
    parse_query_string(raw, true).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

#[test]
fn captured_supabase_js_request() {
    let q = qs("select=id,name,owner:users!todos_owner_fkey(id,\"full name\"),tags!inner(*),...profile(bio)\
        &done=eq.false&status=in.(a,\"b,c\",\"x(y)\")&x=is.null&y=not.is.null&tags.or=(a.eq.1,b.gt.2)\
        &order=created_at.desc.nullslast,id.asc&tags.order=name.asc&tags.limit=5&offset=10&limit=10");
    assert_eq!(q.select.as_ref().map(Vec::len), Some(5));
    let filters: Vec<(&EmbedPath, &str, &Operation, bool)> = q
        .filters
        .iter()
        .map(|(p, f)| (p, f.field.name.as_str(), &f.operation, f.negated))
        .collect();
    assert_eq!(
        filters,
        vec![
            (&vec![], "done", &cmp(CompareOp::Eq, "false"), false),
            (
                &vec![],
                "status",
                &Operation::In(vec!["a".into(), "b,c".into(), "x(y)".into()]),
                false
            ),
            (&vec![], "x", &Operation::Is(IsValue::Null), false),
            (&vec![], "y", &Operation::Is(IsValue::Null), true),
        ]
    );
    assert_eq!(
        q.logic,
        vec![(
            path(&["tags"]),
            expr(
                LogicOp::Or,
                vec![
                    leaf_eq("a", "1"),
                    LogicTree::Leaf(filter(fld("b"), cmp(CompareOp::Gt, "2")))
                ]
            )
        )]
    );
    assert_eq!(q.order.len(), 2);
    assert_eq!(q.order[0].0, Vec::<String>::new());
    assert_eq!(q.order[0].1.len(), 2);
    assert_eq!(q.order[1].0, path(&["tags"]));
    assert_eq!(q.limit, vec![(path(&["tags"]), 5), (vec![], 10)]);
    assert_eq!(q.offset, vec![(vec![], 10)]);
    assert!(q.rpc_args.is_empty());
    assert_eq!(q.columns, None);
    assert_eq!(q.on_conflict, None);
}

#[test]
fn form_encoded_request() {
    let q =
        qs("?select=id%2Cowner%3Ausers%21todos_owner_fkey%28id%2C%22full+name%22%29&title=neq.a+b");
    assert_eq!(
        q.select,
        Some(vec![
            col("id"),
            SelectItem::Embed {
                relation: "users".into(),
                alias: some("owner"),
                hint: some("todos_owner_fkey"),
                join: None,
                spread: false,
                select: vec![col("id"), col("full name")],
            },
        ])
    );
    assert_eq!(
        q.filters,
        vec![(vec![], filter(fld("title"), cmp(CompareOp::Neq, "a b")))]
    );
    let q = qs("a=eq.1%2B1&b=like.%2Ax%2A&%E5%90%8D=eq.%E5%A4%AA");
    assert_eq!(
        q.filters,
        vec![
            (vec![], filter(fld("a"), cmp(CompareOp::Eq, "1+1"))),
            (vec![], filter(fld("b"), cmp(CompareOp::Like, "%x%"))),
            (vec![], filter(fld("名"), cmp(CompareOp::Eq, "太"))),
        ]
    );
    // `;` separates pairs too, as in http-types.
    assert_eq!(qs("a=eq.1;b=eq.2").filters.len(), 2);
}

#[test]
fn reserved_parameters() {
    assert_eq!(qs("").select, None);
    assert_eq!(qs("select").select, None);
    assert_eq!(qs("select=").select, Some(vec![]));
    assert_eq!(qs("select=a&select=b").select, Some(vec![col("a")]));
    // The first occurrence decides, even without `=`.
    assert_eq!(qs("select&select=b").select, None);
    assert_eq!(
        qs("columns=%22a%22,%22b%22,c").columns,
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(
        qs("columns=a,b,a").columns,
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        qs("columns=+a+,+b").columns,
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(qs("on_conflict=id").on_conflict, Some(vec!["id".into()]));
    assert_eq!(
        qs("on_conflict=a,b,a").on_conflict,
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    assert_eq!(
        parse_columns("\"a,b\", c").unwrap(),
        vec!["a,b".to_string(), "c".into()]
    );
    assert_eq!(parse_on_conflict("x").unwrap(), vec!["x".to_string()]);
    // Reserved only at the root: elsewhere they are filters.
    assert_eq!(
        qs("a.select=eq.1").filters,
        vec![(path(&["a"]), filter(fld("select"), cmp(CompareOp::Eq, "1")))]
    );
    assert_eq!(qs("a.columns=eq.1").filters.len(), 1);
    assert_err(
        parse_query_string("columns=", false),
        "\"failed to parse columns parameter ()\" (line 1, column 1)",
        "unexpected end of input expecting field name (* or [a..z0..9_$])",
    );
    assert_err(
        parse_query_string("on_conflict=", false),
        "\"failed to parse on_conflict parameter ()\" (line 1, column 1)",
        "unexpected end of input expecting field name (* or [a..z0..9_$])",
    );
    assert_err(
        parse_query_string("columns=a,", false),
        "\"failed to parse columns parameter (a,)\" (line 1, column 3)",
        "unexpected end of input expecting field name (* or [a..z0..9_$])",
    );
}

#[test]
fn filters_and_ignored_pairs() {
    let q = qs("a=gt.1&a=lt.5&id&&b=eq.x&");
    assert_eq!(
        q.filters,
        vec![
            (vec![], filter(fld("a"), cmp(CompareOp::Gt, "1"))),
            (vec![], filter(fld("a"), cmp(CompareOp::Lt, "5"))),
            (vec![], filter(fld("b"), cmp(CompareOp::Eq, "x"))),
        ]
    );
    let q = qs("tags.name=eq.x&roles.actors.first_name=like.*Tom*&data->>a=eq.1");
    assert_eq!(q.filters[0].0, path(&["tags"]));
    assert_eq!(q.filters[1].0, path(&["roles", "actors"]));
    assert_eq!(q.filters[1].1.operation, cmp(CompareOp::Like, "%Tom%"));
    assert_eq!(q.filters[2].1.field, jfld("data", &[(true, "a")]));
    // Unknown params are filters, so a cache buster is an error, as upstream.
    assert_err(
        parse_query_string("_=123", false),
        "\"failed to parse filter (123)\" (line 1, column 1)",
        "unexpected \"1\" expecting \"not\" or operator (eq, gt, ...)",
    );
    assert_err(
        parse_query_string("=eq.1", false),
        "\"failed to parse tree path ()\" (line 1, column 1)",
        "unexpected end of input expecting field name (* or [a..z0..9_$])",
    );
    assert_err(
        parse_query_string("id=", false),
        "\"failed to parse filter ()\" (line 1, column 1)",
        "unexpected end of input expecting \"not\" or operator (eq, gt, ...)",
    );
}

#[test]
fn logic_and_order_params() {
    let q =
        qs("or=(a.eq.1,b.eq.2)&not.and=(c.eq.3)&rel.or=(d.eq.4)&x.not.or=(e.eq.5)&and=(f.eq.6)");
    let shapes: Vec<(EmbedPath, bool, LogicOp)> = q
        .logic
        .iter()
        .map(|(p, t)| match t {
            LogicTree::Expr { negated, op, .. } => (p.clone(), *negated, *op),
            LogicTree::Leaf(_) => panic!("leaf"),
        })
        .collect();
    assert_eq!(
        shapes,
        vec![
            (vec![], false, LogicOp::Or),
            (vec![], true, LogicOp::And),
            (path(&["rel"]), false, LogicOp::Or),
            (path(&["x"]), true, LogicOp::Or),
            (vec![], false, LogicOp::And),
        ]
    );
    assert!(q.filters.is_empty());
    let q = qs("order=a.desc&roles.actors.order=name&order=b");
    assert_eq!(
        q.order
            .iter()
            .map(|(p, t)| (p.clone(), t.len()))
            .collect::<Vec<_>>(),
        vec![(vec![], 1), (path(&["roles", "actors"]), 1), (vec![], 1)]
    );
    assert_err(
        parse_query_string(".order=a", false),
        "\"failed to parse tree path (.order)\" (line 1, column 1)",
        "unexpected \".\" expecting field name (* or [a..z0..9_$])",
    );
    assert_err(
        parse_query_string("order=", false),
        "\"failed to parse order ()\" (line 1, column 1)",
        "unexpected end of input expecting field name (* or [a..z0..9_$])",
    );
}

#[test]
fn limits_and_offsets() {
    type PerPath = Vec<(EmbedPath, i64)>;
    let cases: Vec<(&str, PerPath, PerPath)> = vec![
        ("limit=10", vec![(vec![], 10)], vec![]),
        ("limit=0", vec![(vec![], 0)], vec![]),
        ("offset=5", vec![], vec![(vec![], 5)]),
        ("offset=-4", vec![], vec![(vec![], 0)]),
        ("limit=5&limit=7", vec![(vec![], 7)], vec![]),
        ("limit=-1&limit=5", vec![(vec![], 5)], vec![]),
        ("limit=abc", vec![], vec![]),
        ("limit=", vec![], vec![]),
        ("limit=1.5", vec![], vec![]),
        ("limit=%2B5", vec![], vec![]),
        ("limit=+5", vec![(vec![], 5)], vec![]),
        ("limit=5&limit=x", vec![], vec![]),
        ("limit=+5+", vec![(vec![], 5)], vec![]),
        ("limit=007", vec![(vec![], 7)], vec![]),
        ("limit=-0", vec![(vec![], 0)], vec![]),
        (
            "limit=99999999999999999999",
            vec![(vec![], i64::MAX)],
            vec![],
        ),
        (
            "rel.limit=3&rel.offset=2",
            vec![(path(&["rel"]), 3)],
            vec![(path(&["rel"]), 2)],
        ),
        ("a.b.limit=1", vec![(path(&["a", "b"]), 1)], vec![]),
        ("%22a%22.limit=1&a.limit=2", vec![(path(&["a"]), 2)], vec![]),
        ("limit", vec![], vec![]),
    ];
    for (raw, limit, offset) in cases {
        let q = qs(raw);
        assert_eq!((q.limit, q.offset), (limit, offset), "{raw}");
    }
    for raw in [
        "limit=-1",
        "limit=-5&offset=2",
        "rel.limit=-1",
        "limit=+-1",
        "limit=1&limit=-99999999999999999999",
    ] {
        let e = parse_query_string(raw, false).unwrap_err();
        assert!(e.is_range_error(), "{raw}: {e:?}");
        assert_eq!(e.message, "Requested range not satisfiable");
        assert_eq!(
            e.details.as_deref(),
            Some("Limit should be greater than or equal to zero.")
        );
    }
    assert_err(
        parse_query_string("..offset=1", false),
        "\"failed to parse tree path (..limit)\" (line 1, column 1)",
        "unexpected \".\" expecting field name (* or [a..z0..9_$])",
    );
    assert_eq!(read_integer(" 12 "), Some(12));
    assert_eq!(read_integer("- 3"), Some(-3));
    assert_eq!(read_integer("--3"), None);
    assert_eq!(read_integer("-99999999999999999999"), Some(i64::MIN));
}

#[test]
fn rpc_arguments() {
    let q = rpc("a=1&b=%7B1,2%7D&x=eq.1&a=2&c=&d=eq&rel.e=5&f->g=h");
    assert_eq!(
        q.rpc_args,
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".into(), "{1,2}".into()),
            ("a".into(), "2".into()),
            ("c".into(), String::new()),
            ("d".into(), "eq".into()),
            ("e".into(), "5".into()),
            ("f".into(), "h".into()),
        ]
    );
    assert_eq!(
        q.filters,
        vec![(vec![], filter(fld("x"), cmp(CompareOp::Eq, "1")))]
    );
    let q = rpc("select=a&order=a&limit=1&or=(a.eq.1)&name=John+Doe");
    assert_eq!(
        q.rpc_args,
        vec![("name".to_string(), "John Doe".to_string())]
    );
    assert_eq!((q.order.len(), q.limit.len(), q.logic.len()), (1, 1, 1));
    // A value that fails after consuming part of an operator is still an error.
    for raw in [
        "a=not.x", "a=in.x", "a=is.x", "a=in.", "a=is.nul", "a=not.eq",
    ] {
        assert!(parse_query_string(raw, true).is_err(), "{raw}");
    }
    // …while one that fails on its first attempted token is an argument.
    let q = rpc("a=not&b=isdistinct&c=eqx&d=in(1)&e=(1,2)&f=[1,2]");
    let names: Vec<&str> = q.rpc_args.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, vec!["a", "b", "c", "d", "e", "f"]);
    // Without rpc_get the same params are filter errors.
    assert!(parse_query_string("a=1", false).is_err());
    assert!(qs("a=eq.1").rpc_args.is_empty());
}

#[test]
fn error_order_follows_upstream() {
    let first_message = |raw: &str| parse_query_string(raw, false).unwrap_err().message;
    assert!(first_message("select=a(&order=a..b").contains("failed to parse order"));
    assert!(first_message("order=a&or=(&select=a(").contains("failed to parse logic tree"));
    assert!(first_message("select=a(&columns=").contains("failed to parse columns"));
    assert!(first_message("id=bad&select=a(").contains("failed to parse select"));
    assert!(first_message("on_conflict=&id=bad").contains("failed to parse filter"));
    assert!(first_message("limit=-1&on_conflict=").contains("failed to parse on_conflict"));
    assert!(first_message("limit=-1&..limit=1").contains("Requested range"));
}

#[test]
fn many_params_stay_linear() {
    // Tens of thousands of repeated keys must not go quadratic.
    let n = 20_000;
    let limits: Vec<String> = (0..n).map(|i| format!("r{i}.limit={i}")).collect();
    let q = qs(&limits.join("&"));
    assert_eq!(q.limit.len(), n);
    let cols: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let q = qs(&format!("columns={}", cols.join(",")));
    assert_eq!(q.columns.map(|c| c.len()), Some(n));
}

#[test]
fn input_size_is_capped() {
    let big = format!("select={}", "a".repeat(MAX_INPUT_LEN));
    let e = parse_query_string(&big, false).unwrap_err();
    assert_eq!(e.message, "failed to parse query string");
    let e = crate::parse_select(&"a".repeat(MAX_INPUT_LEN + 1)).unwrap_err();
    assert_eq!(e.message, "failed to parse select parameter");
    // Just under the cap still parses.
    let ok = format!("select={}", "a".repeat(MAX_INPUT_LEN - 16));
    assert_eq!(
        parse_query_string(&ok, false)
            .unwrap()
            .select
            .map(|s| s.len()),
        Some(1)
    );
}

mod properties {
    use super::*;
    use crate::{parse_filter, parse_logic, parse_order, parse_select};
    use proptest::prelude::*;

    /// Strings over the characters the grammar gives a meaning to.
    fn grammar_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                8 => proptest::sample::select(vec![
                    'a', 'b', 'z', '0', '1', '9', '_', '$', ' ', '\t', ',', '.', ':', '(', ')',
                    '!', '*', '"', '\\', '-', '>', '{', '}', '[', ']', '%', '+', '&', '=', ';', 'é', '名',
                ]),
                1 => any::<char>(),
            ],
            0..64,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    /// Words likely to hit operators and keywords.
    fn grammar_tokens() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                grammar_text(),
                proptest::sample::select(vec![
                    "eq",
                    "neq",
                    "in",
                    "is",
                    "not",
                    "or",
                    "and",
                    "like",
                    "(any)",
                    "(all)",
                    "fts",
                    "count()",
                    "sum()",
                    "...",
                    "->",
                    "->>",
                    "::",
                    "!inner",
                    "asc",
                    "desc",
                    "nullsfirst",
                    "null",
                    "(",
                    ")",
                    ",",
                    ".",
                    "\"",
                ])
                .prop_map(String::from),
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn query_string_never_panics(raw in ".{0,200}", rpc_get in any::<bool>()) {
            let _ = parse_query_string(&raw, rpc_get);
        }

        #[test]
        fn grammar_parsers_never_panic(a in grammar_tokens(), b in grammar_tokens()) {
            let _ = parse_select(&a);
            let _ = parse_filter(&a, &b);
            let _ = parse_logic(&a, &b);
            let _ = parse_logic("or", &format!("({b})"));
            let _ = parse_order(&a);
            let _ = parse_columns(&a);
            let _ = parse_query_string(&format!("{a}={b}"), false);
            let _ = parse_query_string(&format!("{a}={b}"), true);
        }

        #[test]
        fn errors_point_inside_the_input(s in grammar_tokens()) {
            // An error on one line without tabs (parsec counts a tab up to the next multiple of
            // 8) names line 1 and a column in 1..=len+1.
            let s: String = s.chars().filter(|c| *c != '\n' && *c != '\t').collect();
            if let Err(e) = parse_select(&s) {
                let tail = e.message.rsplit(" (line ").next().unwrap_or_default();
                let column: usize = tail
                    .trim_start_matches("1, column ")
                    .trim_end_matches(')')
                    .parse()
                    .unwrap();
                prop_assert!(tail.starts_with("1, column "), "{}", e.message);
                prop_assert!((1..=s.chars().count() + 1).contains(&column), "{}", e.message);
                prop_assert!(e.details.is_some());
            }
        }

        #[test]
        fn plain_columns_round_trip(names in proptest::collection::vec("[a-z_][a-z0-9_]{0,8}", 1..8)) {
            let items = parse_select(&names.join(",")).unwrap();
            let want: Vec<SelectItem> = names.iter().map(|n| col(n)).collect();
            prop_assert_eq!(items, want);
        }

        #[test]
        fn eq_values_are_verbatim(v in ".{0,40}") {
            let (_, f) = parse_filter("c", &format!("eq.{v}")).unwrap();
            prop_assert_eq!(f.operation, cmp(CompareOp::Eq, &v));
        }

        #[test]
        fn quoted_in_items_round_trip(items in proptest::collection::vec("[^\"\\\\]{1,10}", 1..6)) {
            let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
            let (_, f) = parse_filter("c", &format!("in.({})", quoted.join(","))).unwrap();
            prop_assert_eq!(f.operation, Operation::In(items));
        }
    }
}
