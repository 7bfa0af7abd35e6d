//! Auth: the password grant, refresh-token rotation, the reuse rules (parent of the active token,
//! the reuse interval, detected reuse revoking the session), the two-tab refresh race, logout
//! scopes, `GET`/`PUT /user`, bcrypt import and upgrade, the `/token` rate limit, the
//! refresh's audit rows and ban / expiry checks, the custom access-token hook (Supabase's RBAC
//! guide) and `SESSIONS_SINGLE_PER_USER`.

mod auth_support;

use auth_support::{claims, spawn, spawn_autoconfirm, Res};
use bucketbase_tests::wait_until;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn password_grant_answers_sessions_and_refuses_without_enumeration() {
    let ctx = spawn_autoconfirm(&[]).await;
    let s = ctx.confirmed_session("pat@example.com", "secret-pw").await;
    assert_eq!(s["user"]["email"], "pat@example.com");
    let c = claims(s["access_token"].as_str().expect("jwt"));
    assert_eq!(c["amr"][0]["method"], "password");

    let wrong = ctx.sign_in("pat@example.com", "wrong-pw").await;
    let unknown = ctx.sign_in("nobody@example.com", "wrong-pw").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["code"], "invalid_credentials");

    let weak = ctx.confirmed_session("weak@example.com", "123456").await;
    assert!(weak.get("weak_password").is_none());

    let r = ctx
        .post(
            "/token?grant_type=password",
            json!({"email": "pat@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = ctx.post("/token?grant_type=magic", json!({})).await;
    assert_eq!(r.body["code"], "invalid_credentials");
    assert_eq!(r.body["message"], "unsupported_grant_type");
    assert!(
        ctx.count("select count(*) from auth.audit_log_entries where payload->>'action' = 'login'")
            .await
            >= 2
    );
}

#[tokio::test]
async fn refresh_rotates_and_the_parent_returns_the_active_token() {
    let ctx = spawn_autoconfirm(&[("GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL", "0")]).await;
    let s = ctx.confirmed_session("rot@example.com", "secret-pw").await;
    let t1 = s["refresh_token"].as_str().expect("rt").to_string();
    let sid = claims(s["access_token"].as_str().expect("jwt"))["session_id"].clone();

    let r1 = ctx.refresh(&t1).await;
    assert_eq!(r1.status, StatusCode::OK, "{:?}", r1.body);
    let t2 = r1.body["refresh_token"].as_str().expect("rt").to_string();
    assert_ne!(t1, t2);
    let c = claims(r1.body["access_token"].as_str().expect("jwt"));
    assert_eq!(c["session_id"], sid, "same session");
    assert_eq!(
        c["amr"][0]["method"], "password",
        "amr kept from the sign-in"
    );
    assert_eq!(r1.body["user"]["email"], "rot@example.com");
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where token = '{t2}' and parent = '{t1}' and not revoked"
        ))
        .await,
        1
    );
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where token = '{t1}' and revoked"
        ))
        .await,
        1
    );

    // The client lost the answer: its old token (parent of the active one) gives the active
    // token back, without minting another.
    let again = ctx.refresh(&t1).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.body["refresh_token"], t2.as_str());

    // Rotate once more: now t1 is a grandparent, outside the (zero) reuse interval: reuse.
    let r2 = ctx.refresh(&t2).await;
    let t3 = r2.body["refresh_token"].as_str().expect("rt").to_string();
    let reuse = ctx.refresh(&t1).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.body["code"], "refresh_token_already_used");
    assert_eq!(reuse.body["message"], "Invalid Refresh Token: Already Used");
    // The whole session is gone: t3 no longer works, neither does the access token.
    let dead = ctx.refresh(&t3).await;
    assert_eq!(dead.status, StatusCode::BAD_REQUEST);
    assert!(
        ["refresh_token_not_found", "session_not_found"]
            .contains(&dead.body["code"].as_str().unwrap_or("")),
        "{:?}",
        dead.body
    );
    let u = ctx
        .user(r2.body["access_token"].as_str().expect("jwt"))
        .await;
    assert_eq!(u.status, StatusCode::FORBIDDEN);
    assert_eq!(u.body["code"], "session_not_found");

    let unknown = ctx.refresh("abcdefghijkl").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["code"], "refresh_token_not_found");
}

