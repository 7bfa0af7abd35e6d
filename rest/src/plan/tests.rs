//! Planner unit tests against a hand-built schema cache (no database): what `Plan.hs` decides
//! before any SQL, with PostgREST's error codes and messages.

use std::collections::HashMap;

use bucketbase_grammar::{parse_query_string, QueryParams};
use serde_json::{json, Map, Value};

use super::call::{plan_call, CallArgs, CallArguments, CallRequest, CallResult};
use super::mutate::{check_single_upsert, plan_mutate, Returning, Write, WriteRequest};
use super::read::{plan_read, FilterPlan, ReadPlan, SelectPlan};
use crate::api::media::Media;
use crate::api::prefer::{Preferences, Resolution, Return};
use crate::error::Error;
use crate::schema_cache::{
    Argument, Cardinality, Column, Function, Junction, QualifiedName, Relationship, ReturnShape,
    SchemaCache, Table,
};

fn name(n: &str) -> QualifiedName {
    QualifiedName::new("public", n)
}

fn column(n: &str, base_type: &str) -> Column {
    Column {
        name: n.into(),
        data_type: base_type.into(),
        base_type: base_type.into(),
        nullable: true,
        default: (n == "id").then(|| format!("nextval('{n}_seq'::regclass)")),
        generated: false,
        enum_values: Vec::new(),
        description: None,
        max_length: None,
    }
}

fn add_table(cache: &mut SchemaCache, n: &str, columns: &[&str], pk: &[&str]) {
    let table = Table {
        name: name(n),
        columns: columns
            .iter()
            .map(|c| column(c, if *c == "data" { "jsonb" } else { "text" }))
            .collect(),
        primary_key: pk.iter().map(|c| c.to_string()).collect(),
        unique_keys: Vec::new(),
        kind: 'r',
        insertable: true,
        updatable: true,
        deletable: true,
        description: None,
    };
    cache.tables.insert(name(n), table);
}

/// Both directions of a foreign key `child(col) -> parent(id)`.
fn add_fk(cache: &mut SchemaCache, child: &str, col: &str, parent: &str, constraint: &str) {
    let rel = |origin: &str, target: &str, cardinality, columns| Relationship {
        origin: name(origin),
        target: name(target),
        cardinality,
        constraint: constraint.into(),
        columns,
    };
    let pair = (col.to_string(), "id".to_string());
    let down = (pair.1.clone(), pair.0.clone());
    cache
        .relationships
        .entry(name(child))
        .or_default()
        .push(rel(child, parent, Cardinality::ManyToOne, vec![pair]));
    cache
        .relationships
        .entry(name(parent))
        .or_default()
        .push(rel(parent, child, Cardinality::OneToMany, vec![down]));
}

fn function(n: &str, args: &[(&str, &str, bool)], returns: ReturnShape, oid: i64) -> Function {
    Function {
        name: name(n),
        arguments: args
            .iter()
            .map(|(a, ty, required)| Argument {
                name: a.to_string(),
                data_type: ty.to_string(),
                required: *required,
                variadic: false,
            })
            .collect(),
        volatility: 'v',
        returns,
        description: None,
        oid,
    }
}

