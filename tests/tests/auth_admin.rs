//! Auth: the admin API (service role only): list with `page`/`per_page`, `X-Total-Count` and
//! `Link`; create with `email_confirm`, metadata, `password_hash`; get; update (metadata, ban,
//! password); soft and hard delete; `generate_link` for every type; and a user created through
//! `/auth/v1` seen by `auth.uid()` in an RLS policy through `/rest/v1`.

mod auth_support;

use auth_support::{fragment, query, spawn};
use bucketbase_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn admin_create_get_list_and_paginate() {
    let ctx = spawn(&[]).await;
    let r = ctx
        .admin(
            Method::POST,
            "/admin/users",
            Some(
                json!({"email": "A1@example.com", "password": "secret-pw", "email_confirm": true,
                        "user_metadata": {"name": "A"}, "app_metadata": {"plan": "pro"}}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["email"], "a1@example.com");
    assert!(r.body["email_confirmed_at"].is_string());
    assert_eq!(r.body["user_metadata"]["name"], "A");
    assert_eq!(r.body["app_metadata"]["plan"], "pro");
    assert_eq!(r.body["app_metadata"]["provider"], "email");
    let id = r.body["id"].as_str().expect("id").to_string();

    let dup = ctx
        .admin(
            Method::POST,
            "/admin/users",
            Some(json!({"email": "a1@example.com"})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(dup.body["code"], "email_exists");

    for i in 2..=5 {
        let r = ctx
            .admin(
                Method::POST,
                "/admin/users",
                Some(json!({"email": format!("a{i}@example.com")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let g = ctx
        .admin(Method::GET, &format!("/admin/users/{id}"), None)
        .await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.body["id"], id.as_str());
    let missing = ctx
        .admin(
            Method::GET,
            &format!("/admin/users/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["code"], "user_not_found");
    let bad = ctx.admin(Method::GET, "/admin/users/nope", None).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    let l = ctx
        .admin(Method::GET, "/admin/users?page=2&per_page=2", None)
        .await;
    assert_eq!(l.status, StatusCode::OK);
    assert_eq!(l.body["aud"], "authenticated");
    assert_eq!(l.body["users"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        l.headers.get("x-total-count").and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let link = l
        .headers
        .get("link")
        .and_then(|v| v.to_str().ok())
        .expect("link");
    assert_eq!(
        link,
        "</admin/users?page=3&per_page=2>; rel=\"next\", </admin/users?page=3&per_page=2>; rel=\"last\""
    );
    let all = ctx
        .admin(Method::GET, "/admin/users?page=&per_page=", None)
        .await;
    assert_eq!(all.body["users"].as_array().map(Vec::len), Some(5));

    // `sort`: created_at only, newest first by default.
    ctx.count(&format!(
        "with u as (update auth.users set created_at = now() - interval '1 day' \
         where id = '{id}' returning 1) select count(*) from u"
    ))
    .await;
    let emails = |r: &auth_support::Res| -> Vec<String> {
        r.body["users"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u["email"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let newest = ctx.admin(Method::GET, "/admin/users", None).await;
    assert_eq!(
        emails(&newest).last().map(String::as_str),
        Some("a1@example.com")
    );
    let oldest = ctx
        .admin(Method::GET, "/admin/users?sort=created_at%20asc", None)
        .await;
    assert_eq!(
        emails(&oldest).first().map(String::as_str),
        Some("a1@example.com")
    );
    let bad_field = ctx
        .admin(Method::GET, "/admin/users?sort=email%20asc", None)
        .await;
    assert_eq!(bad_field.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_field.body["message"],
        "Bad Sort Parameters: bad field for sort 'email'"
    );
    let bad_dir = ctx
        .admin(Method::GET, "/admin/users?sort=created_at%20up", None)
        .await;
    assert_eq!(
        bad_dir.body["message"],
        "Bad Sort Parameters: bad direction for sort 'up', only 'asc' and 'desc' allowed"
    );

    // Not for the anon key, nor for users.
    let r = ctx.call(Method::GET, "/admin/users", None, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "not_admin");
    let s = ctx.sign_in("a1@example.com", "secret-pw").await;
    let r = ctx
        .call(
            Method::GET,
            "/admin/users",
            Some(s.body["access_token"].as_str().expect("jwt")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_update_ban_and_delete() {
    let ctx = spawn(&[]).await;
    let s = ctx.confirmed_session("u@example.com", "secret-pw").await;
    let id = s["user"]["id"].as_str().expect("id").to_string();
    let r = ctx
        .admin(
            Method::PUT,
            &format!("/admin/users/{id}"),
            Some(
                json!({"user_metadata": {"x": 1}, "app_metadata": {"roles": ["editor"]},
                        "password": "changed-pw"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["user_metadata"]["x"], 1);
    assert_eq!(r.body["app_metadata"]["roles"], json!(["editor"]));
    assert_eq!(r.body["app_metadata"]["provider"], "email");
    assert_eq!(
        ctx.sign_in("u@example.com", "changed-pw").await.status,
        StatusCode::OK
    );

    let r = ctx
        .admin(
            Method::PUT,
            &format!("/admin/users/{id}"),
            Some(json!({"ban_duration": "24h"})),
        )
        .await;
    assert!(r.body["banned_until"].is_string());
    let b = ctx.sign_in("u@example.com", "changed-pw").await;
    assert_eq!(b.body["code"], "user_banned");
    let r = ctx
        .admin(
            Method::PUT,
            &format!("/admin/users/{id}"),
            Some(json!({"ban_duration": "none"})),
        )
        .await;
    assert!(r.body.get("banned_until").is_none());
    let r = ctx
        .admin(
            Method::PUT,
            &format!("/admin/users/{id}"),
            Some(json!({"ban_duration": "forever"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Soft delete keeps the row, obfuscated; hard delete removes it.
    let d = ctx
        .admin(
            Method::DELETE,
            &format!("/admin/users/{id}"),
            Some(json!({"should_soft_delete": true})),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    let g = ctx
        .admin(Method::GET, &format!("/admin/users/{id}"), None)
        .await;
    assert!(g.body["deleted_at"].is_string());
    assert_ne!(g.body["email"], "u@example.com");
    assert_eq!(
        ctx.sign_in("u@example.com", "changed-pw").await.status,
        StatusCode::BAD_REQUEST
    );
    let d = ctx
        .admin(Method::DELETE, &format!("/admin/users/{id}"), None)
        .await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.body, json!({}));
    assert_eq!(ctx.count("select count(*) from auth.users").await, 0);
    assert!(
        ctx.count(
            "select count(*) from auth.audit_log_entries where payload->>'action' = 'user_deleted'"
        )
        .await
            >= 2
    );
}

#[tokio::test]
async fn admin_imports_a_bcrypt_hash() {
    let ctx = spawn(&[]).await;
    let hash: String = ctx
        .app
        .db
        .query_one(
            "select extensions.crypt('hashed-pw', extensions.gen_salt('bf', 10))",
            &[],
        )
        .await
        .expect("hash")
        .get(0);
    let r = ctx
        .admin(
            Method::POST,
            "/admin/users",
            Some(json!({"email": "imp@example.com", "password_hash": hash, "email_confirm": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        ctx.sign_in("imp@example.com", "hashed-pw").await.status,
        StatusCode::OK
    );
    let r = ctx
        .admin(
            Method::POST,
            "/admin/users",
            Some(json!({"email": "bad@example.com", "password_hash": "plaintext"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn generate_link_for_every_type() {
    let ctx = spawn(&[]).await;
    let signup = ctx
        .admin(
            Method::POST,
            "/admin/generate_link",
            Some(
                json!({"type": "signup", "email": "gl@example.com", "password": "secret-pw",
                        "data": {"k": "v"}}),
            ),
        )
        .await;
    assert_eq!(signup.status, StatusCode::OK, "{:?}", signup.body);
    assert_eq!(signup.body["email"], "gl@example.com");
    assert_eq!(signup.body["verification_type"], "signup");
    assert_eq!(signup.body["email_otp"].as_str().map(str::len), Some(6));
    let link = signup.body["action_link"]
        .as_str()
        .expect("link")
        .to_string();
    assert_eq!(
        query(&link)["token"],
        signup.body["hashed_token"].as_str().expect("hash")
    );
    assert!(ctx.sink.mails().is_empty(), "generate_link sends no mail");
    let (_, location) = ctx.open_link(&link).await;
    assert_eq!(fragment(&location)["type"], "signup");

    for kind in ["magiclink", "recovery"] {
        let r = ctx
            .admin(
                Method::POST,
                "/admin/generate_link",
                Some(json!({"type": kind, "email": "gl@example.com"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {:?}", r.body);
        let v = ctx
            .post(
                "/verify",
                json!({"email": "gl@example.com", "token": r.body["email_otp"], "type": kind}),
            )
            .await;
        assert_eq!(v.status, StatusCode::OK, "{kind}: {:?}", v.body);
    }
    let r = ctx
        .admin(
            Method::POST,
            "/admin/generate_link",
            Some(json!({"type": "recovery", "email": "nobody@example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "user_not_found");

    let inv = ctx
        .admin(
            Method::POST,
            "/admin/generate_link",
            Some(json!({"type": "invite", "email": "inv@example.com"})),
        )
        .await;
    assert_eq!(inv.status, StatusCode::OK, "{:?}", inv.body);
    assert!(inv.body["invited_at"].is_string());

    let cur = ctx
        .admin(
            Method::POST,
            "/admin/generate_link",
            Some(
                json!({"type": "email_change_new", "email": "gl@example.com",
                        "new_email": "gl2@example.com"}),
            ),
        )
        .await;
    assert_eq!(cur.status, StatusCode::OK, "{:?}", cur.body);
    assert_eq!(cur.body["new_email"], "gl2@example.com");
    let bad = ctx
        .admin(
            Method::POST,
            "/admin/generate_link",
            Some(json!({"type": "bogus", "email": "gl@example.com"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn users_from_auth_are_seen_by_auth_uid_in_rls() {
    let app = TestApp::builder()
        .env("ENABLE_EMAIL_AUTOCONFIRM", "true")
        .spawn()
        .await
        .expect("app");
    app.db
        .batch_execute(
            "create table public.notes (id bigserial primary key, owner uuid not null default auth.uid(), body text);
             alter table public.notes enable row level security;
             create policy own_notes on public.notes for all to authenticated
               using (owner = auth.uid()) with check (owner = auth.uid());
             grant all on public.notes to authenticated;
             grant usage on sequence public.notes_id_seq to authenticated;",
        )
        .await
        .expect("schema");
    app.reload_schema().await.expect("reload");
    let sign = |email: &'static str| {
        app.http
            .post(format!("{}/auth/v1/signup", app.url))
            .header("apikey", &app.anon_key)
            .json(&json!({"email": email, "password": "secret-pw"}))
            .send()
    };
    let a: serde_json::Value = sign("rls-a@example.com")
        .await
        .expect("a")
        .json()
        .await
        .expect("json");
    let b: serde_json::Value = sign("rls-b@example.com")
        .await
        .expect("b")
        .json()
        .await
        .expect("json");
    let token_a = a["access_token"].as_str().expect("jwt");
    let token_b = b["access_token"].as_str().expect("jwt");
    let res = app
        .request(Method::POST, "/rest/v1/notes", token_a)
        .header("prefer", "return=representation")
        .json(&json!({"body": "a's note"}))
        .send()
        .await
        .expect("insert");
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let rows: serde_json::Value = app
        .request(Method::GET, "/rest/v1/notes?select=owner,body", token_a)
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("json");
    assert_eq!(
        rows,
        json!([{"owner": a["user"]["id"], "body": "a's note"}])
    );
    let rows: serde_json::Value = app
        .request(Method::GET, "/rest/v1/notes?select=owner,body", token_b)
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("json");
    assert_eq!(rows, json!([]));
}