#[tokio::test]
async fn reuse_within_the_interval_returns_the_active_token() {
    let ctx = spawn_autoconfirm(&[]).await;
    let s = ctx.confirmed_session("tabs@example.com", "secret-pw").await;
    let t1 = s["refresh_token"].as_str().expect("rt").to_string();
    let t2 = ctx.refresh(&t1).await.body["refresh_token"]
        .as_str()
        .expect("rt")
        .to_string();
    let t3 = ctx.refresh(&t2).await.body["refresh_token"]
        .as_str()
        .expect("rt")
        .to_string();
    // t1 was revoked seconds ago (default interval 10 s): answered with the active token.
    let r = ctx.refresh(&t1).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["refresh_token"], t3.as_str());
    assert_eq!(
        ctx.count("select count(*) from auth.refresh_tokens where not revoked")
            .await,
        1
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_never_fork_the_session() {
    let ctx = spawn_autoconfirm(&[("GOTRUE_RATE_LIMIT_TOKEN_REFRESH", "100000")]).await;
    for round in 0..5 {
        let email = format!("race{round}@example.com");
        let s = ctx.confirmed_session(&email, "secret-pw").await;
        let t = s["refresh_token"].as_str().expect("rt").to_string();
        let (a, b, c) = tokio::join!(ctx.refresh(&t), ctx.refresh(&t), ctx.refresh(&t));
        for r in [&a, &b, &c] {
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        }
        assert_eq!(a.body["refresh_token"], b.body["refresh_token"]);
        assert_eq!(b.body["refresh_token"], c.body["refresh_token"]);
        let sid = claims(s["access_token"].as_str().expect("jwt"))["session_id"]
            .as_str()
            .expect("sid")
            .to_string();
        assert_eq!(
            ctx.count(&format!(
                "select count(*) from auth.refresh_tokens where session_id = '{sid}' and not revoked"
            ))
            .await,
            1,
            "one active token per session"
        );
        assert_eq!(
            ctx.count(&format!(
                "select count(*) from auth.refresh_tokens where parent = '{t}'"
            ))
            .await,
            1,
            "one child"
        );
    }
}

/// Refreshes that arrive while the database is busy are rotated together (one statement, one
/// commit); each is still answered as it would be alone: its own session, user and token, the
/// two-tab rule, reuse detection, bans and unknown tokens.
#[tokio::test]
async fn refreshes_queued_together_are_each_answered_as_if_alone() {
    let ctx = spawn_autoconfirm(&[
        ("GOTRUE_RATE_LIMIT_TOKEN_REFRESH", "100000"),
        ("GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL", "0"),
    ])
    .await;
    let mut sessions = Vec::new();
    for i in 0..8 {
        let email = format!("batch{i}@example.com");
        let s = ctx.confirmed_session(&email, "secret-pw").await;
        let sid = claims(s["access_token"].as_str().expect("jwt"))["session_id"].clone();
        sessions.push((
            email,
            s["refresh_token"].as_str().expect("rt").to_string(),
            sid,
        ));
    }
    // A token two rotations old (reuse), a banned user's token, and an unknown one.
    let reused = ctx
        .confirmed_session("reused@example.com", "secret-pw")
        .await;
    let t0 = reused["refresh_token"].as_str().expect("rt").to_string();
    let t1 = ctx.refresh(&t0).await.body["refresh_token"]
        .as_str()
        .expect("rt")
        .to_string();
    assert_eq!(ctx.refresh(&t1).await.status, StatusCode::OK);
    let banned = ctx
        .confirmed_session("banned@example.com", "secret-pw")
        .await;
    let banned_token = banned["refresh_token"].as_str().expect("rt").to_string();
    ctx.count(
        "with u as (update auth.users set banned_until = now() + interval '1 hour' \
         where email = 'banned@example.com' returning 1) select count(*) from u",
    )
    .await;

    // Hold the audit log, so the first batches wait in the database and the other requests
    // queue behind them.
    let (locker, connection) = tokio_postgres::connect(&ctx.app.db_url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    locker
        .batch_execute("begin; lock table auth.audit_log_entries in exclusive mode")
        .await
        .expect("lock");
    let ctx = std::sync::Arc::new(ctx);
    let mut requests = tokio::task::JoinSet::new();
    let mut presented: Vec<(String, String)> = sessions
        .iter()
        .flat_map(|(email, t, _)| [(email.clone(), t.clone()), (email.clone(), t.clone())])
        .collect();
    presented.push(("reused".into(), t0.clone()));
    presented.push(("banned".into(), banned_token.clone()));
    presented.push(("unknown".into(), "nosuchtoken0".into()));
    for (label, token) in presented {
        let ctx = ctx.clone();
        requests.spawn(async move { (label, ctx.refresh(&token).await) });
    }
    // Commit once the first batch is waiting for the lock.
    wait_until(
        "a refresh waiting for the audit log",
        std::time::Duration::from_secs(10),
        || async {
            ctx.count(
                "select count(*) from pg_locks \
                 where relation = 'auth.audit_log_entries'::regclass and not granted",
            )
            .await
                > 0
        },
    )
    .await
    .expect("a queued refresh");
    locker.batch_execute("commit").await.expect("commit");
    let mut answers: Vec<(String, Res)> = Vec::new();
    while let Some(answer) = requests.join_next().await {
        answers.push(answer.expect("request task"));
    }

    for (email, token, sid) in &sessions {
        let tabs: Vec<&Res> = answers
            .iter()
            .filter(|(l, _)| l == email)
            .map(|(_, r)| r)
            .collect();
        assert_eq!(tabs.len(), 2);
        for r in &tabs {
            assert_eq!(r.status, StatusCode::OK, "{email}: {:?}", r.body);
            assert_eq!(r.body["user"]["email"], email.as_str());
            let c = claims(r.body["access_token"].as_str().expect("jwt"));
            assert_eq!(c["session_id"], *sid, "{email}: its own session");
            assert_eq!(c["email"], email.as_str());
            assert_ne!(r.body["refresh_token"], token.as_str());
        }
        assert_eq!(
            tabs[0].body["refresh_token"], tabs[1].body["refresh_token"],
            "{email}: one child"
        );
        assert_eq!(
            ctx.count(&format!(
                "select count(*) from auth.refresh_tokens where parent = '{token}'"
            ))
            .await,
            1
        );
        assert_eq!(
            ctx.count(&format!(
                "select count(*) from auth.refresh_tokens where session_id = '{}' and not revoked",
                sid.as_str().expect("sid")
            ))
            .await,
            1
        );
    }
    let answer = |label: &str| &answers.iter().find(|(l, _)| l == label).expect(label).1;
    assert_eq!(answer("reused").status, StatusCode::BAD_REQUEST);
    assert_eq!(answer("reused").body["code"], "refresh_token_already_used");
    assert_eq!(answer("banned").status, StatusCode::BAD_REQUEST);
    assert_eq!(answer("banned").body["code"], "user_banned");
    assert_eq!(answer("unknown").status, StatusCode::BAD_REQUEST);
    assert_eq!(answer("unknown").body["code"], "refresh_token_not_found");
    // Reuse revoked its session; the banned user's token was left as it was.
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where token = '{t0}'"
        ))
        .await,
        0
    );
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where token = '{banned_token}' and not revoked"
        ))
        .await,
        1
    );
    // One rotation per session, and rotations that shared a transaction (so a timestamp): the
    // requests were batched.
    let revoked = "from auth.audit_log_entries where payload->>'action' = 'token_revoked' \
         and payload->>'actor_username' like 'batch%'";
    assert_eq!(ctx.count(&format!("select count(*) {revoked}")).await, 8);
    assert!(
        ctx.count(&format!("select count(distinct created_at) {revoked}"))
            .await
            < 8,
        "the queued refreshes were rotated together"
    );
}

