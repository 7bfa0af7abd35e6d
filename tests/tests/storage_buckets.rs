//! `/storage/v1/bucket` as supabase/storage answers it: list, get, create, update, empty and
//! delete, decided by RLS on `storage.buckets` under the caller's role, with upstream's error
//! envelope (HTTP 400 for client errors, the logical status as a string in `statusCode`).

use bucketbase_tests::{Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const USER: &str = "5b7c8d9e-0000-4000-8000-000000000001";

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let mut req = app.request(method, &format!("/storage/v1{path}"), token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    Reply::read(req.send().await.expect("request")).await
}

fn assert_error(r: &Reply, status_code: &str, code: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    let body = r.json();
    assert_eq!(body["statusCode"], status_code, "{}", r.text);
    assert_eq!(body["code"], code, "{}", r.text);
    let mut keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "error", "message", "statusCode"],
        "exactly upstream's four keys"
    );
}

#[tokio::test]
async fn the_service_role_manages_buckets_through_their_whole_life() {
    // From no bucket at all: without the platform schema's own (avatars among them).
    let app = TestApp::builder()
        .sql(
            "set storage.allow_delete_query = 'true'; \
             delete from storage.buckets where id in ('avatars', 'content');",
        )
        .spawn()
        .await
        .expect("app");
    let key = app.service_role_key.clone();
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &key,
        Some(json!({"name": "avatars", "public": true, "file_size_limit": "1MB", "allowed_mime_types": ["image/*"]})),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()),
        (200, json!({"name": "avatars"}))
    );
    let r = call(&app, Method::GET, "/bucket/avatars", &key, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = r.json();
    assert_eq!(
        (
            &b["id"],
            &b["name"],
            &b["public"],
            &b["file_size_limit"],
            &b["allowed_mime_types"],
            b.get("type")
        ),
        (
            &json!("avatars"),
            &json!("avatars"),
            &json!(true),
            &json!(1_000_000),
            &json!(["image/*"]),
            None
        ),
        "upstream's findBucket selects no type"
    );
    let listed = call(&app, Method::GET, "/bucket", &key, None).await.json();
    assert_eq!(listed[0]["type"], "STANDARD", "{listed}");
    let created = b["created_at"].as_str().expect("created_at");
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");

    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &key,
        Some(json!({"id": "docs", "name": "docs"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(
        &app,
        Method::GET,
        "/bucket?sortColumn=name&sortOrder=desc",
        &key,
        None,
    )
    .await;
    let names: Vec<_> = r
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|b| b["name"].clone())
        .collect();
    assert_eq!(names, [json!("docs"), json!("avatars")]);
    let r = call(&app, Method::GET, "/bucket?search=ava", &key, None).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));

    let r = call(
        &app,
        Method::PUT,
        "/bucket/avatars",
        &key,
        Some(json!({"id": "avatars", "name": "avatars", "public": false, "file_size_limit": 2048})),
    )
    .await;
    assert_eq!(r.json(), json!({"message": "Successfully updated"}));
    let b = call(&app, Method::GET, "/bucket/avatars", &key, None)
        .await
        .json();
    assert_eq!(
        (
            &b["public"],
            &b["file_size_limit"],
            &b["allowed_mime_types"]
        ),
        (&json!(false), &json!(2048), &json!(["image/*"]))
    );

    // A bucket that holds objects is not deleted until it is emptied.
    app.db
        .batch_execute(
            "insert into storage.objects (bucket_id, name) values ('avatars', 'a/b.png')",
        )
        .await
        .expect("object row");
    let r = call(
        &app,
        Method::DELETE,
        "/bucket/avatars",
        &key,
        Some(json!({})),
    )
    .await;
    assert_error(&r, "409", "ResourceNotEmpty");
    let r = call(
        &app,
        Method::POST,
        "/bucket/avatars/empty",
        &key,
        Some(json!({})),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"message": "Empty bucket has been queued. Completion may take up to an hour."})
    );
    let r = call(
        &app,
        Method::DELETE,
        "/bucket/avatars",
        &key,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.json(), json!({"message": "Successfully deleted"}));
    let r = call(&app, Method::GET, "/bucket/avatars", &key, None).await;
    assert_error(&r, "404", "NoSuchBucket");
    assert_eq!(r.json()["error"], "Bucket not found");
    for (method, path) in [
        (Method::PUT, "/bucket/gone"),
        (Method::DELETE, "/bucket/gone"),
        (Method::POST, "/bucket/gone/empty"),
    ] {
        let r = call(&app, method, path, &key, Some(json!({"public": true}))).await;
        assert_error(&r, "404", "NoSuchBucket");
    }
}

