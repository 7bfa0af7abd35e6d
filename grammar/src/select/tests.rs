use crate::ast::*;
use crate::testing::*;
use crate::{parse_select, MAX_NESTING_DEPTH};

fn full(
    field: Field,
    alias: Option<&str>,
    cast: Option<&str>,
    aggregate: Option<Aggregate>,
    aggregate_cast: Option<&str>,
) -> SelectItem {
    SelectItem::Column {
        field,
        alias: alias.map(String::from),
        cast: cast.map(String::from),
        aggregate,
        aggregate_cast: aggregate_cast.map(String::from),
    }
}

fn emb(
    relation: &str,
    alias: Option<&str>,
    hint: Option<&str>,
    join: Option<JoinType>,
    spread: bool,
    select: Vec<SelectItem>,
) -> SelectItem {
    SelectItem::Embed {
        relation: relation.to_string(),
        alias: alias.map(String::from),
        hint: hint.map(String::from),
        join,
        spread,
        select,
    }
}

#[test]
fn plain_columns_and_star() {
    use SelectItem::Star;
    let cases: Vec<(&str, Vec<SelectItem>)> = vec![
        ("", vec![]),
        ("*", vec![Star]),
        ("id", vec![col("id")]),
        ("id,name", vec![col("id"), col("name")]),
        (" id , name ", vec![col("id"), col("name")]),
        ("\tid\t,\tname\t", vec![col("id"), col("name")]),
        ("*,id", vec![Star, col("id")]),
        ("id,*", vec![col("id"), Star]),
        ("\"*\"", vec![Star]),
        ("\"full name\"", vec![col("full name")]),
        ("full name", vec![col("full name")]),
        ("\"a,b\",c", vec![col("a,b"), col("c")]),
        ("\"a\\\"b\"", vec![col("a\"b")]),
        ("\"a(b)\"", vec![col("a(b)")]),
        ("first-name", vec![col("first-name")]),
        ("a-b-c", vec![col("a-b-c")]),
        ("$x", vec![col("$x")]),
        ("_", vec![col("_")]),
        ("123", vec![col("123")]),
        ("名前,données", vec![col("名前"), col("données")]),
        ("Ñandú", vec![col("Ñandú")]),
        ("\"🙂\"", vec![col("🙂")]),
        ("\"\"", vec![col("")]),
        ("id,id", vec![col("id"), col("id")]),
        // Upstream quirks: the forest need not reach the end of the input.
        ("a)", vec![col("a")]),
        ("a,b)x", vec![col("a"), col("b")]),
        ("*!hint", vec![]),
        ("!", vec![]),
        ("[id]", vec![]),
        ("...rel", vec![]),
        ("...", vec![]),
        ("* ", vec![]),
        ("(", vec![]),
    ];
    for (input, want) in cases {
        assert_eq!(parse_select(input).unwrap(), want, "select={input:?}");
    }
}