/// When PostgreSQL (or a pooler in front of it) refuses the batch connections' settings, refreshes
/// are still batched, on the admin pool.
#[tokio::test]
async fn refresh_batches_fall_back_to_the_admin_pool_when_their_settings_are_refused() {
    use bucketbase_auth::refresh_batch::{Limits, Outcome, RefreshBatcher, Request};
    let ctx = spawn_autoconfirm(&[]).await;
    let s = ctx
        .confirmed_session("refused@example.com", "secret-pw")
        .await;
    let url = ctx.app.db_url.clone();
    let db = bucketbase_sql::Db {
        request: bucketbase_sql::pool::connect(&url, 1).expect("pool"),
        admin: bucketbase_sql::pool::connect(&url, 2).expect("pool"),
        admin_url: url.clone(),
    };
    let limits = Limits {
        timebox: None,
        inactivity: None,
    };
    let batcher = RefreshBatcher::with_settings(
        &db,
        limits,
        bucketbase_auth::refresh_statement(),
        &[("no_such_setting", "off")],
    );
    let old = s["refresh_token"].as_str().expect("rt").to_string();
    let request = |token: &str, new_token: &str| Request {
        token: token.into(),
        new_token: new_token.into(),
        user_agent: None,
        inet: None,
        ip: "127.0.0.1".into(),
    };
    for (token, new_token) in [
        (old.as_str(), "fallback0001"),
        ("fallback0001", "fallback0002"),
    ] {
        match batcher.rotate(request(token, new_token)).await {
            Outcome::Rotated(row) => assert_eq!(row.get::<_, &str>(0), new_token),
            Outcome::Undecided => panic!("{token} was not rotated"),
        }
    }
    // The rotations were committed: the last child is the session's token.
    let r = ctx.refresh("fallback0002").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["user"]["email"], "refused@example.com");
}

