//! Auth: the mail flows through a real SMTP sink: confirmation link (`GET /verify`, 303 with
//! the session in the fragment), expired and replayed links, magic link and email OTP, recovery
//! and password reset, secure email change (both addresses), `/resend` with its frequency limit,
//! reauthentication nonce, PKCE (`?code=` + `grant_type=pkce`), the redirect allow-list, the
//! instance-wide mail budget, and custom body templates fetched from `MAILER_TEMPLATES_*` (with
//! the built-in body when the URL does not answer).

mod auth_support;

use auth_support::{fragment, query, spawn};
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::Digest;

#[tokio::test]
async fn confirmation_link_redirects_with_a_session_and_cannot_be_replayed() {
    let ctx = spawn(&[("ADDITIONAL_REDIRECT_URLS", "http://app.test/**")]).await;
    let res = ctx
        .app
        .http
        .post(format!(
            "{}/auth/v1/signup?redirect_to=http%3A%2F%2Fapp.test%2Fwelcome",
            ctx.app.url
        ))
        .header("apikey", &ctx.app.anon_key)
        .json(&json!({"email": "link@example.com", "password": "secret-pw"}))
        .send()
        .await
        .expect("signup");
    assert_eq!(res.status(), StatusCode::OK);
    let mail = ctx
        .sink
        .wait_for("link@example.com", 1)
        .await
        .expect("mail");
    let link = mail.link().expect("link");
    assert_eq!(query(&link)["redirect_to"], "http://app.test/welcome");
    let (status, location) = ctx.open_link(&link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.starts_with("http://app.test/welcome#"),
        "{location}"
    );
    let f = fragment(&location);
    assert_eq!(f["type"], "signup");
    assert_eq!(f["token_type"], "bearer");
    assert!(f.contains_key("sb"));
    let u = ctx.user(&f["access_token"]).await;
    assert_eq!(u.status, StatusCode::OK);
    assert!(u.body["email_confirmed_at"].is_string());
    assert!(ctx.refresh(&f["refresh_token"]).await.status.is_success());

    // Replay: the token is consumed.
    let (status, location) = ctx.open_link(&link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let f = fragment(&location);
    assert_eq!(f["error"], "access_denied");
    assert_eq!(f["error_code"], "otp_expired");
    assert_eq!(
        f["error_description"],
        "Email link is invalid or has expired"
    );
}

#[tokio::test]
async fn redirects_outside_the_allow_list_fall_back_to_the_site_url() {
    let ctx = spawn(&[]).await;
    let res = ctx
        .app
        .http
        .post(format!(
            "{}/auth/v1/signup?redirect_to=https%3A%2F%2Fevil.example.org%2Fsteal",
            ctx.app.url
        ))
        .header("apikey", &ctx.app.anon_key)
        .json(&json!({"email": "safe@example.com", "password": "secret-pw"}))
        .send()
        .await
        .expect("signup");
    assert_eq!(res.status(), StatusCode::OK);
    let mail = ctx
        .sink
        .wait_for("safe@example.com", 1)
        .await
        .expect("mail");
    let link = mail.link().expect("link");
    assert_eq!(query(&link)["redirect_to"], "http://localhost:3000");
    let (_, location) = ctx.open_link(&link).await;
    assert!(
        location.starts_with("http://localhost:3000#access_token="),
        "{location}"
    );
}

#[tokio::test]
async fn expired_links_and_codes_are_refused() {
    let ctx = spawn(&[("GOTRUE_MAILER_OTP_EXP", "1")]).await;
    ctx.signup("late@example.com", "secret-pw").await;
    let mail = ctx
        .sink
        .wait_for("late@example.com", 1)
        .await
        .expect("mail");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = ctx
        .post(
            "/verify",
            json!({"email": "late@example.com", "token": mail.otp().expect("otp"), "type": "signup"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "otp_expired");
    let hash = query(&mail.link().expect("link"))["token"].clone();
    let r = ctx
        .post("/verify", json!({"token_hash": hash, "type": "signup"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = ctx
        .post(
            "/verify",
            json!({"email": "late@example.com", "token": "000000", "type": "signup"}),
        )
        .await;
    assert_eq!(r.body["code"], "otp_expired");
}

#[tokio::test]
async fn email_otp_and_magic_link_sign_in() {
    let ctx = spawn(&[("GOTRUE_SMTP_MAX_FREQUENCY", "0s")]).await;
    ctx.confirmed_session("otp@example.com", "secret-pw").await;
    let r = ctx
        .post(
            "/otp",
            json!({"email": "otp@example.com", "create_user": true, "data": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body, json!({}));
    let mail = ctx.sink.wait_for("otp@example.com", 1).await.expect("mail");
    assert_eq!(mail.subject(), "Your sign-in link");
    assert!(mail.link().expect("link").contains("type=magiclink"));
    let v = ctx
        .post(
            "/verify",
            json!({"email": "otp@example.com", "token": mail.otp().expect("otp"), "type": "email"}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    assert_eq!(v.body["user"]["email"], "otp@example.com");

    // The link works as well (a second mail, token_hash form).
    ctx.post("/otp", json!({"email": "otp@example.com"})).await;
    let mail = ctx.sink.wait_for("otp@example.com", 2).await.expect("mail");
    let hash = query(&mail.link().expect("link"))["token"].clone();
    let v = ctx
        .post("/verify", json!({"token_hash": hash, "type": "magiclink"}))
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);

    // Unknown user with create_user=false.
    let r = ctx
        .post(
            "/otp",
            json!({"email": "ghost@example.com", "create_user": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "otp_disabled");
    // Unknown user with create_user: a sign-up and a confirmation mail.
    let r = ctx
        .post("/otp", json!({"email": "fresh@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mail = ctx
        .sink
        .wait_for("fresh@example.com", 1)
        .await
        .expect("mail");
    assert_eq!(mail.subject(), "Confirm your email address");
    let v = ctx
        .post(
            "/verify",
            json!({"email": "fresh@example.com", "token": mail.otp().expect("otp"), "type": "email"}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
}

#[tokio::test]
async fn recovery_then_password_update() {
    let ctx = spawn(&[]).await;
    ctx.confirmed_session("lost@example.com", "old-secret")
        .await;
    let r = ctx
        .post("/recover", json!({"email": "lost@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({}));
    // Unknown addresses answer the same.
    let r = ctx
        .post("/recover", json!({"email": "none@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({}));
    let mail = ctx
        .sink
        .wait_for("lost@example.com", 1)
        .await
        .expect("mail");
    assert_eq!(mail.subject(), "Reset your password");
    let (status, location) = ctx.open_link(&mail.link().expect("link")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let f = fragment(&location);
    assert_eq!(f["type"], "recovery");
    let r = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&f["access_token"]),
            Some(json!({"password": "new-secret"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        ctx.sign_in("lost@example.com", "new-secret").await.status,
        StatusCode::OK
    );

    // A second recovery mail within SMTP_MAX_FREQUENCY (60 s) is refused.
    let first = ctx
        .post("/recover", json!({"email": "lost@example.com"}))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let second = ctx
        .post("/recover", json!({"email": "lost@example.com"}))
        .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.body["code"], "over_email_send_rate_limit");
    assert!(second.body["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("For security purposes, you can only request this after"));
}

#[tokio::test]
async fn secure_email_change_needs_both_addresses() {
    let ctx = spawn(&[]).await;
    let s = ctx.confirmed_session("old@example.com", "secret-pw").await;
    let access = s["access_token"].as_str().expect("jwt").to_string();
    let taken = ctx
        .confirmed_session("taken@example.com", "secret-pw")
        .await;
    let _ = taken;
    let r = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"email": "taken@example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "email_exists");

    let r = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"email": "new@example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["email"], "old@example.com");
    assert_eq!(r.body["new_email"], "new@example.com");
    assert!(r.body["email_change_sent_at"].is_string());
    let to_new = ctx.sink.wait_for("new@example.com", 1).await.expect("mail");
    let to_old = ctx.sink.wait_for("old@example.com", 1).await.expect("mail");
    assert_eq!(to_new.subject(), "Confirm your new email address");

    let first = ctx
        .post(
            "/verify",
            json!({"email": "new@example.com", "token": to_new.otp().expect("otp"), "type": "email_change"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(
        first.body["msg"],
        "Confirmation link accepted. Please proceed to confirm link sent to the other email"
    );
    assert_eq!(ctx.user(&access).await.body["email"], "old@example.com");
    let (status, location) = ctx.open_link(&to_old.link().expect("link")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let f = fragment(&location);
    assert_eq!(f["type"], "email_change", "{location}");
    let u = ctx.user(&f["access_token"]).await;
    assert_eq!(u.body["email"], "new@example.com");
    assert!(u.body.get("new_email").is_none());
    assert_eq!(
        u.body["identities"][0]["identity_data"]["email"],
        "new@example.com"
    );
    assert_eq!(
        ctx.sign_in("new@example.com", "secret-pw").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn resend_and_reauthenticate() {
    let ctx = spawn(&[
        ("GOTRUE_SMTP_MAX_FREQUENCY", "1s"),
        (
            "GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION",
            "true",
        ),
    ])
    .await;
    ctx.signup("again@example.com", "secret-pw").await;
    ctx.sink
        .wait_for("again@example.com", 1)
        .await
        .expect("mail");
    let r = ctx
        .post(
            "/resend",
            json!({"type": "signup", "email": "again@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = ctx
        .post(
            "/resend",
            json!({"type": "signup", "email": "again@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let second = ctx
        .sink
        .wait_for("again@example.com", 2)
        .await
        .expect("mail");
    let first = &ctx.sink.mails_to("again@example.com")[0];
    // Only the newest code works.
    let old = ctx
        .post(
            "/verify",
            json!({"email": "again@example.com", "token": first.otp().expect("otp"), "type": "signup"}),
        )
        .await;
    assert_eq!(old.status, StatusCode::FORBIDDEN);
    let v = ctx
        .post(
            "/verify",
            json!({"email": "again@example.com", "token": second.otp().expect("otp"), "type": "signup"}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    let r = ctx
        .post(
            "/resend",
            json!({"type": "bogus", "email": "again@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Reauthentication: the session is fresh, so no nonce is needed yet; an old session
    // (simulated by ageing it) needs one.
    let access = v.body["access_token"].as_str().expect("jwt").to_string();
    ctx.app
        .db
        .execute(
            "update auth.sessions set created_at = now() - interval '2 days'",
            &[],
        )
        .await
        .expect("age");
    let r = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"password": "next-secret"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "reauthentication_needed");
    let r = ctx
        .call(Method::GET, "/reauthenticate", Some(&access), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let nonce_mail = ctx
        .sink
        .wait_for("again@example.com", 3)
        .await
        .expect("mail");
    assert!(nonce_mail.subject().ends_with("is your verification code"));
    let r = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"password": "next-secret", "nonce": "000000"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["code"], "reauthentication_not_valid");
    let r = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&access),
            Some(json!({"password": "next-secret", "nonce": nonce_mail.otp().expect("otp")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[tokio::test]
async fn pkce_flow_via_the_link_and_code_exchange() {
    let ctx = spawn(&[]).await;
    let verifier = "a-very-long-code-verifier-with-enough-entropy-1234567890";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let r = ctx
        .post(
            "/signup",
            json!({"email": "pkce@example.com", "password": "secret-pw",
                   "code_challenge": challenge, "code_challenge_method": "s256"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(ctx.count("select count(*) from auth.flow_state").await, 1);
    let mail = ctx
        .sink
        .wait_for("pkce@example.com", 1)
        .await
        .expect("mail");
    let link = mail.link().expect("link");
    assert!(query(&link)["token"].starts_with("pkce_"));
    let (status, location) = ctx.open_link(&link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = query(&location)["code"].clone();
    assert!(!location.contains("access_token"), "{location}");

    let bad = ctx
        .post(
            "/token?grant_type=pkce",
            json!({"auth_code": code, "code_verifier": "wrong-verifier"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["code"], "bad_code_verifier");
    let ok = ctx
        .post(
            "/token?grant_type=pkce",
            json!({"auth_code": code, "code_verifier": verifier}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["user"]["email"], "pkce@example.com");
    let again = ctx
        .post(
            "/token?grant_type=pkce",
            json!({"auth_code": code, "code_verifier": verifier}),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.body["code"], "flow_state_not_found");
}

#[tokio::test]
async fn invite_and_the_mail_budget() {
    let ctx = spawn(&[("GOTRUE_RATE_LIMIT_EMAIL_SENT", "2")]).await;
    let r = ctx
        .admin(
            Method::POST,
            "/invite",
            Some(json!({"email": "guest@example.com", "data": {"team": "a"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["invited_at"].is_string());
    let mail = ctx
        .sink
        .wait_for("guest@example.com", 1)
        .await
        .expect("mail");
    assert_eq!(mail.subject(), "You've been invited");
    let (_, location) = ctx.open_link(&mail.link().expect("link")).await;
    let f = fragment(&location);
    assert_eq!(f["type"], "invite");
    let set = ctx
        .call(
            Method::PUT,
            "/user",
            Some(&f["access_token"]),
            Some(json!({"password": "guest-secret"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(
        ctx.sign_in("guest@example.com", "guest-secret")
            .await
            .status,
        StatusCode::OK
    );

    // Anon callers may not invite.
    let r = ctx.post("/invite", json!({"email": "x@example.com"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "not_admin");

    // Budget of 2 mails per hour: the third mail is refused and nothing is written.
    ctx.signup("b1@example.com", "secret-pw").await;
    let r = ctx.signup("b2@example.com", "secret-pw").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    assert_eq!(r.body["code"], "over_email_send_rate_limit");
    assert_eq!(
        ctx.count("select count(*) from auth.users where email = 'b2@example.com'")
            .await,
        0
    );
}

/// A real HTTP server on 127.0.0.1 that answers every request with `200` and `html`; returns
/// its base URL and the number of requests it has served.
async fn template_server(
    html: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                // One request per connection: read its head, answer, close.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), hits)
}

const CUSTOM_CONFIRMATION: &str = "<html><body>\n\
<h1>Welcome, {{ .Data.name }}!</h1>\n\
{{ if .Data.name }}<p>Nice to meet you.</p>{{ else }}<p>Hello stranger.</p>{{ end }}\n\
<p><a href=\"{{ .ConfirmationURL }}\">Confirm {{ .Email }}</a> or enter {{ .Token }}</p>\n\
<p>{{ .Data.missing }}</p>\n\
</body></html>\n";

#[tokio::test]
async fn custom_confirmation_template_from_a_url() {
    let (base, hits) = template_server(CUSTOM_CONFIRMATION).await;
    let url = format!("{base}/templates/confirmation.html");
    let ctx = spawn(&[("GOTRUE_MAILER_TEMPLATES_CONFIRMATION", url.as_str())]).await;
    let r = ctx
        .post(
            "/signup",
            json!({"email": "ann@example.com", "password": "secret-pw", "data": {"name": "<b>Ann</b>"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mail = ctx.sink.wait_for("ann@example.com", 1).await.expect("mail");
    // The subject is still the default one; the body is the fetched template.
    assert_eq!(mail.subject(), "Confirm your email address");
    let body = mail.body();
    assert!(
        body.contains("<h1>Welcome, &lt;b&gt;Ann&lt;/b&gt;!</h1>"),
        "{body}"
    );
    assert!(!body.contains("<b>Ann</b>"), "{body}");
    assert!(body.contains("<p>Nice to meet you.</p>"), "{body}");
    assert!(body.contains("<p></p>"), "{body}");
    assert!(!body.contains("Confirm your email address"), "{body}");
    // The link is escaped as html/template escapes it, and it still verifies.
    assert!(body.contains("&amp;type=signup"), "{body}");
    let link = mail.link().expect("link");
    assert!(link.contains("/auth/v1/verify?token="), "{link}");
    assert_eq!(query(&link)["type"], "signup");
    let otp = mail.otp().expect("otp");
    assert!(body.contains(&format!("or enter {otp}")), "{body}");
    let (status, location) = ctx.open_link(&link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let f = fragment(&location);
    assert_eq!(f["type"], "signup", "{location}");
    let u = ctx.user(&f["access_token"]).await;
    assert!(u.body["email_confirmed_at"].is_string());
    assert_eq!(u.body["user_metadata"]["name"], "<b>Ann</b>");

    // A second mail of the same kind comes from the cache: no second fetch.
    ctx.signup("bea@example.com", "secret-pw").await;
    let mail = ctx.sink.wait_for("bea@example.com", 1).await.expect("mail");
    assert!(mail.body().contains("<p>Hello stranger.</p>"));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unreachable_template_url_falls_back_to_the_built_in_body() {
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{closed_port}/confirmation.html");
    let ctx = spawn(&[("MAILER_TEMPLATES_CONFIRMATION", url.as_str())]).await;
    let r = ctx
        .post(
            "/signup",
            json!({"email": "dan@example.com", "password": "secret-pw", "data": {"name": "<b>Dan</b>"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mail = ctx.sink.wait_for("dan@example.com", 1).await.expect("mail");
    assert!(
        mail.body().contains("<h2>Confirm your email address</h2>"),
        "{}",
        mail.data
    );
    let (status, location) = ctx.open_link(&mail.link().expect("link")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(fragment(&location)["type"], "signup", "{location}");
}