/// clients 1-n projects; films n-m actors through roles; messages -> users twice; functions.
fn cache() -> SchemaCache {
    let mut c = SchemaCache::default();
    add_table(&mut c, "clients", &["id", "name"], &["id"]);
    add_table(
        &mut c,
        "projects",
        &["id", "name", "client_id", "data"],
        &["id"],
    );
    add_fk(
        &mut c,
        "projects",
        "client_id",
        "clients",
        "projects_client_id_fkey",
    );
    add_table(&mut c, "films", &["id", "title"], &["id"]);
    add_table(&mut c, "actors", &["id", "name"], &["id"]);
    add_table(
        &mut c,
        "roles",
        &["film_id", "actor_id"],
        &["film_id", "actor_id"],
    );
    c.relationships
        .entry(name("films"))
        .or_default()
        .push(Relationship {
            origin: name("films"),
            target: name("actors"),
            cardinality: Cardinality::ManyToMany(Junction {
                table: name("roles"),
                origin_constraint: "roles_film_id_fkey".into(),
                target_constraint: "roles_actor_id_fkey".into(),
                origin_columns: vec![("id".into(), "film_id".into())],
                target_columns: vec![("id".into(), "actor_id".into())],
            }),
            constraint: "roles".into(),
            columns: Vec::new(),
        });
    add_table(&mut c, "users", &["id", "name"], &["id"]);
    add_table(
        &mut c,
        "messages",
        &["id", "sender_id", "receiver_id"],
        &["id"],
    );
    add_fk(
        &mut c,
        "messages",
        "sender_id",
        "users",
        "messages_sender_id_fkey",
    );
    add_fk(
        &mut c,
        "messages",
        "receiver_id",
        "users",
        "messages_receiver_id_fkey",
    );
    let rows = ReturnShape::SetOfComposite {
        relation: Some(name("projects")),
    };
    c.functions.insert(
        name("search"),
        vec![
            function("search", &[("q", "text", true)], rows.clone(), 2),
            function(
                "search",
                &[("q", "text", true), ("n", "integer", true)],
                rows,
                1,
            ),
        ],
    );
    c.functions.insert(
        name("twice"),
        vec![
            function("twice", &[("a", "integer", true)], ReturnShape::Scalar, 3),
            function("twice", &[("b", "integer", false)], ReturnShape::Scalar, 4),
        ],
    );
    c.functions.insert(
        name("ingest"),
        vec![function(
            "ingest",
            &[("", "json", true)],
            ReturnShape::Void,
            5,
        )],
    );
    c
}

fn query(qs: &str) -> QueryParams {
    parse_query_string(qs, false).expect("query string parses")
}

fn read<'a>(
    cache: &'a SchemaCache,
    q: &'a QueryParams,
    table: &str,
) -> Result<ReadPlan<'a>, Error> {
    let t = cache.tables.get(&name(table)).expect("table");
    plan_read(cache, q, &t.name, Some(t), Some(1000), true)
}

fn only_embed<'p, 'a>(plan: &'p ReadPlan<'a>) -> &'p super::read::EmbedPlan<'a> {
    plan.items
        .iter()
        .find_map(|i| match i {
            SelectPlan::Embed(e) => Some(&**e),
            _ => None,
        })
        .expect("an embed")
}

fn code(e: &Error) -> (u16, &str) {
    (e.status.as_u16(), e.code.as_str())
}

#[test]
fn embeds_a_to_one_parent_with_postgrest_aliases() {
    let c = cache();
    let q = query("select=name,clients(name)");
    let plan = read(&c, &q, "projects").expect("plan");
    let e = only_embed(&plan);
    assert!(e.to_one);
    assert_eq!(e.relationship.constraint, "projects_client_id_fkey");
    assert_eq!(
        (e.join_alias.as_str(), e.rows_alias.as_str()),
        ("projects_clients_1", "clients_1")
    );
    assert_eq!(e.child.items.len(), 1);
}

#[test]
fn embeds_to_many_children_under_their_alias() {
    let c = cache();
    let q = query("select=*,work:projects(*)");
    let plan = read(&c, &q, "clients").expect("plan");
    let e = only_embed(&plan);
    assert!(!e.to_one);
    assert_eq!(e.name, "work");
    assert_eq!(e.relationship.cardinality, Cardinality::OneToMany);
    assert_eq!(e.join_alias, "clients_work_1");
}

#[test]
fn embeds_many_to_many_through_the_junction() {
    let c = cache();
    let q = query("select=title,actors(name)");
    let plan = read(&c, &q, "films").expect("plan");
    let e = only_embed(&plan);
    assert!(!e.to_one);
    assert!(
        matches!(&e.relationship.cardinality, Cardinality::ManyToMany(j) if j.table.name == "roles")
    );
}

#[test]
fn two_foreign_keys_to_one_table_are_ambiguous() {
    let c = cache();
    let q = query("select=*,users(*)");
    let e = read(&c, &q, "messages").expect_err("PGRST201");
    assert_eq!(code(&e), (300, "PGRST201"));
    assert_eq!(
        e.message,
        "Could not embed because more than one relationship was found for 'messages' and 'users'"
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("Try changing 'users' to one of the following: 'users!messages_sender_id_fkey', 'users!messages_receiver_id_fkey'. Find the desired relationship in the 'details' key.")
    );
    let details = e.details.expect("details");
    assert_eq!(details[0]["cardinality"], json!("many-to-one"));
    assert_eq!(details[0]["embedding"], json!("messages with users"));
}

