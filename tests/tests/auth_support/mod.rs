//! Helpers shared by the `auth_*` API tests: a server with an SMTP sink, and one function per
//! `/auth/v1` call the tests make.

#![allow(dead_code)]

use std::collections::HashMap;

use base64::Engine;
use bucketbase_tests::{SmtpSink, TestApp};
use reqwest::{header::HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

/// A running server with an SMTP sink.
pub(crate) struct Ctx {
    pub app: TestApp,
    pub sink: SmtpSink,
}

/// A response, decoded.
#[derive(Debug)]
pub(crate) struct Res {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

/// Spawns a server whose mail goes to a fresh sink, with `extra` environment.
pub(crate) async fn spawn(extra: &[(&str, &str)]) -> Ctx {
    let sink = SmtpSink::start().await.expect("smtp sink");
    let app = TestApp::builder()
        .envs(sink.env())
        .env("SITE_URL", "http://localhost:3000")
        .envs(extra.iter().copied())
        .spawn()
        .await
        .expect("app");
    Ctx { app, sink }
}

/// Spawns a server with email autoconfirm on.
pub(crate) async fn spawn_autoconfirm(extra: &[(&str, &str)]) -> Ctx {
    let mut all = vec![("ENABLE_EMAIL_AUTOCONFIRM", "true")];
    all.extend_from_slice(extra);
    spawn(&all).await
}

impl Ctx {
    /// A call to `/auth/v1{path}` with the anon key, `bearer` (default: the anon key) and the
    /// 2024-01-01 API version header.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let mut req = self
            .app
            .http
            .request(method, format!("{}/auth/v1{}", self.app.url, path))
            .header("apikey", &self.app.anon_key)
            .header(
                "authorization",
                format!("Bearer {}", bearer.unwrap_or(&self.app.anon_key)),
            )
            .header("x-supabase-api-version", "2024-01-01");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Res {
            status,
            body,
            headers,
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Res {
        self.call(Method::POST, path, None, Some(body)).await
    }

    pub(crate) async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Res {
        let key = self.app.service_role_key.clone();
        self.call(method, path, Some(&key), body).await
    }

    pub(crate) async fn signup(&self, email: &str, password: &str) -> Res {
        self.post("/signup", json!({"email": email, "password": password}))
            .await
    }

    pub(crate) async fn sign_in(&self, email: &str, password: &str) -> Res {
        self.post(
            "/token?grant_type=password",
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub(crate) async fn refresh(&self, token: &str) -> Res {
        self.post(
            "/token?grant_type=refresh_token",
            json!({"refresh_token": token}),
        )
        .await
    }

    pub(crate) async fn user(&self, access: &str) -> Res {
        self.call(Method::GET, "/user", Some(access), None).await
    }

    /// Creates a confirmed user through the admin API and signs in; returns the session.
    pub(crate) async fn confirmed_session(&self, email: &str, password: &str) -> Value {
        let r = self
            .admin(
                Method::POST,
                "/admin/users",
                Some(json!({"email": email, "password": password, "email_confirm": true})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let s = self.sign_in(email, password).await;
        assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
        s.body
    }

    /// Follows a verification link without following its redirect; returns the Location.
    pub(crate) async fn open_link(&self, link: &str) -> (StatusCode, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = client.get(link).send().await.expect("link");
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (res.status(), location)
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        self.app
            .db
            .query_one(sql, &[])
            .await
            .expect("count")
            .get::<_, i64>(0)
    }
}

/// The claims of a JWT (not verified).
pub(crate) fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

/// The `key=value` pairs of a URL fragment.
pub(crate) fn fragment(url: &str) -> HashMap<String, String> {
    let frag = url.split_once('#').map(|(_, f)| f).unwrap_or("");
    url::form_urlencoded::parse(frag.as_bytes())
        .into_owned()
        .collect()
}

/// The `key=value` pairs of a URL query.
pub(crate) fn query(url: &str) -> HashMap<String, String> {
    let q = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""))
        .unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}
