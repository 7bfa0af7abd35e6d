use crate::ast::*;
use crate::parse_order;
use crate::testing::*;

fn term(field: Field, direction: Option<Direction>, nulls: Option<Nulls>) -> OrderTerm {
    OrderTerm {
        field,
        relation: None,
        direction,
        nulls,
    }
}

fn rel_term(
    relation: &str,
    field: Field,
    direction: Option<Direction>,
    nulls: Option<Nulls>,
) -> OrderTerm {
    OrderTerm {
        relation: some(relation),
        ..term(field, direction, nulls)
    }
}

#[test]
fn terms() {
    use Direction::*;
    use Nulls::*;
    let cases: Vec<(&str, Vec<OrderTerm>)> = vec![
        ("name", vec![term(fld("name"), None, None)]),
        ("name.asc", vec![term(fld("name"), Some(Asc), None)]),
        ("name.desc", vec![term(fld("name"), Some(Desc), None)]),
        (
            "name.nullsfirst",
            vec![term(fld("name"), None, Some(First))],
        ),
        ("name.nullslast", vec![term(fld("name"), None, Some(Last))]),
        (
            "name.desc.nullsfirst",
            vec![term(fld("name"), Some(Desc), Some(First))],
        ),
        (
            "name.asc.nullslast",
            vec![term(fld("name"), Some(Asc), Some(Last))],
        ),
        (
            "created_at.desc.nullslast,id.asc",
            vec![
                term(fld("created_at"), Some(Desc), Some(Last)),
                term(fld("id"), Some(Asc), None),
            ],
        ),
        (
            "a,b.desc,c.asc.nullslast",
            vec![
                term(fld("a"), None, None),
                term(fld("b"), Some(Desc), None),
                term(fld("c"), Some(Asc), Some(Last)),
            ],
        ),
        (
            " a , b",
            vec![term(fld("a"), None, None), term(fld("b"), None, None)],
        ),
        (
            "json_col->key.asc.nullslast",
            vec![term(
                jfld("json_col", &[(false, "key")]),
                Some(Asc),
                Some(Last),
            )],
        ),
        (
            "json_col->!@#$%^&*_a.asc.nullslast",
            vec![term(
                jfld("json_col", &[(false, "!@#$%^&*_a")]),
                Some(Asc),
                Some(Last),
            )],
        ),
        (
            "data->>lat",
            vec![term(jfld("data", &[(true, "lat")]), None, None)],
        ),
        (
            "data->>x.desc",
            vec![term(jfld("data", &[(true, "x")]), Some(Desc), None)],
        ),
        (
            "data->0.desc",
            vec![term(jfld("data", &[(false, "0")]), Some(Desc), None)],
        ),
        (
            "clients(json_col->key).desc.nullsfirst",
            vec![rel_term(
                "clients",
                jfld("json_col", &[(false, "key")]),
                Some(Desc),
                Some(First),
            )],
        ),
        (
            "directors(last_name).desc",
            vec![rel_term("directors", fld("last_name"), Some(Desc), None)],
        ),
        (
            "directors( last_name )",
            vec![rel_term("directors", fld("last_name"), None, None)],
        ),
        (
            "name,clients(name),id",
            vec![
                term(fld("name"), None, None),
                rel_term("clients", fld("name"), None, None),
                term(fld("id"), None, None),
            ],
        ),
        ("\"a.b\".desc", vec![term(fld("a.b"), Some(Desc), None)]),
        ("\"a,b\"", vec![term(fld("a,b"), None, None)]),
        ("name desc", vec![term(fld("name desc"), None, None)]),
        ("名前.desc", vec![term(fld("名前"), Some(Desc), None)]),
        (
            "first-name.asc",
            vec![term(fld("first-name"), Some(Asc), None)],
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse_order(input).unwrap(), want, "order={input:?}");
    }
}

#[test]
fn errors_match_upstream() {
    let msg =
        |s: &str, col: usize| format!("\"failed to parse order ({s})\" (line 1, column {col})");
    let dirs = "expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"";
    let cases: Vec<(&str, usize, String)> = vec![
        // From PostgREST's own doctests and spec.
        (
            "clients(name,id)",
            8,
            "unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input".into(),
        ),
        ("id.ac", 4, format!("unexpected \"c\" {dirs}")),
        ("id.descc", 8, "unexpected 'c' expecting delimiter (.), \",\" or end of input".into()),
        ("id.nulsfist", 4, format!("unexpected \"n\" {dirs}")),
        ("id.nullslasttt", 13, "unexpected 't' expecting \",\" or end of input".into()),
        ("id.smth34", 4, format!("unexpected \"s\" {dirs}")),
        ("id.asc.nlsfst", 8, "unexpected \"l\" expecting \"nullsfirst\" or \"nullslast\"".into()),
        ("id.asc.nullslasttt", 17, "unexpected 't' expecting \",\" or end of input".into()),
        ("id.asc.smth34", 8, "unexpected \"s\" expecting \"nullsfirst\" or \"nullslast\"".into()),
        // Further malformed input.
        ("", 1, "unexpected end of input expecting field name (* or [a..z0..9_$])".into()),
        (",", 1, "unexpected \",\" expecting field name (* or [a..z0..9_$])".into()),
        ("a,", 3, "unexpected end of input expecting field name (* or [a..z0..9_$])".into()),
        ("a..desc", 3, format!("unexpected \".\" {dirs}")),
        ("a.desc.asc", 8, "unexpected \"a\" expecting \"nullsfirst\" or \"nullslast\"".into()),
        ("a.desc ", 7, "unexpected ' ' expecting delimiter (.), \",\" or end of input".into()),
        ("a.nullsfirst.desc", 13, "unexpected '.' expecting \",\" or end of input".into()),
        ("rel(a", 4, "unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input".into()),
        ("rel()", 4, "unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input".into()),
        ("a;b", 2, "unexpected ';' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input".into()),
        ("*", 1, "unexpected \"*\" expecting field name (* or [a..z0..9_$])".into()),
    ];
    for (input, column, details) in cases {
        assert_err(parse_order(input), &msg(input, column), &details);
    }
}