#[test]
fn a_hint_or_the_fk_column_disambiguates() {
    let c = cache();
    let q = query("select=*,users!messages_receiver_id_fkey(*)");
    let plan = read(&c, &q, "messages").expect("hinted");
    assert_eq!(
        only_embed(&plan).relationship.constraint,
        "messages_receiver_id_fkey"
    );
    let q = query("select=*,sender_id(*)");
    let plan = read(&c, &q, "messages").expect("by column");
    assert_eq!(
        only_embed(&plan).relationship.constraint,
        "messages_sender_id_fkey"
    );
}

#[test]
fn a_missing_relationship_is_pgrst200_with_a_fuzzy_hint() {
    let c = cache();
    let q = query("select=*,client(*)");
    let e = read(&c, &q, "projects").expect_err("PGRST200");
    assert_eq!(code(&e), (400, "PGRST200"));
    assert_eq!(
        e.message,
        "Could not find a relationship between 'projects' and 'client' in the schema cache"
    );
    assert_eq!(
        e.details,
        Some(json!("Searched for a foreign key relationship between 'projects' and 'client' in the schema 'public', but no matches were found."))
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("Perhaps you meant 'clients' instead of 'client'.")
    );
}

#[test]
fn embed_filters_are_presence_checks_only() {
    let c = cache();
    let q = query("select=*,projects(*)&projects=not.is.null&name=eq.a");
    let plan = read(&c, &q, "clients").expect("plan");
    assert!(matches!(
        plan.filters.as_slice(),
        [FilterPlan::Presence { embed: 0, exists: true }, FilterPlan::Column(f)] if f.field.name == "name"
    ));
    let q = query("select=*,projects(*)&projects=eq.1");
    let e = read(&c, &q, "clients").expect_err("PGRST120");
    assert_eq!(code(&e), (400, "PGRST120"));
}

#[test]
fn modifiers_on_an_unselected_embed_are_pgrst108() {
    let c = cache();
    let q = query("select=*&projects.limit=1");
    let e = read(&c, &q, "clients").expect_err("PGRST108");
    assert_eq!(code(&e), (400, "PGRST108"));
    assert_eq!(
        e.message,
        "'projects' is not an embedded resource in this request"
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("Verify that 'projects' is included in the 'select' query parameter.")
    );
}

#[test]
fn related_order_needs_a_to_one_embed() {
    let c = cache();
    let q = query("select=*,clients(*)&order=clients(name).desc");
    let plan = read(&c, &q, "projects").expect("to-one order");
    assert_eq!(plan.order[0].embed, Some(0));
    let q = query("select=*,projects(*)&order=projects(name)");
    let e = read(&c, &q, "clients").expect_err("PGRST118");
    assert_eq!(code(&e), (400, "PGRST118"));
    assert_eq!(
        e.details,
        Some(json!("'projects' is not a to-one relationship"))
    );
}

#[test]
fn aggregates_follow_the_setting_and_default_their_key() {
    let mut c = cache();
    let q = query("select=id.sum()");
    let e = read(&c, &q, "projects").expect_err("disabled");
    assert_eq!(code(&e), (400, "PGRST123"));
    c.settings
        .insert("db_aggregates_enabled".into(), "true".into());
    let plan = read(&c, &q, "projects").expect("enabled");
    assert!(
        matches!(&plan.items[0], SelectPlan::Column { name, aggregate: Some(_), .. } if name == "sum")
    );
    assert!(plan.aggregates());
}

#[test]
fn json_path_columns_are_keyed_by_their_last_key_and_limits_capped() {
    let c = cache();
    let q = query("select=data->owner->>name,alias:data->x&limit=5000&offset=3");
    let plan = read(&c, &q, "projects").expect("plan");
    let names: Vec<&str> = plan
        .items
        .iter()
        .filter_map(|i| match i {
            SelectPlan::Column { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["name", "alias"]);
    assert_eq!((plan.limit, plan.offset), (Some(1000), Some(3)));
}

fn rows(v: Value) -> Vec<Map<String, Value>> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Object(o) => o,
                _ => panic!("rows are objects"),
            })
            .collect(),
        Value::Object(o) => vec![o],
        _ => panic!("rows"),
    }
}

fn write_req<'a>(c: &'a SchemaCache, q: &'a QueryParams, p: &'a Preferences) -> WriteRequest<'a> {
    WriteRequest {
        cache: c,
        query: q,
        prefer: p,
    }
}

