//! What the official storage-js suite (supabase-js `packages/core/storage-js/test`, run by
//! `scripts/storage-js-suite`) showed `/storage/v1` answering differently from upstream
//! v1.70.6, each pinned here as upstream answers it: `list` takes a prefix without its
//! trailing slash as the folder; list-v2 entries carry the `key` of their level, folders as
//! `{key, name: "<folder>/"}`; pages sorted by time never repeat an entry that shares the
//! cursor's millisecond; an upload without metadata has `{}` as its user metadata; the public
//! routes answer `NoSuchBucket` for a bucket that is not public; and bad tokens are refused in
//! the words of `jose`, upstream's JWT library.

use bucketbase_tests::{Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req = app.request(method, &format!("/storage/v1{path}"), &app.service_role_key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    Reply::read(req.send().await.expect("request")).await
}

async fn upload(app: &TestApp, path: &str, body: &str) -> Reply {
    Reply::read(
        app.request(
            Method::POST,
            &format!("/storage/v1/object/{path}"),
            &app.service_role_key,
        )
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .expect("upload"),
    )
    .await
}

/// A server with bucket `docs` holding `top.txt`, `testpath/a.txt` and `testpath/sub/b.txt`.
async fn with_docs() -> TestApp {
    let app = TestApp::builder().spawn().await.expect("app");
    let r = call(&app, Method::POST, "/bucket", Some(json!({"name": "docs"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for path in [
        "docs/top.txt",
        "docs/testpath/a.txt",
        "docs/testpath/sub/b.txt",
    ] {
        let r = upload(&app, path, "x").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    app
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn list_takes_a_prefix_without_its_slash_as_the_folder() {
    let app = with_docs().await;
    for prefix in ["testpath", "testpath/"] {
        let r = call(
            &app,
            Method::POST,
            "/object/list/docs",
            Some(json!({"prefix": prefix})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let entries: Vec<(String, bool)> = r
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|e| (e["name"].as_str().unwrap_or("").into(), e["id"].is_string()))
            .collect();
        assert_eq!(
            entries,
            [("a.txt".to_string(), true), ("sub".to_string(), false)],
            "prefix {prefix:?}"
        );
    }
}

#[tokio::test]
async fn list_v2_entries_carry_the_key_of_their_level() {
    let app = with_docs().await;
    let r = call(
        &app,
        Method::POST,
        "/object/list-v2/docs",
        Some(json!({"with_delimiter": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page = r.json();
    assert_eq!(
        page["folders"],
        json!([{"key": "testpath", "name": "testpath/", "id": null, "updated_at": null,
                "created_at": null, "last_accessed_at": null, "metadata": null}])
    );
    let top = &page["objects"][0];
    assert_eq!(
        (&top["key"], &top["name"]),
        (&json!("top.txt"), &json!("top.txt"))
    );
    assert_eq!(
        sorted_keys(top),
        [
            "created_at",
            "id",
            "key",
            "last_accessed_at",
            "metadata",
            "name",
            "updated_at"
        ]
    );

    // One level down, the key is the segment after the prefix.
    let r = call(
        &app,
        Method::POST,
        "/object/list-v2/docs",
        Some(json!({"with_delimiter": true, "prefix": "testpath/"})),
    )
    .await;
    let page = r.json();
    assert_eq!(
        (&page["folders"][0]["key"], &page["folders"][0]["name"]),
        (&json!("sub"), &json!("testpath/sub/")),
        "{page}"
    );
    assert_eq!(
        (&page["objects"][0]["key"], &page["objects"][0]["name"]),
        (&json!("a.txt"), &json!("testpath/a.txt")),
        "{page}"
    );

    // Without a delimiter: full names, upstream's six columns.
    let r = call(
        &app,
        Method::POST,
        "/object/list-v2/docs",
        Some(json!({"prefix": "testpath/"})),
    )
    .await;
    let page = r.json();
    let names: Vec<&str> = page["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, ["testpath/a.txt", "testpath/sub/b.txt"]);
    assert_eq!(
        sorted_keys(&page["objects"][0]),
        [
            "created_at",
            "id",
            "last_accessed_at",
            "metadata",
            "name",
            "updated_at"
        ]
    );
}

/// Every name list-v2 returns for `body`, page by page (two entries a page).
async fn pages(app: &TestApp, body: Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut b = body.clone();
        b["limit"] = json!(2);
        if let Some(c) = &cursor {
            b["cursor"] = json!(c);
        }
        let r = call(app, Method::POST, "/object/list-v2/docs", Some(b)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        for kind in ["folders", "objects"] {
            for e in page[kind].as_array().expect("entries") {
                names.push(e["name"].as_str().expect("name").to_string());
            }
        }
        if page["hasNext"] != json!(true) {
            return names;
        }
        cursor = page["nextCursor"].as_str().map(str::to_string);
    }
    panic!("more than 20 pages: {names:?}");
}

#[tokio::test]
async fn list_v2_pages_by_time_never_repeat_an_entry_of_the_cursors_millisecond() {
    let app = TestApp::builder().spawn().await.expect("app");
    let r = call(&app, Method::POST, "/bucket", Some(json!({"name": "docs"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Five objects created within one millisecond, a folder's object a millisecond before.
    app.db
        .batch_execute(
            "insert into storage.objects (bucket_id, name, created_at, updated_at, metadata, version) values \
             ('docs', 'p/dir/x.txt', '2024-01-01 00:00:00.000100+00', '2024-01-01 00:00:00.000100+00', '{}', 'v'), \
             ('docs', 'p/zz', '2024-01-01 00:00:00.001100+00', '2024-01-01 00:00:00.001100+00', '{}', 'v'), \
             ('docs', 'p/bb', '2024-01-01 00:00:00.001200+00', '2024-01-01 00:00:00.001200+00', '{}', 'v'), \
             ('docs', 'p/xx', '2024-01-01 00:00:00.001300+00', '2024-01-01 00:00:00.001300+00', '{}', 'v'), \
             ('docs', 'p/ww', '2024-01-01 00:00:00.001400+00', '2024-01-01 00:00:00.001400+00', '{}', 'v'), \
             ('docs', 'p/cc', '2024-01-01 00:00:00.001500+00', '2024-01-01 00:00:00.001500+00', '{}', 'v')",
        )
        .await
        .expect("rows");
    // Within the millisecond the name decides, as upstream's date_trunc('milliseconds', …).
    let flat = ["p/bb", "p/cc", "p/ww", "p/xx", "p/zz"];
    let asc = pages(
        &app,
        json!({"prefix": "p/", "sortBy": {"column": "created_at", "order": "asc"}}),
    )
    .await;
    assert_eq!(asc, [&["p/dir/x.txt"][..], &flat].concat());
    let desc = pages(
        &app,
        json!({"prefix": "p/", "sortBy": {"column": "created_at", "order": "desc"}}),
    )
    .await;
    let mut reversed: Vec<&str> = flat.iter().rev().copied().collect();
    reversed.push("p/dir/x.txt");
    assert_eq!(desc, reversed);
    // With the delimiter, the folder takes its first object's time.
    let folded = pages(
        &app,
        json!({"prefix": "p/", "with_delimiter": true,
               "sortBy": {"column": "created_at", "order": "asc"}}),
    )
    .await;
    assert_eq!(folded, [&["p/dir/"][..], &flat].concat());
}

#[tokio::test]
async fn an_upload_without_metadata_has_empty_user_metadata() {
    let app = with_docs().await;
    let r = call(&app, Method::GET, "/object/info/docs/top.txt", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["metadata"], json!({}));
    let r = Reply::read(
        app.request(
            Method::POST,
            "/storage/v1/object/docs/tagged.txt",
            &app.service_role_key,
        )
        .header("content-type", "text/plain")
        // base64 of {"a":"b"}
        .header("x-metadata", "eyJhIjoiYiJ9")
        .body("x")
        .send()
        .await
        .expect("upload"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(&app, Method::GET, "/object/info/docs/tagged.txt", None).await;
    assert_eq!(r.json()["metadata"], json!({"a": "b"}));
}

#[tokio::test]
async fn bad_tokens_are_refused_in_the_words_of_jose() {
    let app = TestApp::builder()
        .env("BUCKETBASE_ALLOW_ANON_WITHOUT_KEY", "false")
        .spawn()
        .await
        .expect("app");
    let bare = Reply::read(
        app.http
            .get(format!("{}/storage/v1/bucket", app.url))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let garbage = Reply::read(
        app.http
            .get(format!("{}/storage/v1/bucket", app.url))
            .header("authorization", "Bearer abc")
            .send()
            .await
            .expect("request"),
    )
    .await;
    for r in [bare, garbage] {
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(
            r.json(),
            json!({"statusCode": "403", "code": "AccessDenied", "error": "Unauthorized",
                   "message": "Invalid Compact JWS"})
        );
    }

    // A signed URL without its token fails the route's schema; with a broken one, jose.
    let r = Reply::read(
        app.http
            .get(format!("{}/storage/v1/object/sign/docs/a.txt", app.url))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), &r.json()["code"], &r.json()["message"]),
        (
            400,
            &json!("InvalidRequest"),
            &json!("querystring must have required property 'token'")
        )
    );
    let r = Reply::read(
        app.http
            .get(format!(
                "{}/storage/v1/object/sign/docs/a.txt?token=abc",
                app.url
            ))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), &r.json()["code"], &r.json()["message"]),
        (400, &json!("InvalidJWT"), &json!("Invalid Compact JWS"))
    );
}

#[tokio::test]
async fn public_routes_answer_no_such_bucket_for_a_private_bucket() {
    let app = with_docs().await;
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        Some(json!({"name": "pics", "public": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(upload(&app, "pics/cat.txt", "meow").await.status, 200);
    let public = |path: &str| {
        let url = format!("{}/storage/v1{path}", app.url);
        let http = app.http.clone();
        async move { Reply::read(http.get(url).send().await.expect("request")).await }
    };
    for path in [
        "/object/public/pics/cat.txt",
        "/object/info/public/pics/cat.txt",
    ] {
        assert_eq!(public(path).await.status, 200, "{path}");
    }
    for (path, code, message) in [
        (
            "/object/public/docs/top.txt",
            "NoSuchBucket",
            "Bucket not found",
        ),
        (
            "/object/info/public/docs/top.txt",
            "NoSuchBucket",
            "Bucket not found",
        ),
        (
            "/object/public/nowhere/top.txt",
            "NoSuchBucket",
            "Bucket not found",
        ),
        (
            "/object/public/pics/dog.txt",
            "NoSuchKey",
            "Object not found",
        ),
    ] {
        let r = public(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert_eq!(
            (
                &r.json()["statusCode"],
                &r.json()["code"],
                &r.json()["message"]
            ),
            (&json!("404"), &json!(code), &json!(message)),
            "{path}"
        );
    }
}