#[tokio::test]
async fn bad_input_and_duplicates_get_upstreams_codes() {
    let app = TestApp::builder().spawn().await.expect("app");
    let key = app.service_role_key.clone();
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/bucket",
            &key,
            Some(json!({"name": "one"}))
        )
        .await
        .status,
        200
    );
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &key,
        Some(json!({"name": "one"})),
    )
    .await;
    assert_error(&r, "409", "BucketAlreadyExists");
    assert_eq!(r.json()["error"], "Duplicate");
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &key,
        Some(json!({"name": "a/b"})),
    )
    .await;
    assert_error(&r, "400", "InvalidBucketName");
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &key,
        Some(json!({"name": "big", "file_size_limit": "5 lightyears"})),
    )
    .await;
    assert_error(&r, "400", "InvalidRequest");
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &key,
        Some(json!({"name": "vec", "type": "VECTOR"})),
    )
    .await;
    assert_error(&r, "400", "InvalidRequest");
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &key,
        Some(json!({"public": true})),
    )
    .await;
    assert_error(&r, "400", "InvalidRequest");
    let r = app
        .request(Method::POST, "/storage/v1/bucket", &key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_error(&Reply::read(r).await, "400", "InvalidRequest");
    let r = call(&app, Method::GET, "/bucket?sortColumn=owner", &key, None).await;
    assert_error(&r, "400", "InvalidRequest");
}

#[tokio::test]
async fn rls_on_storage_buckets_decides_for_everyone_but_the_service_role() {
    let app = TestApp::builder()
        .sql(
            "create policy \"users create their own buckets\" on storage.buckets for insert to authenticated \
               with check (owner_id = auth.uid()::text);
             create policy \"users see their own buckets\" on storage.buckets for select to authenticated \
               using (owner_id = auth.uid()::text);",
        )
        .spawn()
        .await
        .expect("app");
    let service = app.service_role_key.clone();
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/bucket",
            &service,
            Some(json!({"name": "shared"}))
        )
        .await
        .status,
        200
    );

    // anon: no policy, so nothing is visible and nothing can be created.
    let anon = app.anon_key.clone();
    assert_eq!(
        call(&app, Method::GET, "/bucket", &anon, None).await.json(),
        json!([])
    );
    let r = call(&app, Method::GET, "/bucket/shared", &anon, None).await;
    assert_error(&r, "404", "NoSuchBucket");
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &anon,
        Some(json!({"name": "mine"})),
    )
    .await;
    assert_error(&r, "403", "AccessDenied");
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("row-level security")),
        "{}",
        r.text
    );

    // A user creates a bucket they own and sees only that one.
    let user = app.user_token(USER, json!({}));
    let r = call(
        &app,
        Method::POST,
        "/bucket",
        &user,
        Some(json!({"name": "mine"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = call(&app, Method::GET, "/bucket", &user, None).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], "mine");
    assert_eq!(listed[0]["owner"], USER);
    // No update or delete policy: the user's own bucket stays as it is.
    let r = call(&app, Method::DELETE, "/bucket/mine", &user, Some(json!({}))).await;
    assert_error(&r, "404", "NoSuchBucket");
    let still = app
        .db
        .query_one(
            "select count(*) from storage.buckets where id = 'mine'",
            &[],
        )
        .await
        .expect("count");
    assert_eq!(still.get::<_, i64>(0), 1);
}

#[tokio::test]
async fn bad_tokens_are_access_denied_with_the_jwt_librarys_words() {
    let app = TestApp::builder().spawn().await.expect("app");
    let expired = app
        .keys
        .sign(&json!({"role": "authenticated", "sub": USER, "exp": 1_000}));
    let r = call(&app, Method::GET, "/bucket", &expired, None).await;
    assert_error(&r, "403", "AccessDenied");
    assert_eq!(r.json()["message"], "\"exp\" claim timestamp check failed");
    let forged = format!("{}x", app.service_role_key);
    let r = call(&app, Method::GET, "/bucket", &forged, None).await;
    assert_error(&r, "403", "AccessDenied");
    assert_eq!(r.json()["message"], "signature verification failed");
}