#[test]
fn aliases_casts_json_paths_aggregates() {
    use Aggregate::*;
    let cases: Vec<(&str, SelectItem)> = vec![
        (
            "alias:name",
            full(fld("name"), Some("alias"), None, None, None),
        ),
        (
            " alias : name ",
            full(fld("name"), Some("alias"), None, None, None),
        ),
        (
            "\"a b\":name",
            full(fld("name"), Some("a b"), None, None, None),
        ),
        (
            "\"a:b\":name",
            full(fld("name"), Some("a:b"), None, None, None),
        ),
        (
            "name::text",
            full(fld("name"), None, Some("text"), None, None),
        ),
        (
            "name::character varying",
            full(fld("name"), None, Some("character varying"), None, None),
        ),
        (
            "alias:name::cast",
            full(fld("name"), Some("alias"), Some("cast"), None, None),
        ),
        (
            "name->jsonpath",
            column(jfld("name", &[(false, "jsonpath")])),
        ),
        (
            "alias:name->jsonpath::cast",
            full(
                jfld("name", &[(false, "jsonpath")]),
                Some("alias"),
                Some("cast"),
                None,
                None,
            ),
        ),
        (
            "alias:name->!@#$%^&*_a::cast",
            full(
                jfld("name", &[(false, "!@#$%^&*_a")]),
                Some("alias"),
                Some("cast"),
                None,
                None,
            ),
        ),
        (
            "data->a->>b",
            column(jfld("data", &[(false, "a"), (true, "b")])),
        ),
        ("data->>a", column(jfld("data", &[(true, "a")]))),
        ("data->0", column(jfld("data", &[(false, "0")]))),
        ("data->-1", column(jfld("data", &[(false, "-1")]))),
        ("data->>-1", column(jfld("data", &[(true, "-1")]))),
        (
            "data->0->>1",
            column(jfld("data", &[(false, "0"), (true, "1")])),
        ),
        ("data->\"a.b\"", column(jfld("data", &[(false, "a.b")]))),
        ("data->a-b", column(jfld("data", &[(false, "a-b")]))),
        ("data->a b", column(jfld("data", &[(false, "a b")]))),
        ("data->>clé", column(jfld("data", &[(true, "clé")]))),
        ("data->0x", column(jfld("data", &[(false, "0x")]))),
        (
            "data->99999999999999999999",
            column(jfld("data", &[(false, "99999999999999999999")])),
        ),
        (
            "amount.sum()",
            full(fld("amount"), None, None, Some(Sum), None),
        ),
        (
            "amount.avg()",
            full(fld("amount"), None, None, Some(Avg), None),
        ),
        (
            "amount.count()",
            full(fld("amount"), None, None, Some(Count), None),
        ),
        (
            "amount.max()",
            full(fld("amount"), None, None, Some(Max), None),
        ),
        (
            "amount.min()",
            full(fld("amount"), None, None, Some(Min), None),
        ),
        (
            "amount.sum()::int",
            full(fld("amount"), None, None, Some(Sum), Some("int")),
        ),
        (
            "x::text.avg()::int",
            full(fld("x"), None, Some("text"), Some(Avg), Some("int")),
        ),
        (
            "total:amount.sum()",
            full(fld("amount"), Some("total"), None, Some(Sum), None),
        ),
        (
            "data->>n.max()",
            full(jfld("data", &[(true, "n")]), None, None, Some(Max), None),
        ),
        (
            "count()",
            SelectItem::Count {
                alias: None,
                cast: None,
            },
        ),
        (
            " count()",
            SelectItem::Count {
                alias: None,
                cast: None,
            },
        ),
        (
            "c:count()",
            SelectItem::Count {
                alias: some("c"),
                cast: None,
            },
        ),
        (
            "c:count()::int",
            SelectItem::Count {
                alias: some("c"),
                cast: some("int"),
            },
        ),
        (
            "count()::text",
            SelectItem::Count {
                alias: None,
                cast: some("text"),
            },
        ),
        ("count", col("count")),
        ("sum", col("sum")),
    ];
    for (input, want) in cases {
        assert_eq!(parse_select(input).unwrap(), vec![want], "select={input:?}");
    }
}