#[tokio::test]
async fn refresh_writes_gotrues_audit_rows_and_refuses_banned_or_expired_sessions() {
    let ctx = spawn_autoconfirm(&[("GOTRUE_SESSIONS_TIMEBOX", "1h")]).await;
    let s = ctx
        .confirmed_session("audit@example.com", "secret-pw")
        .await;
    let uid = s["user"]["id"].as_str().expect("id").to_string();
    ctx.count(&format!(
        "with u as (update auth.users set raw_user_meta_data = '{{\"full_name\": \"Ada\"}}' \
         where id = '{uid}' returning 1) select count(*) from u"
    ))
    .await;
    let r = ctx.refresh(s["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["user"]["user_metadata"]["full_name"], "Ada");
    for action in ["token_revoked", "token_refreshed"] {
        assert_eq!(
            ctx.count(&format!(
                "select count(*) from auth.audit_log_entries where payload->>'action' = '{action}' \
                 and payload->>'log_type' = 'token' and payload->>'actor_id' = '{uid}' \
                 and payload->>'actor_username' = 'audit@example.com' \
                 and payload->>'actor_name' = 'Ada' and payload->>'actor_via_sso' = 'false' \
                 and ip_address <> ''"
            ))
            .await,
            1,
            "{action}"
        );
    }
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.sessions where user_id = '{uid}' and refreshed_at is not null"
        ))
        .await,
        1
    );

    // A banned user's token answers user_banned and stays usable for after the ban.
    let t = r.body["refresh_token"].as_str().expect("rt").to_string();
    ctx.count(&format!(
        "with u as (update auth.users set banned_until = now() + interval '1 hour' \
         where id = '{uid}' returning 1) select count(*) from u"
    ))
    .await;
    let banned = ctx.refresh(&t).await;
    assert_eq!(banned.status, StatusCode::BAD_REQUEST);
    assert_eq!(banned.body["code"], "user_banned");
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where token = '{t}' and not revoked"
        ))
        .await,
        1,
        "a refused refresh revokes nothing"
    );
    ctx.count(&format!(
        "with u as (update auth.users set banned_until = null where id = '{uid}' returning 1) \
         select count(*) from u"
    ))
    .await;

    // Past the timebox, and past not_after: session_expired, token untouched.
    ctx.count(&format!(
        "with u as (update auth.sessions set created_at = now() - interval '2 hours' \
         where user_id = '{uid}' returning 1) select count(*) from u"
    ))
    .await;
    let old = ctx.refresh(&t).await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST);
    assert_eq!(old.body["code"], "session_expired");
    ctx.count(&format!(
        "with u as (update auth.sessions set created_at = now(), \
         not_after = now() - interval '1 minute' where user_id = '{uid}' returning 1) \
         select count(*) from u"
    ))
    .await;
    let after = ctx.refresh(&t).await;
    assert_eq!(after.body["code"], "session_expired");
    ctx.count(&format!(
        "with u as (update auth.sessions set not_after = null where user_id = '{uid}' \
         returning 1) select count(*) from u"
    ))
    .await;
    let ok = ctx.refresh(&t).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
}

