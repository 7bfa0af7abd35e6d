//! `/rest/v1` beyond what supabase-js sends, against PostgREST v13/v14 semantics: `Range`
//! headers, `PUT`, `Prefer: timezone`, the `response.headers` / `response.status` GUCs,
//! `db-pre-request`, CSV and form bodies, `Preference-Applied`, `Content-Location`,
//! relationships through views that rename their columns, and `db-aggregates-enabled`.

use bucketbase_tests::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const FIXTURE: &str = r#"
create table public.items (id int primary key, name text);
insert into public.items select g, 'item ' || g from generate_series(1, 10) g;
create table public.parents (pid int primary key, title text);
create table public.children (cid int primary key, parent_id int references public.parents (pid), label text);
insert into public.parents values (1, 'one'), (2, 'two');
insert into public.children values (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'c');
create view public.parents_v as select pid as parent_key, title as heading from public.parents;
create view public.children_v as select cid as child_key, parent_id as owner, label from public.children;
create function public.teapot() returns text language plpgsql as $$
begin
  perform set_config('response.status', '418', true);
  perform set_config('response.headers', '[{"X-Brew": "tea"}, {"X-Brew": "more"}]', true);
  return 'short and stout';
end $$;
create function public.bad_status() returns int language plpgsql as $$
begin perform set_config('response.status', 'abc', true); return 1; end $$;
create function public.bad_headers() returns int language plpgsql as $$
begin perform set_config('response.headers', '{"X-A": "b"}', true); return 1; end $$;
create function public.show_tz() returns text language sql stable as $$ select current_setting('timezone') $$;
create function public.check_request() returns void language plpgsql as $$
begin
  if current_setting('request.headers', true)::json->>'x-block' = 'yes' then
    raise sqlstate 'PT403' using message = 'blocked by pre-request';
  end if;
  perform set_config('response.headers', '[{"X-Pre": "ran"}]', true);
end $$;
grant all on all tables in schema public to anon, authenticated, service_role;
grant execute on all functions in schema public to anon, authenticated, service_role;
"#;

async fn app() -> TestApp {
    TestApp::builder().sql(FIXTURE).spawn().await.expect("app")
}

/// `method path` as service_role, with extra headers and an optional raw body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut req = app.request(method, &format!("/rest/v1{path}"), &app.service_role_key);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    Reply::read(req.send().await.expect("request")).await
}

fn ids(reply: &Reply) -> Vec<i64> {
    reply
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", reply.text))
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect()
}

