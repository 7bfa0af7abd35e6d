//! Foundation: the server answers `/health`, the migrations create Supabase's roles, schemas and
//! helper functions, `RequestTx` makes `auth.uid()` see the caller, and the key extractor refuses
//! every bad token with PostgREST's 401.

use base64::Engine;
use bucketbase_sql::request_tx::{Access, RequestContext};
use bucketbase_sql::RequestTx;
use bucketbase_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn health_answers_ok_with_json() {
    let app = TestApp::builder().spawn().await.expect("app");
    let res = app
        .http
        .get(format!("{}/health", app.url))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn migrations_create_supabase_roles_schemas_and_tables() {
    let app = TestApp::builder().spawn().await.expect("app");
    let roles: Vec<String> = app
        .db
        .query(
            "select rolname::text from pg_roles where rolname = any($1) order by 1",
            &[&vec![
                "anon",
                "authenticated",
                "authenticator",
                "service_role",
                "supabase_auth_admin",
                "supabase_storage_admin",
            ]],
        )
        .await
        .expect("roles")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(roles.len(), 6, "{roles:?}");
    let bypass: bool = app
        .db
        .query_one(
            "select rolbypassrls from pg_roles where rolname = 'service_role'",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert!(bypass);
    for table in [
        "auth.users",
        "auth.identities",
        "auth.sessions",
        "auth.refresh_tokens",
        "auth.mfa_factors",
        "auth.one_time_tokens",
        "auth.flow_state",
        "auth.audit_log_entries",
        "storage.buckets",
        "storage.objects",
        "realtime.messages",
    ] {
        let exists: bool = app
            .db
            .query_one("select to_regclass($1) is not null", &[&table])
            .await
            .expect("row")
            .get(0);
        assert!(exists, "{table} missing");
    }
    let publication: i64 = app
        .db
        .query_one(
            "select count(*) from pg_publication where pubname = 'supabase_realtime'",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(publication, 1);
    let folder: Vec<String> = app
        .db
        .query_one("select storage.foldername('a/b/c.png')", &[])
        .await
        .expect("row")
        .get(0);
    assert_eq!(folder, vec!["a", "b"]);
}

#[tokio::test]
async fn request_tx_makes_auth_uid_see_the_caller() {
    let app = TestApp::builder().spawn().await.expect("app");
    app.db
        .batch_execute(
            "create table notes (id int primary key, owner uuid not null, body text);
             alter table notes enable row level security;
             create policy own on notes for select to authenticated using (auth.uid() = owner);
             grant select on notes to authenticated;
             insert into notes values
               (1, '11111111-1111-1111-1111-111111111111', 'mine'),
               (2, '22222222-2222-2222-2222-222222222222', 'theirs');",
        )
        .await
        .expect("fixture");
    let pool = bucketbase_sql::pool::connect(
        &bucketbase_sql::pool::with_user(&app.db_url, "authenticator").expect("url"),
        2,
    )
    .expect("pool");
    let ctx = |sub: &str| RequestContext {
        role: "authenticated".into(),
        claims: json!({"sub": sub, "role": "authenticated"}),
        method: "GET".into(),
        path: "/notes".into(),
        headers: "{}".into(),
        search_path: "public".into(),
        local_setting: None,
    };
    let tx = RequestTx::begin(
        &pool,
        ctx("11111111-1111-1111-1111-111111111111"),
        Access::ReadOnly,
    )
    .await
    .expect("tx");
    let rows = tx
        .query_and_commit(
            "select body, auth.uid()::text, current_setting('request.jwt.claim.sub', true), current_user::text from notes",
            &[],
        )
        .await
        .expect("query");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "mine");
    assert_eq!(
        rows[0].get::<_, String>(1),
        "11111111-1111-1111-1111-111111111111"
    );
    assert_eq!(
        rows[0].get::<_, String>(2),
        "11111111-1111-1111-1111-111111111111"
    );
    assert_eq!(rows[0].get::<_, String>(3), "authenticated");

    // A dropped transaction is rolled back, and the next request starts clean.
    let mut tx = RequestTx::begin(
        &pool,
        ctx("22222222-2222-2222-2222-222222222222"),
        Access::ReadOnly,
    )
    .await
    .expect("tx");
    let rows = tx
        .query("select body from notes", &[])
        .await
        .expect("query");
    assert_eq!(rows[0].get::<_, String>(0), "theirs");
    drop(tx);
    let client = pool.get().await.expect("client");
    let row = client
        .query_one(
            "select current_user::text, current_setting('request.jwt.claims', true)",
            &[],
        )
        .await
        .expect("row");
    assert_eq!(row.get::<_, String>(0), "authenticator");
    assert_eq!(row.get::<_, Option<String>>(1).unwrap_or_default(), "");
}

async fn rest_status(
    app: &TestApp,
    auth: Option<&str>,
    apikey: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(Method::GET, format!("{}/rest/v1/", app.url));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(k) = apikey {
        req = req.header("apikey", k);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn bad_tokens_get_postgrest_401s() {
    let app = TestApp::builder()
        .env("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_test")
        .env("SUPABASE_SECRET_KEY", "sb_secret_test")
        .spawn()
        .await
        .expect("app");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    // The anon key works; no key at all is refused under `serve`.
    let (s, _) = rest_status(&app, None, Some(&app.anon_key)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = rest_status(&app, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "PGRST302");

    // alg: none
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(r#"{"role":"service_role"}"#)
    );
    let (s, body) = rest_status(&app, Some(&format!("Bearer {none}")), Some(&app.anon_key)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "PGRST301");

    // wrong key
    let other = bucketbase_caller::Keys::new(bucketbase_caller::KeyConfig {
        jwt_secret: "a-completely-different-secret-of-enough-length".into(),
        ..Default::default()
    })
    .expect("keys");
    let forged = other.sign(&json!({"role": "service_role"}));
    let (s, body) = rest_status(&app, Some(&format!("Bearer {forged}")), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "JWT cryptographic operation failed");

    // expired
    let expired = app
        .keys
        .sign(&json!({"role": "authenticated", "exp": 1_000}));
    let (s, body) = rest_status(&app, Some(&format!("Bearer {expired}")), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "PGRST303");
    assert_eq!(body["message"], "JWT expired");

    // tampered payload
    let good = app.user_token("u1", json!({}));
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[1] = b64.encode(r#"{"role":"service_role","sub":"u1"}"#);
    let (s, body) = rest_status(&app, Some(&format!("Bearer {}", parts.join("."))), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "PGRST301");

    // unknown kid on an asymmetric token
    let kid = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"RS256","typ":"JWT","kid":"missing"}"#),
        b64.encode(r#"{"role":"service_role"}"#),
        b64.encode("sig")
    );
    let (s, body) = rest_status(&app, Some(&format!("Bearer {kid}")), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "No suitable key or wrong key type");

    // `Bearer sb_…` opaque keys map to roles without being decoded.
    let (s, _) = rest_status(
        &app,
        Some("Bearer sb_publishable_test"),
        Some("sb_publishable_test"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = rest_status(&app, Some("Bearer sb_secret_wrong"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "PGRST301");
}

#[tokio::test]
async fn the_platform_schema_is_switchable() {
    let app = TestApp::builder().spawn().await.expect("app");
    let name = format!("empty_{}", uuid::Uuid::new_v4().simple());
    app.db
        .batch_execute(&format!("create database {name}"))
        .await
        .expect("create database");
    let (base, _) = app.db_url.rsplit_once('/').expect("url has a database");
    let url = format!("{base}/{name}");
    let (client, conn) =
        bucketbase_sql::tokio_postgres::connect(&url, bucketbase_sql::tokio_postgres::NoTls)
            .await
            .expect("connect");
    tokio::spawn(conn);
    let exists = |table: &'static str| {
        let client = &client;
        async move {
            client
                .query_one("select to_regclass($1) is not null", &[&table])
                .await
                .expect("row")
                .get::<_, bool>(0)
        }
    };

    // BUCKETBASE_PLATFORM=false: the kit only.
    bucketbase_sql::migrate::run(&url, &bucketbase_sql::migrate::server_sets(false))
        .await
        .expect("kit migrations");
    assert!(exists("auth.users").await);
    assert!(!exists("public.artists").await, "platform left out");

    // Switched on later: the platform applies on top, and a second run applies nothing.
    let applied = bucketbase_sql::migrate::run(&url, &bucketbase_sql::migrate::server_sets(true))
        .await
        .expect("platform migrations");
    assert!(!applied.names.is_empty());
    assert!(exists("public.artists").await);
    assert!(exists("public.content_items").await);
    let again = bucketbase_sql::migrate::run(&url, &bucketbase_sql::migrate::server_sets(true))
        .await
        .expect("nothing pending");
    assert!(again.names.is_empty());
}