#[tokio::test]
async fn logout_scopes() {
    let ctx = spawn_autoconfirm(&[]).await;
    let a = ctx.confirmed_session("out@example.com", "secret-pw").await;
    let b = ctx.sign_in("out@example.com", "secret-pw").await.body;
    let c = ctx.sign_in("out@example.com", "secret-pw").await.body;
    let token = |s: &serde_json::Value| s["access_token"].as_str().expect("jwt").to_string();
    assert_eq!(ctx.count("select count(*) from auth.sessions").await, 3);

    let r = ctx
        .call(Method::POST, "/logout?scope=local", Some(&token(&a)), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(ctx.count("select count(*) from auth.sessions").await, 2);
    assert_eq!(ctx.user(&token(&a)).await.body["code"], "session_not_found");

    let r = ctx
        .call(Method::POST, "/logout?scope=others", Some(&token(&b)), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(ctx.count("select count(*) from auth.sessions").await, 1);
    assert_eq!(ctx.user(&token(&b)).await.status, StatusCode::OK);
    assert_eq!(ctx.user(&token(&c)).await.status, StatusCode::FORBIDDEN);

    let d = ctx.sign_in("out@example.com", "secret-pw").await.body;
    let r = ctx
        .call(Method::POST, "/logout", Some(&token(&d)), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(ctx.count("select count(*) from auth.sessions").await, 0);
    let refresh = ctx.refresh(d["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(refresh.status, StatusCode::BAD_REQUEST);

    let r = ctx
        .call(Method::POST, "/logout?scope=bogus", Some(&token(&d)), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = ctx.call(Method::POST, "/logout", None, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "anon key has no sub");
    assert!(
        ctx.count(
            "select count(*) from auth.audit_log_entries where payload->>'action' = 'logout'"
        )
        .await
            >= 3
    );
}

#[tokio::test]
async fn get_and_update_user() {
    let ctx = spawn_autoconfirm(&[]).await;
    let s = ctx.confirmed_session("me@example.com", "secret-pw").await;
    let access = s["access_token"].as_str().expect("jwt").to_string();
    let other = ctx.sign_in("me@example.com", "secret-pw").await.body;

    let u = ctx.user(&access).await;
    assert_eq!(u.status, StatusCode::OK);
    assert_eq!(u.body["email"], "me@example.com");

    let r = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"data": {"theme": "dark", "email_verified": null}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["user_metadata"], json!({"theme": "dark"}));

    let same = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"password": "secret-pw"})),
        )
        .await;
    assert_eq!(same.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(same.body["code"], "same_password");

    let pw = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"password": "new-secret"})),
        )
        .await;
    assert_eq!(pw.status, StatusCode::OK, "{:?}", pw.body);
    assert_eq!(
        ctx.sign_in("me@example.com", "secret-pw").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ctx.sign_in("me@example.com", "new-secret").await.status,
        StatusCode::OK
    );
    // The password change ended the other session, not this one.
    assert_eq!(ctx.user(&access).await.status, StatusCode::OK);
    assert_eq!(
        ctx.user(other["access_token"].as_str().expect("jwt"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let admin_only = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"app_metadata": {"role": "admin"}})),
        )
        .await;
    assert_eq!(admin_only.status, StatusCode::FORBIDDEN);
    assert_eq!(admin_only.body["code"], "not_admin");

    // Forged and missing tokens.
    let forged = ctx
        .app
        .keys
        .sign(&json!({"sub": "not-a-uuid", "role": "authenticated"}));
    let r = ctx.user(&forged).await;
    assert_eq!(r.body["code"], "bad_jwt");
    let bad = format!("{}x", &access[..access.len() - 1]);
    let r = ctx.user(&bad).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "bad_jwt");
    let res = ctx
        .app
        .http
        .get(format!("{}/auth/v1/user", ctx.app.url))
        .header("apikey", &ctx.app.anon_key)
        .header("x-supabase-api-version", "2024-01-01")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["code"], "no_authorization");
}