#[test]
fn embeds_spreads_hints() {
    use JoinType::*;
    use SelectItem::Star;
    let cases: Vec<(&str, Vec<SelectItem>)> = vec![
        ("client(id)", vec![embed("client", vec![col("id")])]),
        ("client()", vec![embed("client", vec![])]),
        (
            "client( id , name )",
            vec![embed("client", vec![col("id"), col("name")])],
        ),
        (
            "comments(count)",
            vec![embed("comments", vec![col("count")])],
        ),
        (
            "rel(count())",
            vec![embed(
                "rel",
                vec![SelectItem::Count {
                    alias: None,
                    cast: None,
                }],
            )],
        ),
        (
            "*,client(*,nested(*))",
            vec![
                Star,
                embed("client", vec![Star, embed("nested", vec![Star])]),
            ],
        ),
        (
            "*,...client(*),other(*)",
            vec![
                Star,
                emb("client", None, None, None, true, vec![Star]),
                embed("other", vec![Star]),
            ],
        ),
        (
            "alias:rel(*)",
            vec![emb("rel", Some("alias"), None, None, false, vec![Star])],
        ),
        (
            "rel!hint(*)",
            vec![emb("rel", None, Some("hint"), None, false, vec![Star])],
        ),
        (
            "rel!inner(*)",
            vec![emb("rel", None, None, Some(Inner), false, vec![Star])],
        ),
        (
            "rel!left(*)",
            vec![emb("rel", None, None, Some(Left), false, vec![Star])],
        ),
        (
            "rel!hint!inner(*)",
            vec![emb(
                "rel",
                None,
                Some("hint"),
                Some(Inner),
                false,
                vec![Star],
            )],
        ),
        (
            "alias:rel!inner!hint(*)",
            vec![emb(
                "rel",
                Some("alias"),
                Some("hint"),
                Some(Inner),
                false,
                vec![Star],
            )],
        ),
        (
            "rel!inner!left(*)",
            vec![emb("rel", None, None, Some(Inner), false, vec![Star])],
        ),
        (
            "rel!a!b(*)",
            vec![emb("rel", None, Some("a"), None, false, vec![Star])],
        ),
        (
            "rel!\"left\"(*)",
            vec![emb("rel", None, Some("left"), None, false, vec![Star])],
        ),
        (
            "rel!\"fk.name\"(*)",
            vec![emb("rel", None, Some("fk.name"), None, false, vec![Star])],
        ),
        (
            "rel!fk-name(*)",
            vec![emb("rel", None, Some("fk-name"), None, false, vec![Star])],
        ),
        (
            "...rel(*)",
            vec![emb("rel", None, None, None, true, vec![Star])],
        ),
        (
            "...rel!hint!inner(*)",
            vec![emb(
                "rel",
                None,
                Some("hint"),
                Some(Inner),
                true,
                vec![Star],
            )],
        ),
        (
            "...rel(a:b,c.sum())",
            vec![emb(
                "rel",
                None,
                None,
                None,
                true,
                vec![
                    full(fld("b"), Some("a"), None, None, None),
                    full(fld("c"), None, None, Some(Aggregate::Sum), None),
                ],
            )],
        ),
        (
            "tags!inner(*)",
            vec![emb("tags", None, None, Some(Inner), false, vec![Star])],
        ),
        ("\"my rel\"(id)", vec![embed("my rel", vec![col("id")])]),
        (
            "a(b(c(d)))",
            vec![embed(
                "a",
                vec![embed("b", vec![embed("c", vec![col("d")])])],
            )],
        ),
        (
            "a(b),c(d)",
            vec![embed("a", vec![col("b")]), embed("c", vec![col("d")])],
        ),
        (" a ( b ) , c ", vec![embed("a", vec![col("b")]), col("c")]),
        ("rel(*)x", vec![embed("rel", vec![Star])]),
        (
            "id,owner:users!todos_owner_fkey(id,\"full name\")",
            vec![
                col("id"),
                emb(
                    "users",
                    Some("owner"),
                    Some("todos_owner_fkey"),
                    None,
                    false,
                    vec![col("id"), col("full name")],
                ),
            ],
        ),
        (
            "id,name,owner:users!todos_owner_fkey(id,\"full name\"),tags!inner(*),...profile(bio)",
            vec![
                col("id"),
                col("name"),
                emb(
                    "users",
                    Some("owner"),
                    Some("todos_owner_fkey"),
                    None,
                    false,
                    vec![col("id"), col("full name")],
                ),
                emb("tags", None, None, Some(Inner), false, vec![Star]),
                emb("profile", None, None, None, true, vec![col("bio")]),
            ],
        ),
        ("client_id(*)", vec![embed("client_id", vec![Star])]),
    ];
    for (input, want) in cases {
        assert_eq!(parse_select(input).unwrap(), want, "select={input:?}");
    }
}