#[test]
fn insert_columns_come_from_the_payload_keys_or_columns_param() {
    let c = cache();
    let t = &c.tables[&name("clients")];
    let q = query("");
    let prefer = Preferences::default();
    let plan = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Insert,
        Some(rows(
            json!([{"id": 1, "name": "a"}, {"name": "b", "id": 2}]),
        )),
    )
    .expect("plan");
    assert_eq!(plan.payload.expect("payload").columns, ["id", "name"]);
    assert_eq!(
        (plan.returning, plan.merge, plan.on_conflict),
        (Returning::Count, false, None)
    );
    let e = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Insert,
        Some(rows(json!([{"id": 1}, {"name": "b"}]))),
    )
    .expect_err("keys");
    assert_eq!(
        (code(&e), e.message.as_str()),
        ((400, "PGRST102"), "All object keys must match")
    );
    let q = query("columns=name");
    let plan = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Insert,
        Some(rows(json!([{"id": 1}, {"name": "b"}]))),
    )
    .expect("columns=");
    assert_eq!(plan.payload.expect("payload").columns, ["name"]);
}

#[test]
fn unknown_payload_columns_are_pgrst204() {
    let c = cache();
    let t = &c.tables[&name("clients")];
    let q = query("");
    let prefer = Preferences::default();
    let e = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Update,
        Some(rows(json!({"nope": 1}))),
    )
    .expect_err("204");
    assert_eq!(code(&e), (400, "PGRST204"));
    assert_eq!(
        e.message,
        "Could not find the 'nope' column of 'clients' in the schema cache"
    );
}

#[test]
fn upserts_resolve_on_conflict_and_missing_default() {
    let c = cache();
    let t = &c.tables[&name("projects")];
    let prefer = Preferences {
        resolution: Some(Resolution::MergeDuplicates),
        missing_default: true,
        return_: Some(Return::Representation),
        ..Default::default()
    };
    let q = query("on_conflict=name&select=id,clients(name)");
    let plan = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Insert,
        Some(rows(json!({"name": "x"}))),
    )
    .expect("plan");
    assert_eq!(
        plan.on_conflict,
        Some((Resolution::MergeDuplicates, vec!["name".to_string()]))
    );
    assert!(plan.merge && plan.missing_default);
    assert_eq!(plan.returning, Returning::Rows);
    let representation = plan.representation.expect("representation");
    assert!(only_embed(&representation).to_one);
    // Without `on_conflict` the primary key is the conflict target.
    let q = query("");
    let plan = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Insert,
        Some(rows(json!({"name": "x"}))),
    )
    .expect("plan");
    assert_eq!(
        plan.on_conflict,
        Some((Resolution::MergeDuplicates, vec!["id".to_string()]))
    );
}

#[test]
fn unfiltered_patch_and_delete_are_refused_and_empty_writes_write_nothing() {
    let c = cache();
    let t = &c.tables[&name("clients")];
    let prefer = Preferences::default();
    let q = query("");
    let e = plan_mutate(&write_req(&c, &q, &prefer), t, Write::Delete, None).expect_err("delete");
    assert_eq!(
        (code(&e), e.message.as_str()),
        ((400, "21000"), "DELETE requires a WHERE clause")
    );
    let e = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Update,
        Some(rows(json!({"name": "x"}))),
    )
    .expect_err("update");
    assert_eq!(e.message, "UPDATE requires a WHERE clause");
    let plan = plan_mutate(
        &write_req(&c, &q, &prefer),
        t,
        Write::Update,
        Some(rows(json!({}))),
    )
    .expect("{}");
    assert!(plan.writes_nothing());
    let q = query("or=(id.eq.1,id.eq.2)");
    let plan = plan_mutate(&write_req(&c, &q, &prefer), t, Write::Delete, None).expect("filtered");
    assert!(plan.logic.is_some() && plan.filters.is_empty());
}

#[test]
fn put_needs_exactly_the_primary_key() {
    let c = cache();
    let t = &c.tables[&name("roles")];
    check_single_upsert(&query("film_id=eq.1&actor_id=eq.2"), t).expect("pk");
    for qs in [
        "film_id=eq.1",
        "film_id=eq.1&actor_id=gt.2",
        "film_id=eq.1&actor_id=eq.2&or=(film_id.eq.1)",
    ] {
        let e = check_single_upsert(&query(qs), t).expect_err(qs);
        assert_eq!(code(&e), (405, "PGRST105"), "{qs}");
    }
    let e =
        check_single_upsert(&query("film_id=eq.1&actor_id=eq.2&limit=1"), t).expect_err("limit");
    assert_eq!(code(&e), (400, "PGRST114"));
}