#[tokio::test]
async fn imported_bcrypt_users_sign_in_and_are_upgraded_to_argon2() {
    let ctx = spawn(&[]).await;
    // A row as a Supabase dump would restore it: a bcrypt `$2a$10$` hash.
    let id = uuid::Uuid::new_v4();
    ctx.app
        .db
        .execute(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, \
               email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, \
               confirmation_token, recovery_token, email_change_token_new, email_change) \
             values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', \
               'legacy@example.com', extensions.crypt('imported-pw', extensions.gen_salt('bf', 10)), now(), \
               '{\"provider\":\"email\",\"providers\":[\"email\"]}', '{}', now(), now(), '', '', '', '')",
            &[&id],
        )
        .await
        .expect("insert legacy user");
    let before: String = ctx
        .app
        .db
        .query_one(
            "select encrypted_password from auth.users where id = $1",
            &[&id],
        )
        .await
        .expect("row")
        .get(0);
    assert!(before.starts_with("$2a$10$"), "{before}");
    assert_eq!(
        ctx.sign_in("legacy@example.com", "wrong").await.status,
        StatusCode::BAD_REQUEST
    );
    let s = ctx.sign_in("legacy@example.com", "imported-pw").await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    let after: String = ctx
        .app
        .db
        .query_one(
            "select encrypted_password from auth.users where id = $1",
            &[&id],
        )
        .await
        .expect("row")
        .get(0);
    assert!(after.starts_with("$argon2id$"), "{after}");
    assert_eq!(
        ctx.sign_in("legacy@example.com", "imported-pw")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn token_endpoint_is_rate_limited_per_ip() {
    let ctx = spawn_autoconfirm(&[("GOTRUE_RATE_LIMIT_TOKEN_REFRESH", "5")]).await;
    let mut limited = None;
    for i in 0..40 {
        let r = ctx.refresh("abcdefghijkl").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, r));
            break;
        }
    }
    let (i, r) = limited.expect("429 within 40 requests");
    assert!(i >= 30, "burst of 30 first, got 429 at {i}");
    assert_eq!(r.body["code"], "over_request_rate_limit");
    // Another client IP (via the configured header) still passes.
    let ctx2 = spawn_autoconfirm(&[
        ("GOTRUE_RATE_LIMIT_TOKEN_REFRESH", "5"),
        ("GOTRUE_RATE_LIMIT_HEADER", "X-Forwarded-For"),
    ])
    .await;
    let send = |ip: &'static str| {
        ctx2.app
            .http
            .post(format!(
                "{}/auth/v1/token?grant_type=refresh_token",
                ctx2.app.url
            ))
            .header("apikey", &ctx2.app.anon_key)
            .header("x-forwarded-for", ip)
            .json(&json!({"refresh_token": "abcdefghijkl"}))
            .send()
    };
    for _ in 0..30 {
        send("10.0.0.1").await.expect("request");
    }
    assert_eq!(
        send("10.0.0.1").await.expect("request").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send("10.0.0.2").await.expect("request").status(),
        StatusCode::BAD_REQUEST
    );
}