#[test]
fn errors_match_upstream() {
    let msg = |s: &str, col: usize| {
        format!("\"failed to parse select parameter ({s})\" (line 1, column {col})")
    };
    let after_name = "expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input";
    let cases: Vec<(&str, usize, String)> = vec![
        // From PostgREST's own doctests and spec.
        ("id,clients(name[])", 16, format!("unexpected '[' {after_name}")),
        ("data->>-78xy", 11, "unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input".into()),
        ("data->>--34", 9, "unexpected \"-\" expecting digit".into()),
        (
            "data->(!@#$%^&*_d->>!@#$%^&*_e::integer",
            7,
            "unexpected \"(\" expecting \"-\", digit or any non reserved character different from: .,>()".into(),
        ),
        ("name!hint", 5, format!("unexpected '!' {after_name}")),
        ("name::", 7, "unexpected end of input expecting letter or digit".into()),
        // Further malformed input.
        ("a(b", 4, format!("unexpected end of input {after_name}")),
        ("a(", 3, "unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"".into()),
        ("a(b,", 5, "unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\" or \"count()\"".into()),
        ("id,", 4, "unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\" or \"count()\"".into()),
        ("id,,name", 4, "unexpected \",\" expecting \"...\", field name (* or [a..z0..9_$]), \"*\" or \"count()\"".into()),
        ("count(*)", 6, format!("unexpected '(' {after_name}")),
        ("rel->jsonpath(*)", 14, "unexpected '(' expecting \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input".into()),
        // `count()` and `*` must be followed directly by `,`, `)` or the end.
        (" count() ", 7, format!("unexpected '(' {after_name}")),
        ("id,* ", 5, "unexpected ' ' expecting \")\", \",\" or end of input".into()),
        ("a::", 4, "unexpected end of input expecting letter or digit".into()),
        ("a::int[]", 7, "unexpected '[' expecting letter, digit, \".\", \"::\", \")\", \",\" or end of input".into()),
        ("a.sum", 6, "unexpected end of input expecting \"()\"".into()),
        ("a.foo()", 3, "unexpected \"f\" expecting \"sum\", \"avg\", \"count\", \"max\" or \"min\"".into()),
        ("a.sum()x", 8, "unexpected 'x' expecting \"::\", \")\", \",\" or end of input".into()),
        ("a:", 3, "unexpected end of input expecting \":\" or field name (* or [a..z0..9_$])".into()),
        ("a:b:c", 4, "unexpected \"c\" expecting \"::\"".into()),
        ("rel!leftover(*)", 4, format!("unexpected '!' {after_name}")),
        ("rel!(*)", 4, format!("unexpected '!' {after_name}")),
        ("rel!a!b!c(*)", 4, format!("unexpected '!' {after_name}")),
        ("id,...rel", 10, "unexpected end of input expecting letter, digit, \"-\", \"!\" or \"(\"".into()),
        ("alias:...rel(*)", 7, "unexpected \".\" expecting \":\" or field name (* or [a..z0..9_$])".into()),
        ("\"unterminated", 14, "unexpected end of input expecting \"\\\\\" or \"\\\"\"".into()),
        ("a->", 4, "unexpected end of input expecting \"-\", digit or any non reserved character different from: .,>()".into()),
        ("data->-99999999999999999999", 28, "json array index out of range".into()),
        ("data->-0x", 9, "unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input".into()),
        ("a-", 3, "unexpected end of input expecting \">\", letter or digit".into()),
        ("é,", 3, "unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\" or \"count()\"".into()),
        ("a\nb", 2, format!("unexpected '\\n' {after_name}")),
        ("ü[", 2, format!("unexpected '[' {after_name}")),
        ("a☃", 2, format!("unexpected '\\9731' {after_name}")),
    ];
    for (input, column, details) in cases {
        assert_err(parse_select(input), &msg(input, column), &details);
    }
}

#[test]
fn nesting_depth_is_capped() {
    let nested = |levels: usize| -> String {
        let mut s = String::from("id");
        for _ in 0..levels {
            s = format!("r({s})");
        }
        s
    };
    let ok = parse_select(&nested(MAX_NESTING_DEPTH)).unwrap();
    let mut depth = 0;
    let mut cur = &ok;
    while let Some(SelectItem::Embed { select, .. }) = cur.first() {
        depth += 1;
        cur = select;
    }
    assert_eq!(depth, MAX_NESTING_DEPTH);
    let err = parse_select(&nested(MAX_NESTING_DEPTH + 1)).unwrap_err();
    assert!(
        err.details
            .as_deref()
            .unwrap_or("")
            .contains("nested deeper than 64"),
        "{err:?}"
    );
    // Far deeper than the cap, unbalanced: still a clean error, no stack overflow.
    let deep = "r(".repeat(100_000);
    assert!(parse_select(&deep).is_err());
}
