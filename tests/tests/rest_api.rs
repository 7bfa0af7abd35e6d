//! `/rest/v1` against PostgREST v13/v14 semantics: the select grammar, every filter operator,
//! ordering and paging, counts and ranges, media types, writes with every `Prefer`, RPC of every
//! return shape, PostgREST's error table, schema reload and the OpenAPI root. The fixture
//! (`tests/js/fixtures/rest.sql`) is shared with the supabase-js conformance tests.

use std::time::Duration;

use bucketbase_tests::{wait_until, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FIXTURE: &str = include_str!("../js/fixtures/rest.sql");
const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const BOB: &str = "22222222-2222-2222-2222-222222222222";

async fn app() -> TestApp {
    TestApp::builder().sql(FIXTURE).spawn().await.expect("app")
}

/// `method path` as `token`, with extra headers and an optional JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut req = app.request(method, &format!("/rest/v1{path}"), token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    Reply::read(req.send().await.expect("request")).await
}

/// `method path` with a raw body of `content_type`.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: &str,
) -> Reply {
    let res = app
        .request(method, &format!("/rest/v1{path}"), token)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    Reply::read(res).await
}

async fn get(app: &TestApp, path: &str) -> Reply {
    call(app, Method::GET, path, &app.service_role_key, &[], None).await
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let r = get(app, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.json()
}

/// The `id`s of a JSON array of objects.
fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().filter_map(|o| o["id"].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn select_columns_aliases_casts_and_json_paths() {
    let app = app().await;
    let v = get_json(&app, "/authors?select=*&order=id").await;
    insta::assert_json_snapshot!("authors_star", v);
    let v = get_json(
        &app,
        "/books?select=id,name:title,pages::text,rating:meta->rating,code:meta->lang->>code,meta->>rating&id=eq.1",
    )
    .await;
    insta::assert_json_snapshot!("books_aliases_casts_paths", v);
    // Values as PostgreSQL renders them: numeric, date, arrays, enums, ranges, tsvector.
    let v = get_json(
        &app,
        "/books?select=price,published,tags,mood,period,summary,extra&id=eq.1",
    )
    .await;
    insta::assert_json_snapshot!("books_types", v);
    // A computed field is selectable and filterable by name; `*` leaves it out.
    let v = get_json(&app, "/authors?select=name,book_count&book_count=gt.1").await;
    assert_eq!(v, json!([{"name": "Stanisław Lem", "book_count": 2}]));
}

#[tokio::test]
async fn embeds_to_one_to_many_many_to_many_hints_and_spreads() {
    let app = app().await;
    // to-one (many-to-one) and to-many, nested, with embedded order and limit.
    let v = get_json(
        &app,
        "/authors?select=name,books!author_id(title,book_details(isbn))&books.order=id.desc&books.limit=1&order=id",
    )
    .await;
    insta::assert_json_snapshot!("authors_books_nested", v);
    // The FK column and the constraint name designate the parent too; hints disambiguate.
    let v = get_json(&app, "/books?select=id,author_id(name)&id=eq.3").await;
    assert_eq!(
        v,
        json!([{"id": 3, "author_id": {"name": "Octavia Butler"}}])
    );
    let v = get_json(
        &app,
        "/books?select=id,writer:authors!books_author_id_fkey(name),co:authors!co_author_id(name)&id=eq.3",
    )
    .await;
    assert_eq!(
        v,
        json!([{"id": 3, "writer": {"name": "Octavia Butler"}, "co": {"name": "Ursula K. Le Guin"}}])
    );
    // Many-to-many through the junction.
    let v = get_json(
        &app,
        "/genres?select=name,books(id)&books.order=id&order=id",
    )
    .await;
    insta::assert_json_snapshot!("genres_books_m2m", v);
    // One-to-one: an object both ways.
    let v = get_json(&app, "/book_details?select=isbn,books(title)&book_id=eq.2").await;
    assert_eq!(
        v,
        json!([{"isbn": "978-0156027601", "books": {"title": "Solaris"}}])
    );
    // Self-reference: the table name gives the children, the column the parent.
    let v = get_json(
        &app,
        "/categories?select=name,parent:parent_id(name),children:categories(name)&id=eq.2",
    )
    .await;
    assert_eq!(
        v,
        json!([{"name": "child a", "parent": {"name": "root"}, "children": [{"name": "grandchild"}]}])
    );
    // !inner drops parents without (filtered) children; rel=not.is.null does the same.
    let v = get_json(
        &app,
        "/authors?select=id,books!author_id!inner(id)&books.pages=gt.300",
    )
    .await;
    assert_eq!(v, json!([{"id": 1, "books": [{"id": 1}]}]));
    let v = get_json(
        &app,
        "/authors?select=id,books!author_id(id)&books.pages=gt.300&books=not.is.null",
    )
    .await;
    assert_eq!(ids(&v), vec![1]);
    // Embedded filters restrict only the embedded rows.
    let v = get_json(
        &app,
        "/authors?select=id,books!author_id(id)&books.id=eq.2&order=id",
    )
    .await;
    assert_eq!(
        v,
        json!([{"id": 1, "books": []}, {"id": 2, "books": [{"id": 2}]}, {"id": 3, "books": []}])
    );
    // Embedded or.
    let v = get_json(
        &app,
        "/authors?select=id,books!author_id(id)&books.or=(id.eq.2,id.eq.4)&id=eq.2&books.order=id",
    )
    .await;
    assert_eq!(v, json!([{"id": 2, "books": [{"id": 2}, {"id": 4}]}]));
    // Spreads: to-one lifts the columns, to-many makes each column an array (v13).
    let v = get_json(
        &app,
        "/books?select=title,...authors!author_id(author:name)&id=eq.2",
    )
    .await;
    assert_eq!(v, json!([{"title": "Solaris", "author": "Stanisław Lem"}]));
    let v = get_json(
        &app,
        "/authors?select=name,...books!author_id(title)&books.order=id&id=eq.2",
    )
    .await;
    assert_eq!(
        v,
        json!([{"name": "Stanisław Lem", "title": ["Solaris", "The Cyberiad"]}])
    );
    // Views keep their base table's relationships.
    let v = get_json(&app, "/book_titles?select=title,authors(name)&id=eq.1").await;
    assert_eq!(
        v,
        json!([{"title": "The Dispossessed", "authors": {"name": "Ursula K. Le Guin"}}])
    );
    // A computed relationship (`top_book(authors) returns setof books rows 1`) is to-one.
    let v = get_json(&app, "/authors?select=name,top_book(title)&id=eq.2").await;
    assert_eq!(
        v,
        json!([{"name": "Stanisław Lem", "top_book": {"title": "Solaris"}}])
    );
    // Ordering by a to-one embed's column.
    let v = get_json(
        &app,
        "/books?select=id,authors!author_id(name)&order=authors(name).desc,id",
    )
    .await;
    assert_eq!(ids(&v), vec![1, 2, 4, 3]);
    // The legacy `rel(count)`.
    let v = get_json(&app, "/authors?select=id,books!author_id(count)&id=eq.2").await;
    assert_eq!(v, json!([{"id": 2, "books": [{"count": 2}]}]));
}

#[tokio::test]
async fn every_filter_operator() {
    let app = app().await;
    let cases: &[(&str, &[i64])] = &[
        ("id=eq.2", &[2]),
        ("id=neq.2", &[1, 3, 4]),
        ("pages=gt.264", &[1]),
        ("pages=gte.264", &[1, 3]),
        ("pages=lt.264", &[2]),
        ("pages=lte.264", &[2, 3]),
        ("title=like.*the*", &[]),
        ("title=like.The*", &[1, 4]),
        ("title=ilike.*the*", &[1, 4]),
        ("title=match.^S", &[2]),
        ("title=imatch.^s", &[2]),
        ("id=in.(1,3)", &[1, 3]),
        ("title=in.(\"Solaris\",\"Kindred\")", &[2, 3]),
        ("id=in.()", &[]),
        ("pages=is.null", &[4]),
        ("pages=not.is.null", &[1, 2, 3]),
        ("pages=is.not_null", &[1, 2, 3]),
        ("price=isdistinct.9.99", &[2, 3, 4]),
        ("tags=cs.{classic}", &[1, 2]),
        ("tags=cd.{classic,ocean,utopia}", &[1, 2, 3]),
        ("tags=ov.{humor,ocean}", &[2, 4]),
        ("meta=cs.{\"rating\":5}", &[1, 3]),
        ("period=sl.[1970,1971)", &[2, 4]),
        ("period=sr.[1970,1971)", &[1]),
        ("period=nxr.[1966,1971)", &[2, 4]),
        ("period=nxl.[1966,1971)", &[1]),
        ("period=adj.[1970,1974)", &[1, 4]),
        ("summary=fts.ocean", &[2]),
        ("summary=plfts.living ocean", &[2]),
        ("summary=phfts(english).living ocean", &[2]),
        ("summary=wfts(english).moon or ocean", &[1, 2]),
        ("title=fts(english).ocean", &[]),
        ("id=eq(any).{1,4}", &[1, 4]),
        ("id=gt(all).{1,2}", &[3, 4]),
        ("title=like(any).{Sol*,Kin*}", &[2, 3]),
        ("title=ilike(all).{*the*,*dis*}", &[1]),
        ("id=not.in.(1,2)", &[3, 4]),
        ("meta->>rating=eq.5", &[1, 3]),
        ("meta->rating=gt.4", &[1, 3]),
        ("meta->lang->>code=eq.pl", &[2]),
        ("mood=eq.happy", &[1, 4]),
        ("or=(id.eq.1,pages.is.null)", &[1, 4]),
        ("and=(id.gt.1,or(pages.lt.210,pages.is.null))", &[2, 4]),
        ("not.or=(id.eq.1,id.eq.2)", &[3, 4]),
        ("or=(and(id.gte.2,id.lte.3),tags.cs.{humor})", &[2, 3, 4]),
        ("id=gt.1&id=lt.4", &[2, 3]),
    ];
    for (filter, expected) in cases {
        let v = get_json(&app, &format!("/books?select=id&order=id&{filter}")).await;
        assert_eq!(ids(&v), expected.to_vec(), "filter {filter}");
    }
    // `+` in the query string is a space, as URLSearchParams sends it.
    let v = get_json(&app, "/books?select=id&summary=wfts.living+ocean").await;
    assert_eq!(ids(&v), vec![2]);
}

#[tokio::test]
async fn order_limit_offset_counts_and_ranges() {
    let app = app().await;
    let v = get_json(&app, "/books?select=id&order=pages.desc.nullslast,id").await;
    assert_eq!(ids(&v), vec![1, 3, 2, 4]);
    let v = get_json(&app, "/books?select=id&order=pages.asc.nullsfirst").await;
    assert_eq!(ids(&v), vec![4, 2, 3, 1]);
    let v = get_json(&app, "/books?select=id&order=meta->>rating.desc,id.asc").await;
    assert_eq!(ids(&v), vec![4, 1, 3, 2]);
    let v = get_json(&app, "/books?select=id&order=id&limit=2&offset=1").await;
    assert_eq!(ids(&v), vec![2, 3]);
    let r = call(
        &app,
        Method::GET,
        "/books?select=id&order=id&limit=2&offset=1",
        &app.service_role_key,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.header("content-range"), Some("1-2/4"));
    // Everything returned: 200 with the total.
    let r = call(
        &app,
        Method::GET,
        "/books?select=id",
        &app.service_role_key,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-range"), Some("0-3/4"));
    // HEAD: no body, the same headers.
    let r = call(
        &app,
        Method::HEAD,
        "/books?pages=gt.250",
        &app.service_role_key,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-range"), Some("0-1/2"));
    assert!(r.text.is_empty());
    // Planned and estimated counts give a number.
    for pref in ["count=planned", "count=estimated"] {
        let r = call(
            &app,
            Method::GET,
            "/books?select=id",
            &app.service_role_key,
            &[("prefer", pref)],
            None,
        )
        .await;
        let total = r
            .header("content-range")
            .and_then(|c| c.split('/').nth(1))
            .and_then(|t| t.parse::<i64>().ok());
        assert!(total.is_some(), "{pref}: {:?}", r.header("content-range"));
    }
    // Without a count the total is `*`; an empty page is `*/*`.
    let r = get(&app, "/books?select=id&id=eq.99").await;
    assert_eq!(r.header("content-range"), Some("*/*"));
    // An offset beyond the total is 416.
    let r = call(
        &app,
        Method::GET,
        "/books?offset=10",
        &app.service_role_key,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    insta::assert_json_snapshot!("offset_beyond_total", r.json());
    // limit=0 is valid.
    assert_eq!(get_json(&app, "/books?limit=0").await, json!([]));
}

#[tokio::test]
async fn media_types_single_object_csv_and_profiles() {
    let app = app().await;
    let single = [("accept", "application/vnd.pgrst.object+json")];
    let r = call(
        &app,
        Method::GET,
        "/authors?select=id,name&id=eq.1",
        &app.service_role_key,
        &single,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"id": 1, "name": "Ursula K. Le Guin"}));
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.pgrst.object+json; charset=utf-8")
    );
    let r = call(
        &app,
        Method::GET,
        "/authors",
        &app.service_role_key,
        &single,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    insta::assert_json_snapshot!("single_object_many_rows", r.json());
    // CSV.
    let r = call(
        &app,
        Method::GET,
        "/authors?order=id",
        &app.service_role_key,
        &[("accept", "text/csv")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    insta::assert_snapshot!("authors_csv", r.text);
    // Stripped nulls.
    let r = call(
        &app,
        Method::GET,
        "/authors?id=eq.3",
        &app.service_role_key,
        &[("accept", "application/vnd.pgrst.array+json;nulls=stripped")],
        None,
    )
    .await;
    assert_eq!(r.json(), json!([{"id": 3, "name": "Octavia Butler"}]));
    // Unknown media type and unknown profile.
    let r = call(
        &app,
        Method::GET,
        "/authors",
        &app.service_role_key,
        &[("accept", "text/html")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(r.json()["code"], "PGRST107");
    let r = call(
        &app,
        Method::GET,
        "/authors",
        &app.service_role_key,
        &[("accept-profile", "nope")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    insta::assert_json_snapshot!("unknown_profile", r.json());
    let r = call(
        &app,
        Method::GET,
        "/authors?select=id&id=eq.1",
        &app.service_role_key,
        &[("accept-profile", "public")],
        None,
    )
    .await;
    assert_eq!(r.header("content-profile"), Some("public"));
}

#[tokio::test]
async fn inserts_upserts_updates_and_deletes() {
    let app = app().await;
    let key = app.service_role_key.clone();
    let rep = [("prefer", "return=representation")];
    // Object insert, minimal by default.
    let r = call(
        &app,
        Method::POST,
        "/genres",
        &key,
        &[],
        Some(json!({"id": 10, "name": "horror"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.text.is_empty());
    // Array with columns=: missing keys are NULL, or the default with missing=default.
    let r = call(
        &app,
        Method::POST,
        "/authors?columns=\"name\",\"country\"&select=name,country",
        &key,
        &rep,
        Some(json!([{"name": "A", "country": "FR"}, {"name": "B"}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.json(),
        json!([{"name": "A", "country": "FR"}, {"name": "B", "country": null}])
    );
    let r = call(
        &app,
        Method::POST,
        "/books?columns=\"title\",\"mood\"&select=title,mood",
        &key,
        &[("prefer", "return=representation, missing=default")],
        Some(json!([{"title": "X", "mood": "sad"}, {"title": "Y"}])),
    )
    .await;
    assert_eq!(
        r.json(),
        json!([{"title": "X", "mood": "sad"}, {"title": "Y", "mood": "neutral"}])
    );
    // Headers-only gives the Location of the new row.
    let r = call(
        &app,
        Method::POST,
        "/genres",
        &key,
        &[("prefer", "return=headers-only")],
        Some(json!({"id": 11, "name": "poetry"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("location"), Some("/genres?id=eq.11"));
    // Count on insert.
    let r = call(
        &app,
        Method::POST,
        "/genres",
        &key,
        &[("prefer", "count=exact")],
        Some(json!([{"id": 12, "name": "a"}, {"id": 13, "name": "b"}])),
    )
    .await;
    assert_eq!(r.header("content-range"), Some("*/2"));
    // Upserts: merge (200 when nothing was inserted), ignore, on_conflict on a unique column.
    let r = call(
        &app,
        Method::POST,
        "/genres",
        &key,
        &[(
            "prefer",
            "return=representation, resolution=merge-duplicates",
        )],
        Some(json!({"id": 10, "name": "horror!"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!([{"id": 10, "name": "horror!"}]));
    let r = call(
        &app,
        Method::POST,
        "/genres",
        &key,
        &[(
            "prefer",
            "return=representation, resolution=ignore-duplicates",
        )],
        Some(json!([{"id": 10, "name": "ignored"}, {"id": 14, "name": "new"}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json(), json!([{"id": 14, "name": "new"}]));
    let r = call(
        &app,
        Method::POST,
        "/book_details?on_conflict=isbn",
        &key,
        &[(
            "prefer",
            "return=representation, resolution=merge-duplicates",
        )],
        Some(json!({"book_id": 3, "isbn": "978-0156027601"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!([{"book_id": 3, "isbn": "978-0156027601"}]));
    // Update with filters and representation (with an embed); 204 without.
    let r = call(
        &app,
        Method::PATCH,
        "/books?id=eq.2&select=id,pages,authors!author_id(name)",
        &key,
        &rep,
        Some(json!({"pages": 205})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!([{"id": 2, "pages": 205, "authors": {"name": "Stanisław Lem"}}])
    );
    let r = call(
        &app,
        Method::PATCH,
        "/books?id=in.(1,2)",
        &key,
        &[("prefer", "count=exact")],
        Some(json!({"pages": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("content-range"), Some("0-1/2"));
    // Delete.
    let r = call(
        &app,
        Method::DELETE,
        "/genres?id=gte.12&select=id&order=id",
        &key,
        &rep,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ids(&r.json()), vec![12, 13, 14]);
    let r = call(&app, Method::DELETE, "/genres?id=eq.11", &key, &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Unfiltered update/delete is refused, as pg-safeupdate does on Supabase.
    let r = call(&app, Method::DELETE, "/genres", &key, &[], None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("delete_without_filter", r.json());
    // tx=rollback answers as usual and keeps nothing.
    let r = call(
        &app,
        Method::POST,
        "/genres",
        &key,
        &[("prefer", "return=representation, tx=rollback")],
        Some(json!({"id": 20, "name": "ghost"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json(), json!([{"id": 20, "name": "ghost"}]));
    assert_eq!(get_json(&app, "/genres?id=eq.20").await, json!([]));
    // max-affected with handling=strict.
    let r = call(
        &app,
        Method::DELETE,
        "/book_genres?genre_id=eq.1",
        &key,
        &[("prefer", "handling=strict, max-affected=1")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("max_affected_exceeded", r.json());
    assert_eq!(
        get_json(&app, "/book_genres?genre_id=eq.1&select=book_id")
            .await
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // A single object on a write affecting several rows: 406 and rolled back.
    let r = call(
        &app,
        Method::PATCH,
        "/books?id=in.(3,4)",
        &key,
        &[
            ("accept", "application/vnd.pgrst.object+json"),
            ("prefer", "return=representation"),
        ],
        Some(json!({"pages": 2})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        get_json(&app, "/books?id=eq.3&select=pages").await,
        json!([{"pages": 264}])
    );
}

#[tokio::test]
async fn rpc_of_every_shape() {
    let app = app().await;
    let key = app.service_role_key.clone();
    let post = |path: &'static str, body: Value| {
        let app = &app;
        let key = key.clone();
        async move { call(app, Method::POST, path, &key, &[], Some(body)).await }
    };
    assert_eq!(
        post("/rpc/add", json!({"a": 1, "b": 2})).await.json(),
        json!(3)
    );
    // Overloads are chosen by argument names.
    assert_eq!(
        post("/rpc/add", json!({"a": 1, "b": 2, "c": 3}))
            .await
            .json(),
        json!(6)
    );
    assert_eq!(
        post("/rpc/hello", json!({})).await.json(),
        json!("hello world")
    );
    assert_eq!(
        get_json(&app, "/rpc/hello?name=you").await,
        json!("hello you")
    );
    let v = get_json(&app, "/rpc/books_by?author=2&select=id,title").await;
    assert_eq!(
        v,
        json!([{"id": 2, "title": "Solaris"}, {"id": 4, "title": "The Cyberiad"}])
    );
    // Filters, order and embeds on a set-returning function.
    let v = get_json(
        &app,
        "/rpc/books_by?author=2&select=id,authors!author_id(name)&pages=gt.100&order=id.desc",
    )
    .await;
    assert_eq!(v, json!([{"id": 2, "authors": {"name": "Stanisław Lem"}}]));
    assert_eq!(get_json(&app, "/rpc/numbers?n=3").await, json!([1, 2, 3]));
    assert_eq!(
        get_json(&app, "/rpc/first_author?select=name").await,
        json!({"name": "Ursula K. Le Guin"})
    );
    assert_eq!(
        get_json(&app, "/rpc/pair").await,
        json!({"x": 1, "y": "one"})
    );
    let r = post("/rpc/noop", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // A single unnamed json argument takes the whole body.
    assert_eq!(
        post("/rpc/echo_json", json!({"any": [1, 2]})).await.json(),
        json!({"any": [1, 2]})
    );
    // A volatile function: POST writes; GET runs read-only and fails with 405.
    assert_eq!(
        post("/rpc/touch_genre", json!({"new_id": 30})).await.json(),
        json!(30)
    );
    let r = get(&app, "/rpc/touch_genre?new_id=31").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["code"], "25006");
    // Counts.
    let r = call(
        &app,
        Method::GET,
        "/rpc/numbers?n=5&limit=2",
        &key,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.header("content-range"), Some("0-1/5"));
    let r = call(&app, Method::PATCH, "/rpc/add", &key, &[], None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["code"], "PGRST101");
}

#[tokio::test]
async fn postgrest_error_envelopes() {
    let app = app().await;
    let key = app.service_role_key.clone();
    let mut errors = serde_json::Map::new();
    let mut record = |name: &str, r: Reply| {
        errors.insert(
            name.to_string(),
            json!({"status": r.status.as_u16(), "body": r.json()}),
        );
    };
    record("PGRST100_filter", get(&app, "/books?id=noop.1").await);
    record("PGRST100_select", get(&app, "/books?select=id,(").await);
    record(
        "PGRST102_invalid_json",
        raw(
            &app,
            Method::POST,
            "/genres",
            &key,
            "application/json",
            "{oops",
        )
        .await,
    );
    record(
        "PGRST102_keys_must_match",
        call(
            &app,
            Method::POST,
            "/genres",
            &key,
            &[],
            Some(json!([{"id": 1}, {"name": "x"}])),
        )
        .await,
    );
    record(
        "PGRST108",
        get(&app, "/books?select=id&authors.name=eq.x").await,
    );
    record(
        "PGRST200",
        get(&app, "/books?select=id,genres_nope(*)").await,
    );
    record("PGRST201", get(&app, "/books?select=id,authors(*)").await);
    record("PGRST202", get(&app, "/rpc/add?a=1").await);
    record(
        "PGRST204",
        call(
            &app,
            Method::POST,
            "/genres",
            &key,
            &[],
            Some(json!({"nope": 1})),
        )
        .await,
    );
    record("PGRST205", get(&app, "/bookz").await);
    record(
        "23505",
        call(
            &app,
            Method::POST,
            "/genres",
            &key,
            &[],
            Some(json!({"id": 1, "name": "dup"})),
        )
        .await,
    );
    record(
        "23503",
        call(
            &app,
            Method::POST,
            "/book_genres",
            &key,
            &[],
            Some(json!({"book_id": 1, "genre_id": 99})),
        )
        .await,
    );
    record("22P02", get(&app, "/books?id=eq.abc").await);
    record(
        "P0001",
        call(
            &app,
            Method::POST,
            "/rpc/fail",
            &key,
            &[],
            Some(json!({"code": "P0001"})),
        )
        .await,
    );
    record(
        "PT402",
        call(
            &app,
            Method::POST,
            "/rpc/fail",
            &key,
            &[],
            Some(json!({"code": "PT402"})),
        )
        .await,
    );
    let custom = call(
        &app,
        Method::POST,
        "/rpc/fail",
        &key,
        &[],
        Some(json!({"code": "PGRST"})),
    )
    .await;
    assert_eq!(custom.header("x-teapot"), Some("yes"));
    record("PGRST_custom", custom);
    let anon = app.anon_key.clone();
    record(
        "42501_anon",
        call(&app, Method::GET, "/secrets", &anon, &[], None).await,
    );
    let user = app.user_token(ALICE, json!({}));
    record(
        "42501_authenticated",
        call(&app, Method::GET, "/secrets", &user, &[], None).await,
    );
    record(
        "RLS_insert_violation",
        call(
            &app,
            Method::POST,
            "/notes",
            &user,
            &[],
            Some(json!({"owner": BOB, "body": "x"})),
        )
        .await,
    );
    insta::assert_json_snapshot!("error_envelopes", Value::Object(errors));
    // Ambiguous overloads: PGRST203.
    app.db
        .batch_execute("create function public.amb(x int) returns int language sql as 'select 1'; create function public.amb(x text) returns int language sql as 'select 2';")
        .await
        .expect("ddl");
    app.reload_schema().await.expect("reload");
    let r = call(
        &app,
        Method::POST,
        "/rpc/amb",
        &key,
        &[],
        Some(json!({"x": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(r.json()["code"], "PGRST203");
    // Every error keeps the PostgREST headers.
    let r = get(&app, "/bookz").await;
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.header("proxy-status"), Some("PostgREST; error=PGRST205"));
}

#[tokio::test]
async fn rls_matrix_for_anon_two_users_and_service_role() {
    let app = app().await;
    let anon = app.anon_key.clone();
    let alice = app.user_token(ALICE, json!({}));
    let bob = app.user_token(BOB, json!({}));
    let service = app.service_role_key.clone();
    let read = |token: String| {
        let app = &app;
        async move {
            let r = call(
                app,
                Method::GET,
                "/notes?select=id&order=id",
                &token,
                &[],
                None,
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            ids(&r.json())
        }
    };
    // select
    assert_eq!(read(anon.clone()).await, vec![2]);
    assert_eq!(read(alice.clone()).await, vec![1, 2]);
    assert_eq!(read(bob.clone()).await, vec![2, 3]);
    assert_eq!(read(service.clone()).await, vec![1, 2, 3]);
    // rpc runs under the same policies.
    let r = call(
        &app,
        Method::GET,
        "/rpc/my_notes?select=id",
        &bob,
        &[],
        None,
    )
    .await;
    assert_eq!(ids(&r.json()), vec![2, 3]);
    // insert: anon has no privilege (401), a user only for themselves.
    let body = |owner: &str| Some(json!({"owner": owner, "body": "new"}));
    let r = call(&app, Method::POST, "/notes", &anon, &[], body(ALICE)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&app, Method::POST, "/notes", &alice, &[], body(BOB)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &app,
        Method::POST,
        "/notes?select=id,owner",
        &alice,
        &[("prefer", "return=representation")],
        Some(json!({"body": "mine by default"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()[0]["owner"], ALICE);
    let new_id = r.json()[0]["id"].as_i64().expect("id");
    // update: bob cannot touch alice's rows (0 rows), alice can.
    let patch = Some(json!({"body": "edited"}));
    let r = call(
        &app,
        Method::PATCH,
        "/notes?id=eq.1",
        &bob,
        &[("prefer", "count=exact")],
        patch.clone(),
    )
    .await;
    assert_eq!(r.header("content-range"), Some("*/0"));
    let r = call(
        &app,
        Method::PATCH,
        "/notes?id=eq.1",
        &alice,
        &[("prefer", "count=exact")],
        patch.clone(),
    )
    .await;
    assert_eq!(r.header("content-range"), Some("0-0/1"));
    // upsert of someone else's row: the update is invisible to bob, so it conflicts.
    let r = call(
        &app,
        Method::POST,
        "/notes",
        &bob,
        &[("prefer", "resolution=merge-duplicates")],
        Some(json!({"id": 1, "owner": BOB, "body": "stolen"})),
    )
    .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    let r = call(
        &app,
        Method::POST,
        "/notes?select=id,body",
        &bob,
        &[(
            "prefer",
            "resolution=merge-duplicates, return=representation",
        )],
        Some(json!({"id": 3, "owner": BOB, "body": "bob edited"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!([{"id": 3, "body": "bob edited"}]));
    // delete: only own rows.
    let r = call(
        &app,
        Method::DELETE,
        "/notes?id=in.(1,3)",
        &bob,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.header("content-range"), Some("*/1"));
    assert_eq!(read(service.clone()).await, vec![1, 2, new_id]);
    let r = call(
        &app,
        Method::DELETE,
        "/notes?id=eq.1",
        &service,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.header("content-range"), Some("*/1"));
    // anon has the privilege but no delete policy: nothing is deleted.
    let r = call(
        &app,
        Method::DELETE,
        "/notes?id=eq.2",
        &anon,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("content-range"), Some("*/0"));
}

#[tokio::test]
async fn schema_reload_on_notify() {
    let app = app().await;
    let r = get(&app, "/fresh").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    app.db
        .batch_execute(
            "create table public.fresh (id int primary key); insert into public.fresh values (1);
             notify pgrst, 'reload schema';",
        )
        .await
        .expect("ddl");
    // The listener reloads in the background: poll for the table rather than sleep.
    wait_until("the notified reload", Duration::from_secs(10), || async {
        get(&app, "/fresh").await.status == StatusCode::OK
    })
    .await
    .expect("reload");
    assert_eq!(get_json(&app, "/fresh").await, json!([{"id": 1}]));
}

#[tokio::test]
async fn openapi_root_is_swagger_2() {
    let app = app().await;
    let r = call(
        &app,
        Method::GET,
        "/",
        &app.anon_key,
        &[("accept", "application/openapi+json")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        Some("application/openapi+json; charset=utf-8")
    );
    let doc = r.json();
    assert_eq!(doc["swagger"], "2.0");
    assert!(doc["info"]["version"]
        .as_str()
        .is_some_and(|v| v.starts_with("13.")));
    assert!(doc["paths"]["/books"]["get"].is_object());
    assert!(doc["paths"]["/rpc/add"]["post"].is_object());
    insta::assert_json_snapshot!("openapi_genres_definition", doc["definitions"]["genres"]);
}