fn call<'a>(
    c: &'a SchemaCache,
    q: &'a QueryParams,
    p: &'a Preferences,
    f: &str,
    args: Value,
    body: Option<&str>,
) -> Result<super::call::CallPlan<'a>, Error> {
    let req = CallRequest {
        cache: c,
        query: q,
        prefer: p,
        media: Media::Json,
        max_rows: None,
    };
    let named = match args {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let args = CallArgs {
        named,
        raw_body: body.map(str::to_string),
        body_kind: Some(super::call::BodyKind::Json),
    };
    plan_call(&req, &name(f), args)
}

#[test]
fn calls_pick_the_overload_by_argument_names() {
    let c = cache();
    let q = query("");
    let p = Preferences::default();
    let plan = call(&c, &q, &p, "search", json!({"q": "x", "n": 2}), Some("{}")).expect("two");
    assert_eq!(plan.function.arguments.len(), 2);
    assert!(
        matches!(&plan.arguments, CallArguments::Named { json: Some(j), parameters } if j == r#"{"q":"x","n":2}"# && parameters.len() == 2)
    );
    assert!(matches!(
        plan.result,
        CallResult::Rows { single: false, .. }
    ));
    let plan = call(&c, &q, &p, "search", json!({"q": "x"}), Some("{}")).expect("one");
    assert_eq!(plan.function.oid, 2);
    assert!(!plan.read_only);
}

#[test]
fn calls_without_a_match_are_pgrst202_and_ties_pgrst203() {
    let c = cache();
    let q = query("");
    let p = Preferences::default();
    let e = call(&c, &q, &p, "search", json!({"x": 1}), Some("{}")).expect_err("202");
    assert_eq!(code(&e), (404, "PGRST202"));
    assert_eq!(
        e.message,
        "Could not find the function public.search(x) in the schema cache"
    );
    let e = call(&c, &q, &p, "serch", json!({}), Some("{}")).expect_err("202 name");
    assert_eq!(
        e.hint.as_deref(),
        Some("Perhaps you meant to call the function public.search")
    );
    // `twice(b)` has only an optional parameter and `twice(a)` needs `a`: no key fits `b` only…
    let plan = call(&c, &q, &p, "twice", json!({"a": 1}), Some("{}")).expect("a");
    assert_eq!(plan.function.oid, 3);
    // …but an empty call fits `twice(b default)` alone.
    let plan = call(&c, &q, &p, "twice", json!({}), Some("{}")).expect("none");
    assert_eq!(plan.function.oid, 4);
    let mut c = c;
    c.functions.insert(
        name("dup"),
        vec![
            function("dup", &[("a", "integer", false)], ReturnShape::Scalar, 6),
            function("dup", &[("b", "integer", false)], ReturnShape::Scalar, 7),
        ],
    );
    let e = call(&c, &q, &p, "dup", json!({}), Some("{}")).expect_err("203");
    assert_eq!(code(&e), (300, "PGRST203"));
}

#[test]
fn a_single_unnamed_json_parameter_takes_the_whole_body() {
    let c = cache();
    let q = query("");
    let p = Preferences::default();
    let body = r#"{"anything": [1, 2]}"#;
    let plan = call(
        &c,
        &q,
        &p,
        "ingest",
        json!({"anything": [1, 2]}),
        Some(body),
    )
    .expect("plan");
    assert!(
        matches!(&plan.arguments, CallArguments::Whole { value, data_type: "json" } if value == body)
    );
    assert!(matches!(plan.result, CallResult::Value));
}

#[test]
fn every_built_error_uses_its_table_status() {
    let statuses: HashMap<&str, u16> = crate::error::ErrorCode::ALL
        .iter()
        .map(|c| (c.code(), c.status()))
        .collect();
    let c = cache();
    for (qs, table) in [
        ("select=*,users(*)", "messages"),
        ("select=*,nope(*)", "projects"),
        ("select=*&x.limit=1", "clients"),
    ] {
        let q = query(qs);
        let e = read(&c, &q, table).expect_err(qs);
        assert_eq!(
            Some(&e.status.as_u16()),
            statuses.get(e.code.as_str()),
            "{qs}"
        );
    }
}