/// With `GOTRUE_RATE_LIMIT_HEADER`, the header's value keys the limiter verbatim, but only a
/// valid IP address reaches the audit log and the session: anything else (here longer than the
/// audit column) is recorded as the peer address, never a 500.
#[tokio::test]
async fn rate_limit_header_values_that_are_not_addresses_are_not_logged_as_ips() {
    let ctx = spawn_autoconfirm(&[("GOTRUE_RATE_LIMIT_HEADER", "X-Forwarded-For")]).await;
    let signup = |email: &str, forwarded: String| {
        ctx.app
            .http
            .post(format!("{}/auth/v1/signup", ctx.app.url))
            .header("apikey", &ctx.app.anon_key)
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": email, "password": "secret-pw"}))
            .send()
    };
    let long = signup("long@example.com", "x".repeat(100))
        .await
        .expect("request");
    assert_eq!(long.status(), StatusCode::OK);
    let valid = signup("valid@example.com", "203.0.113.9, 10.0.0.1".into())
        .await
        .expect("request");
    assert_eq!(valid.status(), StatusCode::OK);
    for (email, ip) in [
        ("long@example.com", "127.0.0.1"),
        ("valid@example.com", "203.0.113.9"),
    ] {
        assert_eq!(
            ctx.count(&format!(
                "select count(*) from auth.audit_log_entries where payload->>'actor_username' = '{email}' \
                 and payload->>'action' = 'login' and ip_address = '{ip}'"
            ))
            .await,
            1,
            "{email}"
        );
        assert_eq!(
            ctx.count(&format!(
                "select count(*) from auth.sessions s join auth.users u on u.id = s.user_id \
                 where u.email = '{email}' and host(s.ip) = '{ip}'"
            ))
            .await,
            1,
            "{email}"
        );
    }
}

/// The hook of Supabase's "Custom Claims & RBAC" guide, ported as is: a role table readable only
/// by `supabase_auth_admin`, and a function that adds `user_role` (or refuses a banned role).
const RBAC_HOOK_SQL: &str = "
create table public.user_roles (user_id uuid primary key references auth.users on delete cascade,
  role text not null);
alter table public.user_roles enable row level security;
grant usage on schema public to supabase_auth_admin;
grant all on table public.user_roles to supabase_auth_admin;
revoke all on table public.user_roles from authenticated, anon, public;
create policy \"auth admin reads roles\" on public.user_roles as permissive for select
  to supabase_auth_admin using (true);
create function public.custom_access_token_hook(event jsonb) returns jsonb
language plpgsql stable as $$
declare
  claims jsonb := event->'claims';
  user_role text;
begin
  select role into user_role from public.user_roles where user_id = (event->>'user_id')::uuid;
  if user_role = 'blocked' then
    return jsonb_build_object('error', jsonb_build_object('http_code', 403,
      'message', 'blocked by policy'));
  end if;
  if user_role = 'broken' then
    return jsonb_build_object('claims', claims - 'role');
  end if;
  claims := jsonb_set(claims, '{user_role}', coalesce(to_jsonb(user_role), 'null'));
  claims := jsonb_set(claims, '{auth_method}', to_jsonb(event->>'authentication_method'));
  return jsonb_build_object('claims', claims);
end $$;
grant execute on function public.custom_access_token_hook to supabase_auth_admin;
revoke execute on function public.custom_access_token_hook from authenticated, anon, public;
create function public.my_role() returns text language sql stable
  as $$ select auth.jwt()->>'user_role' $$;
";

