//! Auth: sign-up (autoconfirm and confirmation mail), the Session and User JSON, access-token
//! claims, password policy, disabled sign-ups, anonymous sign-in and its conversion, the two
//! error envelopes, `/settings` and `/health`, phone sign-up and sign-in under SMS autoconfirm,
//! and GoTrue's answers for what this server leaves disabled (MFA, `id_token` providers, SMS).

mod auth_support;

use auth_support::{claims, spawn, spawn_autoconfirm};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn signup_with_autoconfirm_returns_a_session_with_gotrue_claims() {
    let ctx = spawn_autoconfirm(&[]).await;
    let r = ctx
        .post(
            "/signup",
            json!({"email": "Ann@Example.com", "password": "secret-pw", "data": {"name": "Ann"},
                   "gotrue_meta_security": {}, "code_challenge": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let s = &r.body;
    assert_eq!(s["token_type"], "bearer");
    assert_eq!(s["expires_in"], 3600);
    assert!(s["expires_at"].as_i64().is_some());
    assert_eq!(s["refresh_token"].as_str().map(str::len), Some(12));
    let user = &s["user"];
    assert_eq!(user["email"], "ann@example.com");
    assert_eq!(user["aud"], "authenticated");
    assert_eq!(user["role"], "authenticated");
    assert_eq!(user["phone"], "");
    assert_eq!(user["user_metadata"]["name"], "Ann");
    assert_eq!(user["user_metadata"]["email_verified"], true);
    assert_eq!(
        user["app_metadata"],
        json!({"provider": "email", "providers": ["email"]})
    );
    assert!(user["email_confirmed_at"].is_string());
    assert!(user["last_sign_in_at"].is_string());
    assert_eq!(user["is_anonymous"], false);
    let ids = user["identities"].as_array().expect("identities");
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["provider"], "email");
    assert_eq!(ids[0]["id"], user["id"]);
    assert_eq!(ids[0]["identity_data"]["email"], "ann@example.com");
    // Field order of GoTrue's User JSON.
    let keys: Vec<&str> = user
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(&keys[..4], &["id", "aud", "role", "email"]);
    assert_eq!(keys.last(), Some(&"is_anonymous"));

    let c = claims(s["access_token"].as_str().expect("jwt"));
    assert_eq!(c["sub"], user["id"]);
    assert_eq!(c["aud"], "authenticated");
    assert_eq!(c["role"], "authenticated");
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["phone"], "");
    assert_eq!(c["aal"], "aal1");
    assert_eq!(c["amr"][0]["method"], "password");
    assert_eq!(c["is_anonymous"], false);
    assert_eq!(c["user_metadata"]["name"], "Ann");
    assert_eq!(c["exp"].as_i64(), s["expires_at"].as_i64());
    assert!(c["iss"].as_str().expect("iss").ends_with("/auth/v1"));
    let sid = c["session_id"].as_str().expect("session_id").to_string();
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.sessions where id = '{sid}'"
        ))
        .await,
        1
    );
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.refresh_tokens where session_id = '{sid}' and not revoked"
        ))
        .await,
        1
    );
    assert!(
        ctx.count("select count(*) from auth.audit_log_entries where payload->>'action' = 'user_signedup'")
            .await
            >= 1
    );
    // The stored hash is Argon2id.
    let hash: String = ctx
        .app
        .db
        .query_one(
            "select encrypted_password from auth.users where email = 'ann@example.com'",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    // Signing up again with autoconfirm: 422 user_already_exists.
    let again = ctx.signup("ann@example.com", "secret-pw").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.body["code"], "user_already_exists");
}