#[tokio::test]
async fn range_header_pages_gets_and_intersects_with_limit() {
    let app = app().await;
    let r = call(
        &app,
        Method::GET,
        "/items?select=id&order=id",
        &[("range", "0-2"), ("range-unit", "items")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ids(&r), vec![1, 2, 3]);
    assert_eq!(r.header("content-range"), Some("0-2/*"));

    let r = call(
        &app,
        Method::GET,
        "/items?select=id&order=id&offset=2&limit=4",
        &[("range", "3-")],
        None,
    )
    .await;
    // [3, ∞) ∩ [2, 5]
    assert_eq!(ids(&r), vec![4, 5, 6]);
    assert_eq!(r.header("content-range"), Some("3-5/*"));

    let r = call(
        &app,
        Method::GET,
        "/items?select=id&order=id",
        &[("range", "8-20"), ("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(ids(&r), vec![9, 10]);
    assert_eq!(r.header("content-range"), Some("8-9/10"));

    // Not a range PostgREST recognises: all rows.
    let r = call(
        &app,
        Method::GET,
        "/items?select=id",
        &[("range", "items=0-1")],
        None,
    )
    .await;
    assert_eq!(ids(&r).len(), 10);

    let r = call(&app, Method::GET, "/items", &[("range", "5-2")], None).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        r.json(),
        json!({"code": "PGRST103", "message": "Requested range not satisfiable",
               "details": "The lower boundary must be lower than or equal to the upper boundary in the Range header.",
               "hint": null})
    );
    let r = call(
        &app,
        Method::GET,
        "/items?offset=5&limit=2",
        &[("range", "0-1")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        r.json()["details"],
        "Limit should be greater than or equal to zero."
    );

    // Only GET honours the header.
    let r = call(
        &app,
        Method::DELETE,
        "/items?id=eq.10",
        &[("range", "5-2")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn put_upserts_one_row_by_primary_key() {
    let app = app().await;
    let json = ("content-type", "application/json");
    let repr = ("prefer", "return=representation");
    let r = call(
        &app,
        Method::PUT,
        "/items?id=eq.11",
        &[json, repr],
        Some(r#"{"id": 11, "name": "new"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json(), json!([{"id": 11, "name": "new"}]));
    assert_eq!(
        r.header("preference-applied"),
        Some("return=representation")
    );
    assert_eq!(r.header("content-range"), None);

    let r = call(
        &app,
        Method::PUT,
        "/items?id=eq.11",
        &[json, repr],
        Some(r#"{"id": 11, "name": "newer"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!([{"id": 11, "name": "newer"}]));

    let r = call(
        &app,
        Method::PUT,
        "/items?id=eq.1",
        &[json],
        Some(r#"{"id": 1, "name": "first"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.text, "");
    let r = call(&app, Method::GET, "/items?id=eq.1", &[], None).await;
    assert_eq!(r.json(), json!([{"id": 1, "name": "first"}]));

    let r = call(
        &app,
        Method::PUT,
        "/items?id=eq.2",
        &[json],
        Some(r#"{"id": 3, "name": "x"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"code": "PGRST115", "message": "Payload values do not match URL in primary key column(s)", "details": null, "hint": null})
    );
    let r = call(&app, Method::GET, "/items?id=eq.3", &[], None).await;
    assert_eq!(
        r.json(),
        json!([{"id": 3, "name": "item 3"}]),
        "nothing written"
    );

    for path in [
        "/items?name=eq.x",
        "/items?id=gt.2",
        "/items",
        "/items?id=eq.2&name=eq.x",
    ] {
        let r = call(&app, Method::PUT, path, &[json], Some(r#"{"id": 2}"#)).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(
            r.json(),
            json!({"code": "PGRST105", "message": "Filters must include all and only primary key columns with 'eq' operators", "details": null, "hint": null})
        );
    }
    let r = call(
        &app,
        Method::PUT,
        "/items?id=eq.2&limit=1",
        &[json],
        Some(r#"{"id": 2}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], "PGRST114");
    assert_eq!(
        r.json()["message"],
        "limit/offset querystring parameters are not allowed for PUT"
    );
}

#[tokio::test]
async fn prefer_timezone_sets_the_session_zone() {
    let app = app().await;
    let r = call(
        &app,
        Method::GET,
        "/rpc/show_tz",
        &[("prefer", "timezone=America/Los_Angeles")],
        None,
    )
    .await;
    assert_eq!(r.json(), json!("America/Los_Angeles"));
    assert_eq!(
        r.header("preference-applied"),
        Some("timezone=America/Los_Angeles")
    );

    let r = call(
        &app,
        Method::GET,
        "/rpc/show_tz",
        &[("prefer", "timezone=Mars/Olympus")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.json(), json!("Mars/Olympus"));
    assert_eq!(r.header("preference-applied"), None);

    let r = call(
        &app,
        Method::GET,
        "/rpc/show_tz",
        &[("prefer", "handling=strict, timezone=Mars/Olympus")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"code": "PGRST122", "message": "Invalid preferences given with handling=strict",
               "details": "Invalid preferences: timezone=Mars/Olympus", "hint": null})
    );
}

#[tokio::test]
async fn response_gucs_override_status_and_headers() {
    let app = app().await;
    let r = call(&app, Method::POST, "/rpc/teapot", &[], None).await;
    assert_eq!(r.status.as_u16(), 418);
    assert_eq!(r.json(), json!("short and stout"));
    let brew: Vec<&str> = r
        .headers
        .get_all("x-brew")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(brew, vec!["tea", "more"]);

    let r = call(&app, Method::POST, "/rpc/bad_status", &[], None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json(),
        json!({"code": "PGRST112", "message": "response.status guc must be a valid status code", "details": null, "hint": null})
    );
    let r = call(&app, Method::POST, "/rpc/bad_headers", &[], None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["code"], "PGRST111");
    assert_eq!(
        r.json()["message"],
        "response.headers guc must be a JSON array composed of objects with a single key and a string value"
    );
}

#[tokio::test]
async fn pre_request_function_runs_before_the_statement() {
    let app = TestApp::builder()
        .sql(FIXTURE)
        .env("PGRST_DB_PRE_REQUEST", "public.check_request")
        .spawn()
        .await
        .expect("app");
    let r = call(&app, Method::GET, "/items?id=eq.1", &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-pre"), Some("ran"));
    let r = call(
        &app,
        Method::GET,
        "/items?id=eq.1",
        &[("x-block", "yes")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["message"], "blocked by pre-request");
    let r = call(
        &app,
        Method::POST,
        "/items",
        &[("x-block", "yes"), ("content-type", "application/json")],
        Some(r#"{"id": 50}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&app, Method::GET, "/items?id=eq.50", &[], None).await;
    assert_eq!(r.json(), json!([]), "nothing written");
}

#[tokio::test]
async fn csv_and_form_bodies_insert() {
    let app = app().await;
    let r = call(
        &app,
        Method::POST,
        "/items",
        &[
            ("content-type", "text/csv"),
            ("prefer", "return=representation"),
        ],
        Some("id,name\n20,\"twenty, quoted\"\n21,NULL\r\n22,\"NULL\"\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.json(),
        json!([{"id": 20, "name": "twenty, quoted"}, {"id": 21, "name": null}, {"id": 22, "name": "NULL"}])
    );
    let r = call(
        &app,
        Method::POST,
        "/items",
        &[("content-type", "text/csv")],
        Some("id,name\n23\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], "PGRST102");

    let r = call(
        &app,
        Method::POST,
        "/items",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("prefer", "return=representation"),
        ],
        Some("id=30&name=form+value%21"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json(), json!([{"id": 30, "name": "form value!"}]));
}

#[tokio::test]
async fn preference_applied_and_content_location() {
    let app = app().await;
    let r = call(
        &app,
        Method::GET,
        "/items?select=id,name&id=eq.1&order=id",
        &[("prefer", "count=exact, return=representation, tx=commit")],
        None,
    )
    .await;
    assert_eq!(
        r.header("content-location"),
        Some("/items?id=eq.1&order=id&select=id%2Cname")
    );
    assert_eq!(
        r.header("preference-applied"),
        Some("count=exact, tx=commit")
    );
    let r = call(&app, Method::GET, "/items", &[], None).await;
    assert_eq!(r.header("content-location"), Some("/items"));
    assert_eq!(r.header("preference-applied"), None);

    let r = call(
        &app,
        Method::POST,
        "/items",
        &[("content-type", "application/json"), ("prefer", "return=minimal, resolution=merge-duplicates, missing=default, handling=lenient, bogus")],
        Some(r#"{"id": 1, "name": "merged"}"#),
    )
    .await;
    // Every row existed: merged, hence 200.
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("preference-applied"),
        Some("resolution=merge-duplicates, missing=default, return=minimal, handling=lenient")
    );
    let r = call(
        &app,
        Method::DELETE,
        "/items?id=eq.1",
        &[("prefer", "return=minimal, missing=default, max-affected=5")],
        None,
    )
    .await;
    assert_eq!(r.header("preference-applied"), Some("return=minimal"));
    let r = call(
        &app,
        Method::DELETE,
        "/items?id=eq.2",
        &[("prefer", "handling=strict, max-affected=5")],
        None,
    )
    .await;
    assert_eq!(
        r.header("preference-applied"),
        Some("handling=strict, max-affected=5")
    );
}

#[tokio::test]
async fn embeds_through_views_with_renamed_columns() {
    let app = app().await;
    let r = call(
        &app,
        Method::GET,
        "/children_v?select=child_key,parents_v(heading)&order=child_key",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json(),
        json!([
            {"child_key": 10, "parents_v": {"heading": "one"}},
            {"child_key": 11, "parents_v": {"heading": "one"}},
            {"child_key": 12, "parents_v": {"heading": "two"}}
        ])
    );
    let r = call(
        &app,
        Method::GET,
        "/parents_v?select=parent_key,children_v(label)&parent_key=eq.1&children_v.order=label",
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.json(),
        json!([{"parent_key": 1, "children_v": [{"label": "a"}, {"label": "b"}]}])
    );
    // A view to its base table and back.
    let r = call(
        &app,
        Method::GET,
        "/children_v?select=label,parents(title)&child_key=eq.12",
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.json(),
        json!([{"label": "c", "parents": {"title": "two"}}])
    );
    // The renamed key makes the view's primary key.
    let r = call(
        &app,
        Method::GET,
        "/parents_v?select=heading,children(cid)&parent_key=eq.2",
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.json(),
        json!([{"heading": "two", "children": [{"cid": 12}]}])
    );
}

#[tokio::test]
async fn openapi_31_document_describes_the_same_schema() {
    let app = TestApp::builder()
        .sql(
            "create table public.gadgets (id bigint primary key, name text not null);
             grant all on public.gadgets to anon;",
        )
        .spawn()
        .await
        .expect("app");
    let res = app
        .request(Method::GET, "/rest/v1/openapi.json", &app.anon_key)
        .send()
        .await
        .expect("request");
    let reply = Reply::read(res).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/gadgets"]["get"].is_object());
    assert_eq!(
        doc["paths"]["/gadgets"]["post"]["requestBody"]["$ref"],
        "#/components/requestBodies/body.gadgets"
    );
    assert_eq!(
        doc["components"]["schemas"]["gadgets"]["required"],
        json!(["id", "name"])
    );
    assert!(!reply.text.contains("#/definitions/"));
}

#[tokio::test]
async fn aggregates_follow_pgrst_db_aggregates_enabled() {
    // Off by default, as PostgREST: PGRST123.
    let app = app().await;
    let r = call(&app, Method::GET, "/items?select=count()", &[], None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json()["code"], "PGRST123");

    // On through the environment.
    let app = TestApp::builder()
        .sql(FIXTURE)
        .env("PGRST_DB_AGGREGATES_ENABLED", "true")
        .spawn()
        .await
        .expect("app");
    let r = call(
        &app,
        Method::GET,
        "/items?select=total:id.sum(),count()&id=lte.4",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!([{"total": 10, "count": 4}]));

    // The in-database setting wins over the environment (set for this test's database only:
    // roles are shared by the tests' cluster).
    app.db
        .batch_execute(
            "do $$ begin execute format('alter role authenticator in database %I \
             set pgrst.db_aggregates_enabled = ''false''', current_database()); end $$",
        )
        .await
        .expect("alter role");
    app.reload_schema().await.expect("reload");
    let r = call(&app, Method::GET, "/items?select=count()", &[], None).await;
    assert_eq!(r.json()["code"], "PGRST123", "{}", r.text);
}

#[tokio::test]
async fn not_found_hints_use_postgrests_fuzzy_search() {
    let app = app().await;
    // Close enough (Levenshtein similarity 0.8 ≥ 0.75): a hint.
    let r = call(&app, Method::GET, "/itemz", &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["code"], "PGRST205");
    assert_eq!(
        r.json()["hint"],
        "Perhaps you meant the table 'public.items'"
    );
    // Too far (0.33): no hint.
    let r = call(&app, Method::GET, "/itxxxx", &[], None).await;
    assert_eq!(r.json()["hint"], serde_json::Value::Null);
    // Functions: the same threshold.
    let r = call(&app, Method::POST, "/rpc/teapott", &[], Some("{}")).await;
    assert_eq!(r.json()["code"], "PGRST202");
    assert_eq!(
        r.json()["hint"],
        "Perhaps you meant to call the function public.teapot"
    );
    // A relationship target close to the embedded name.
    let r = call(&app, Method::GET, "/parents?select=*,child(*)", &[], None).await;
    assert_eq!(r.json()["code"], "PGRST200");
    assert_eq!(
        r.json()["hint"],
        "Perhaps you meant 'children' instead of 'child'."
    );
}