#[tokio::test]
async fn custom_access_token_hook_adds_claims_refuses_and_rolls_back() {
    let ctx = spawn_autoconfirm(&[
        ("GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_ENABLED", "true"),
        (
            "GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_URI",
            "pg-functions://postgres/public/custom_access_token_hook",
        ),
    ])
    .await;
    ctx.app
        .db
        .batch_execute(RBAC_HOOK_SQL)
        .await
        .expect("hook sql");
    let s = ctx.confirmed_session("rbac@example.com", "secret-pw").await;
    let uid = s["user"]["id"].as_str().expect("id").to_string();
    let c = claims(s["access_token"].as_str().expect("at"));
    assert_eq!(c["user_role"], Value::Null, "no role yet: {c}");
    assert_eq!(c["auth_method"], "password");
    assert_eq!(c["role"], "authenticated");

    // The claim appears on the next refresh, which the hook sees as token_refresh.
    ctx.app
        .db
        .execute(
            "insert into public.user_roles values ($1::text::uuid, 'moderator')",
            &[&uid],
        )
        .await
        .expect("role");
    let r = ctx.refresh(s["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let c = claims(r.body["access_token"].as_str().expect("at"));
    assert_eq!(c["user_role"], "moderator");
    assert_eq!(c["auth_method"], "token_refresh");
    // The REST layer sees the custom claim through auth.jwt().
    ctx.app.reload_schema().await.expect("reload");
    let mine = ctx
        .app
        .http
        .post(format!("{}/rest/v1/rpc/my_role", ctx.app.url))
        .header("apikey", &ctx.app.anon_key)
        .bearer_auth(r.body["access_token"].as_str().expect("at"))
        .json(&json!({}))
        .send()
        .await
        .expect("rpc");
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(mine.text().await.expect("body"), "\"moderator\"");
    let rt = r.body["refresh_token"].as_str().expect("rt").to_string();

    // The hook's own error: its status and message, and the refresh is rolled back (the
    // token is still active, no child written).
    ctx.app
        .db
        .execute(
            "update public.user_roles set role = 'blocked' where user_id = $1::text::uuid",
            &[&uid],
        )
        .await
        .expect("block");
    let tokens_before = ctx
        .count(&format!(
            "select count(*) from auth.refresh_tokens where user_id = '{uid}'"
        ))
        .await;
    let blocked = ctx.refresh(&rt).await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN, "{:?}", blocked.body);
    assert_eq!(blocked.body["message"], "blocked by policy");
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where user_id = '{uid}'"
        ))
        .await,
        tokens_before
    );
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where token = '{rt}' and not revoked"
        ))
        .await,
        1
    );
    let sign_in = ctx.sign_in("rbac@example.com", "secret-pw").await;
    assert_eq!(sign_in.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.sessions where user_id = '{uid}'"
        ))
        .await,
        1,
        "the refused sign-in left no session"
    );

    // Claims that break GoTrue's schema: 500 naming the problem.
    ctx.app
        .db
        .execute(
            "update public.user_roles set role = 'broken' where user_id = $1::text::uuid",
            &[&uid],
        )
        .await
        .expect("break");
    let broken = ctx.refresh(&rt).await;
    assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        broken.body["message"],
        "output claims do not conform to the expected schema: \n- (root): role is required\n"
    );

    // A hook that cannot run (dropped function): 500 naming the URI.
    ctx.app
        .db
        .batch_execute("drop function public.custom_access_token_hook(jsonb)")
        .await
        .expect("drop");
    let gone = ctx.refresh(&rt).await;
    assert_eq!(gone.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        gone.body["message"],
        "Error running hook URI: pg-functions://postgres/public/custom_access_token_hook"
    );
}

#[tokio::test]
async fn single_session_per_user_refuses_the_older_session() {
    let ctx = spawn_autoconfirm(&[("GOTRUE_SESSIONS_SINGLE_PER_USER", "true")]).await;
    let first = ctx
        .confirmed_session("single@example.com", "secret-pw")
        .await;
    // Sessions are ordered by refresh time; make the first clearly older.
    ctx.count(
        "with u as (update auth.sessions set created_at = now() - interval '1 minute' \
         returning 1) select count(*) from u",
    )
    .await;
    let second = ctx.sign_in("single@example.com", "secret-pw").await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);

    let old = ctx
        .refresh(first["refresh_token"].as_str().expect("rt"))
        .await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST);
    assert_eq!(old.body["code"], "session_expired");
    assert_eq!(
        old.body["message"],
        "Invalid Refresh Token: Session Expired (Revoked by Newer Login)"
    );
    let new = ctx
        .refresh(second.body["refresh_token"].as_str().expect("rt"))
        .await;
    assert_eq!(new.status, StatusCode::OK, "{:?}", new.body);

    // Without the setting both sessions refresh.
    let ctx = spawn_autoconfirm(&[]).await;
    let first = ctx
        .confirmed_session("multi@example.com", "secret-pw")
        .await;
    let second = ctx.sign_in("multi@example.com", "secret-pw").await;
    for t in [&first["refresh_token"], &second.body["refresh_token"]] {
        let r = ctx.refresh(t.as_str().expect("rt")).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
}