#[tokio::test]
async fn signup_without_autoconfirm_mails_a_confirmation_and_hides_existing_users() {
    let ctx = spawn(&[]).await;
    let r = ctx.signup("bob@example.com", "secret-pw").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body.get("access_token").is_none());
    assert_eq!(r.body["email"], "bob@example.com");
    assert!(r.body["confirmation_sent_at"].is_string());
    assert!(r.body.get("email_confirmed_at").is_none());
    let mail = ctx.sink.wait_for("bob@example.com", 1).await.expect("mail");
    assert_eq!(mail.subject(), "Confirm your email address");
    assert_eq!(mail.from, "admin@bucketbase.test");
    assert!(mail
        .data
        .contains("From: \"Bucketbase\" <admin@bucketbase.test>"));
    let link = mail.link().expect("link");
    assert!(link.contains("/auth/v1/verify?token="), "{link}");
    assert!(link.contains("type=signup"));
    // The token is stored hashed: the mailed OTP appears nowhere in the database.
    let otp = mail
        .otp()
        .unwrap_or_else(|| panic!("no otp in {}", mail.data));
    assert_eq!(
        ctx.count(&format!(
            "select count(*) from auth.one_time_tokens where token_hash like '%{otp}%'"
        ))
        .await,
        0
    );
    assert_eq!(
        ctx.count(
            "select count(*) from auth.one_time_tokens where token_type = 'confirmation_token'"
        )
        .await,
        1
    );

    // Unconfirmed: no password sign-in.
    let s = ctx.sign_in("bob@example.com", "secret-pw").await;
    assert_eq!(s.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.body["code"], "email_not_confirmed");

    // Confirm with the code.
    let v = ctx
        .post(
            "/verify",
            json!({"email": "bob@example.com", "token": otp, "type": "email"}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    assert!(v.body["access_token"].is_string());
    assert!(v.body["user"]["email_confirmed_at"].is_string());

    // A repeated sign-up of a confirmed address answers a fake user, not an error.
    let again = ctx.signup("bob@example.com", "another-pw").await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_ne!(again.body["id"], v.body["user"]["id"]);
    assert_eq!(again.body["identities"], json!([]));
    assert_eq!(
        ctx.count("select count(*) from auth.users where email = 'bob@example.com'")
            .await,
        1
    );
}

#[tokio::test]
async fn password_policy_and_bad_input_get_gotrue_codes() {
    let ctx = spawn_autoconfirm(&[("GOTRUE_PASSWORD_MIN_LENGTH", "8")]).await;
    let r = ctx.signup("c@example.com", "short").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "weak_password");
    assert_eq!(r.body["weak_password"]["reasons"], json!(["length"]));
    assert_eq!(
        r.body["message"],
        "Password should be at least 8 characters."
    );

    let r = ctx.signup("not-an-email", "long-enough-pw").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "validation_failed");

    let r = ctx.post("/signup", json!({"email": "c@example.com"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["message"], "Signup requires a valid password");

    // Malformed JSON.
    let res = ctx
        .app
        .http
        .post(format!("{}/auth/v1/signup", ctx.app.url))
        .header("apikey", &ctx.app.anon_key)
        .header("x-supabase-api-version", "2024-01-01")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["code"], "bad_json");

    // Oversized metadata.
    let big = "x".repeat(70_000);
    let r = ctx
        .post(
            "/signup",
            json!({"email": "d@example.com", "password": "long-enough-pw", "data": {"blob": big}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        ctx.count("select count(*) from auth.users").await,
        0,
        "nothing half-written"
    );
}

#[tokio::test]
async fn legacy_envelope_without_the_version_header() {
    let ctx = spawn_autoconfirm(&[]).await;
    let res = ctx
        .app
        .http
        .post(format!("{}/auth/v1/token?grant_type=password", ctx.app.url))
        .header("apikey", &ctx.app.anon_key)
        .json(&json!({"email": "nobody@example.com", "password": "whatever"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("x-supabase-api-version").is_none());
    assert_eq!(
        res.headers()
            .get("x-sb-error-code")
            .and_then(|v| v.to_str().ok()),
        Some("invalid_credentials")
    );
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        body,
        json!({"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"})
    );
    // With the header: the 2024-01-01 envelope, echoed header.
    let r = ctx.sign_in("nobody@example.com", "whatever").await;
    assert_eq!(
        r.body,
        json!({"code": "invalid_credentials", "message": "Invalid login credentials"})
    );
    assert_eq!(
        r.headers
            .get("x-supabase-api-version")
            .and_then(|v| v.to_str().ok()),
        Some("2024-01-01")
    );
}

#[tokio::test]
async fn disabled_signup_and_missing_api_key() {
    let ctx = spawn(&[("DISABLE_SIGNUP", "true")]).await;
    let r = ctx.signup("e@example.com", "secret-pw").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "signup_disabled");
    let r = ctx.post("/signup", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "anonymous_provider_disabled");
    let res = ctx
        .app
        .http
        .post(format!("{}/auth/v1/signup", ctx.app.url))
        .json(&json!({"email": "e@example.com", "password": "secret-pw"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_sign_in_and_conversion_with_email_and_password() {
    let ctx = spawn_autoconfirm(&[("ENABLE_ANONYMOUS_USERS", "true")]).await;
    let r = ctx
        .post(
            "/signup",
            json!({"data": {"color": "blue"}, "gotrue_meta_security": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let user = &r.body["user"];
    assert_eq!(user["is_anonymous"], true);
    assert_eq!(user["email"], "");
    assert_eq!(user["role"], "authenticated");
    assert_eq!(
        user["app_metadata"],
        json!({"provider": "anonymous", "providers": ["anonymous"]})
    );
    let access = r.body["access_token"].as_str().expect("jwt").to_string();
    let c = claims(&access);
    assert_eq!(c["is_anonymous"], true);
    assert_eq!(c["amr"][0]["method"], "anonymous");

    // Password alone is refused for an anonymous user.
    let p = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"password": "secret-pw"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);

    let u = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"email": "anon@example.com", "password": "secret-pw"})),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    assert_eq!(u.body["is_anonymous"], false);
    assert_eq!(u.body["email"], "anon@example.com");
    assert_eq!(u.body["app_metadata"]["provider"], "email");
    let s = ctx.sign_in("anon@example.com", "secret-pw").await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    assert_eq!(s.body["user"]["id"], user["id"]);
}

#[tokio::test]
async fn settings_health_and_jwks() {
    let ctx = spawn(&[("ENABLE_ANONYMOUS_USERS", "true")]).await;
    let r = ctx.call(Method::GET, "/settings", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["external"]["email"], true);
    assert_eq!(r.body["external"]["anonymous_users"], true);
    assert_eq!(r.body["external"]["google"], false);
    assert_eq!(r.body["disable_signup"], false);
    assert_eq!(r.body["mailer_autoconfirm"], false);
    let h = reqwest::get(format!("{}/auth/v1/health", ctx.app.url))
        .await
        .expect("health");
    assert_eq!(h.status(), StatusCode::OK);
    let body: serde_json::Value = h.json().await.expect("json");
    assert_eq!(body["name"], "GoTrue");
    let j = reqwest::get(format!("{}/auth/v1/.well-known/jwks.json", ctx.app.url))
        .await
        .expect("jwks");
    let body: serde_json::Value = j.json().await.expect("json");
    assert_eq!(body, json!({"keys": []}));
}

#[tokio::test]
async fn disabled_features_answer_as_gotrue() {
    let ctx = spawn_autoconfirm(&[]).await;

    // MFA routes authenticate first, then say MFA is off.
    let res = ctx
        .app
        .http
        .post(format!("{}/auth/v1/factors", ctx.app.url))
        .header("apikey", &ctx.app.anon_key)
        .header("x-supabase-api-version", "2024-01-01")
        .json(&json!({"factor_type": "totp"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["code"], "no_authorization");
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("Bearer token")));
    let anon = ctx
        .post("/factors/abc/challenge", json!({"channel": "sms"}))
        .await;
    assert_eq!(anon.status, StatusCode::FORBIDDEN);
    assert_eq!(anon.body["code"], "bad_jwt");
    let s = ctx.confirmed_session("mfa@example.com", "secret-pw").await;
    let access = s["access_token"].as_str().expect("jwt");
    let enroll = ctx
        .call(
            Method::POST,
            "/factors",
            Some(access),
            Some(json!({"factor_type": "totp"})),
        )
        .await;
    assert_eq!(enroll.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(enroll.body["code"], "mfa_totp_enroll_not_enabled");
    // Each factor type answers its own "disabled", as GoTrue's EnrollFactor.
    for (kind, code, message) in [
        (
            "phone",
            "mfa_phone_enroll_not_enabled",
            "MFA enroll is disabled for Phone",
        ),
        (
            "webauthn",
            "mfa_webauthn_enroll_not_enabled",
            "MFA enroll is disabled for WebAuthn",
        ),
    ] {
        let r = ctx
            .call(
                Method::POST,
                "/factors",
                Some(access),
                Some(json!({"factor_type": kind})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{kind}");
        assert_eq!(
            (r.body["code"].as_str(), r.body["message"].as_str()),
            (Some(code), Some(message)),
            "{}",
            r.body
        );
    }
    let r = ctx
        .call(
            Method::POST,
            "/factors",
            Some(access),
            Some(json!({"factor_type": "carrier pigeon"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "validation_failed");

    // id_token: a provider GoTrue knows is "not enabled", any other is not allowed.
    let google = ctx
        .post(
            "/token?grant_type=id_token",
            json!({"provider": "google", "id_token": "x.y.z"}),
        )
        .await;
    assert_eq!(google.status, StatusCode::BAD_REQUEST);
    assert_eq!(google.body["code"], "provider_disabled");
    assert_eq!(
        google.body["message"],
        "Provider (issuer \"https://accounts.google.com\") is not enabled"
    );
    let custom = ctx
        .post(
            "/token?grant_type=id_token",
            json!({"provider": "acme", "id_token": "x.y.z"}),
        )
        .await;
    assert_eq!(custom.body["code"], "validation_failed");
    assert_eq!(
        custom.body["message"],
        "Custom OIDC provider \"acme\" not allowed"
    );

    // Phone verification: the number is validated, then no SMS code can match.
    let bad = ctx
        .post(
            "/verify",
            json!({"phone": "12345-invalid", "token": "123456", "type": "sms"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["code"], "validation_failed");
    assert_eq!(
        bad.body["message"],
        "Invalid phone number format (E.164 required)"
    );
    for kind in ["sms", "phone_change"] {
        let r = ctx
            .post(
                "/verify",
                json!({"phone": "+1 5551234567", "token": "123456", "type": kind}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{kind}");
        assert_eq!(r.body["code"], "otp_expired");
        assert_eq!(r.body["message"], "Token has expired or is invalid");
    }
}

#[tokio::test]
async fn phone_signup_with_sms_autoconfirm_and_phone_password_sign_in() {
    let ctx = spawn(&[
        ("ENABLE_PHONE_SIGNUP", "true"),
        ("ENABLE_PHONE_AUTOCONFIRM", "true"),
    ])
    .await;
    let settings = ctx.call(Method::GET, "/settings", None, None).await;
    assert_eq!(settings.body["external"]["phone"], true);
    assert_eq!(settings.body["phone_autoconfirm"], true);

    let r = ctx
        .post(
            "/signup",
            json!({"phone": "+1 555 555 0125", "password": "secret-pw", "data": {"nick": "p"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let user = &r.body["user"];
    assert_eq!(user["phone"], "15555550125");
    assert_eq!(user["email"], "");
    assert!(user["phone_confirmed_at"].is_string(), "{user}");
    assert_eq!(user["app_metadata"]["provider"], "phone");
    assert_eq!(user["user_metadata"]["phone_verified"], true);
    assert_eq!(user["user_metadata"]["nick"], "p");
    assert_eq!(user["identities"][0]["provider"], "phone");
    assert_eq!(
        user["identities"][0]["identity_data"]["phone_verified"],
        true
    );
    assert_eq!(
        claims(r.body["access_token"].as_str().expect("at"))["phone"],
        "15555550125"
    );

    // Sign-in with the phone number, in either spelling; wrong password as for email.
    for phone in ["15555550125", "+15555550125"] {
        let s = ctx
            .post(
                "/token?grant_type=password",
                json!({"phone": phone, "password": "secret-pw"}),
            )
            .await;
        assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
        assert_eq!(s.body["user"]["id"], user["id"]);
    }
    let bad = ctx
        .post(
            "/token?grant_type=password",
            json!({"phone": "15555550125", "password": "wrong-pw"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["code"], "invalid_credentials");

    // A second sign-up with the number, and a malformed number.
    let again = ctx
        .post(
            "/signup",
            json!({"phone": "15555550125", "password": "secret-pw"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.body["code"], "user_already_exists");
    let malformed = ctx
        .post(
            "/signup",
            json!({"phone": "012-abc", "password": "secret-pw"}),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.body["message"],
        "Invalid phone number format (E.164 required)"
    );
}

#[tokio::test]
async fn phone_signup_without_autoconfirm_or_disabled_writes_nothing() {
    // Phone on, no autoconfirm: an SMS would be needed and there is no provider.
    let ctx = spawn(&[("ENABLE_PHONE_SIGNUP", "true")]).await;
    let r = ctx
        .post(
            "/signup",
            json!({"phone": "15555550126", "password": "secret-pw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body["message"], "Unable to get SMS provider");
    assert_eq!(
        ctx.count("select count(*) from auth.users where phone = '15555550126'")
            .await,
        0
    );

    // Phone off (the default).
    let ctx = spawn(&[]).await;
    let r = ctx
        .post(
            "/signup",
            json!({"phone": "15555550127", "password": "secret-pw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "phone_provider_disabled");
    let s = ctx
        .post(
            "/token?grant_type=password",
            json!({"phone": "15555550127", "password": "secret-pw"}),
        )
        .await;
    assert_eq!(s.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.body["code"], "phone_provider_disabled");
}
