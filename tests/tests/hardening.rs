//! Faults an outside probe found, each kept as a regression test, and the probe classes that
//! found them: rows of defaults from `{}` bodies, `Range` numbers past `bigint`, CORS as
//! Supabase's gateway answers it, bodies read before a 501, a bounded REST fuzz run that must
//! never see a 5xx, and a database outage that must be answered at once with PostgREST's 503,
//! without a reconnect storm, and recovered from when the database is back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bucketbase_sql::embedded::{Cluster, ClusterConfig};
use bucketbase_tests::{Reply, TestApp, JWT_SECRET};
use reqwest::Method;
use serde_json::json;

const FIXTURE: &str = r#"
create table public.counters (id bigserial primary key, n int not null default 0, label text default 'new');
create table public.items (id int primary key, name text, tags text[]);
insert into public.items select g, 'item ' || g, array['t' || g] from generate_series(1, 20) g;
create table public.parents (pid int primary key, title text);
create table public.children (cid int primary key, parent_id int references public.parents (pid), label text);
insert into public.parents values (1, 'one'), (2, 'two');
insert into public.children values (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'c');
create function public.echo(v text) returns text language sql immutable as $$ select v $$;
create function public.add(a int, b int) returns int language sql immutable as $$ select a + b $$;
grant all on all tables in schema public to anon, authenticated, service_role;
grant all on all sequences in schema public to anon, authenticated, service_role;
grant execute on all functions in schema public to anon, authenticated, service_role;
"#;

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut req = app.request(method, path, &app.service_role_key);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    Reply::read(req.send().await.expect("request")).await
}

#[tokio::test]
async fn insert_of_empty_objects_writes_rows_of_defaults_as_postgrest() {
    let app = TestApp::builder().sql(FIXTURE).spawn().await.expect("app");
    let json_body = [("content-type", "application/json")];
    let r = call(
        &app,
        Method::POST,
        "/rest/v1/counters",
        &json_body,
        Some("{}"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rep = [
        ("content-type", "application/json"),
        ("prefer", "return=representation"),
    ];
    let r = call(&app, Method::POST, "/rest/v1/counters", &rep, Some("[{}]")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json(), json!([{"id": 2, "n": 0, "label": "new"}]));
    let r = call(
        &app,
        Method::POST,
        "/rest/v1/counters",
        &rep,
        Some("[{}, {}]"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json(),
        json!([{"id": 3, "n": 0, "label": "new"}, {"id": 4, "n": 0, "label": "new"}])
    );
    let r = call(&app, Method::POST, "/rest/v1/counters", &rep, Some("[]")).await;
    assert_eq!((r.status.as_u16(), r.json()), (201, json!([])));
    // An empty body is not JSON (PostgREST's "Empty or invalid json"), for a table.
    let r = call(
        &app,
        Method::POST,
        "/rest/v1/counters",
        &json_body,
        Some(""),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["code"], "PGRST102");
    assert_eq!(r.json()["message"], "Empty or invalid json");
    // Upserting an empty object has no columns to merge: it inserts.
    let upsert = [
        ("content-type", "application/json"),
        (
            "prefer",
            "resolution=merge-duplicates,return=representation",
        ),
    ];
    let r = call(&app, Method::POST, "/rest/v1/counters", &upsert, Some("{}")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json(), json!([{"id": 5, "n": 0, "label": "new"}]));
    let rows = app
        .db
        .query_one("select count(*) from public.counters", &[])
        .await
        .expect("count");
    assert_eq!(rows.get::<_, i64>(0), 5);
}

#[tokio::test]
async fn range_numbers_past_bigint_answer_postgresql_400_not_a_panic() {
    let app = TestApp::builder().sql(FIXTURE).spawn().await.expect("app");
    for range in [
        "0-9223372036854775807",
        "99999999999999999999-",
        "1-99999999999999999999999999999999999999999",
    ] {
        let r = call(
            &app,
            Method::GET,
            "/rest/v1/items",
            &[("range", range)],
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{range}: {}", r.text);
        assert_eq!(r.json()["code"], "22003", "{range}");
        assert_eq!(r.json()["message"], "bigint out of range", "{range}");
    }
    let r = call(
        &app,
        Method::GET,
        "/rest/v1/items?limit=3",
        &[("range", "1-99999999999999999999")],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json().as_array().map(Vec::len),
        Some(2),
        "rows 1-2 of limit 3"
    );
    let r = call(
        &app,
        Method::GET,
        "/rest/v1/items?offset=9223372036854775807&limit=9223372036854775807",
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert!(r.status.as_u16() < 500, "{} {}", r.status, r.text);
}

/// A preflight and a plain GET from `origin`.
async fn cors_of(app: &TestApp, origin: &str) -> (Reply, Reply) {
    let pre = app
        .http
        .request(Method::OPTIONS, format!("{}/rest/v1/items", app.url))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,apikey,x-client-info",
        )
        .send()
        .await
        .expect("preflight");
    let get = app
        .request(Method::GET, "/rest/v1/items?limit=1", &app.anon_key)
        .header("origin", origin)
        .send()
        .await
        .expect("get");
    (Reply::read(pre).await, Reply::read(get).await)
}

#[tokio::test]
async fn cors_answers_any_origin_with_a_star_and_no_credentials_by_default() {
    let app = TestApp::builder().sql(FIXTURE).spawn().await.expect("app");
    for origin in ["https://evil.example", "null", "http://localhost:3000"] {
        let (pre, get) = cors_of(&app, origin).await;
        for r in [&pre, &get] {
            assert_eq!(
                r.header("access-control-allow-origin"),
                Some("*"),
                "{origin}"
            );
            assert_eq!(
                r.header("access-control-allow-credentials"),
                None,
                "{origin}"
            );
        }
        assert_eq!(
            pre.header("access-control-allow-headers"),
            Some("authorization,apikey,x-client-info")
        );
        assert!(get
            .header("access-control-expose-headers")
            .is_some_and(|h| h.contains("content-range")));
    }
}

#[tokio::test]
async fn cors_origins_can_be_listed_and_only_those_get_credentials() {
    let app = TestApp::builder()
        .sql(FIXTURE)
        .env(
            "BUCKETBASE_CORS_ALLOWED_ORIGINS",
            "https://app.example, http://localhost:3000",
        )
        .env("BUCKETBASE_CORS_ALLOW_CREDENTIALS", "true")
        .spawn()
        .await
        .expect("app");
    let (pre, get) = cors_of(&app, "https://app.example").await;
    for r in [&pre, &get] {
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    }
    for origin in ["https://evil.example", "null"] {
        let (pre, get) = cors_of(&app, origin).await;
        for r in [&pre, &get] {
            assert_eq!(r.header("access-control-allow-origin"), None, "{origin}");
        }
    }
}

#[tokio::test]
async fn a_refused_upload_still_reaches_its_answer() {
    // A large body refused before it is read (a service not built yet; a storage upload to a
    // bucket that does not exist) must not break the client's request.
    let app = TestApp::builder().spawn().await.expect("app");
    let upload = vec![b'x'; 8 << 20];
    for (path, status) in [
        ("/storage/v1/object/nobucket/a.bin", 400),
        ("/functions/v1/hello", 501),
        ("/realtime/v1/api/broadcast", 501),
    ] {
        let res = app
            .request(Method::POST, path, &app.anon_key)
            .header("content-type", "application/octet-stream")
            .body(upload.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: the upload failed: {e}"));
        assert_eq!(res.status(), status, "{path}");
    }
}

/// xorshift64*: a small deterministic generator, so a failing request can be replayed from
/// its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    /// Random printable and control bytes, percent-encoded where a URL needs it.
    fn junk(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let b = (self.next() % 128) as u8;
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
}

/// One random request: `(method, path with query, headers, body)`.
fn fuzz_request(rng: &mut Rng) -> (Method, String, Vec<(String, String)>, Option<String>) {
    let method = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PATCH,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ][rng.below(7)]
    .clone();
    let path = rng
        .pick(&[
            "/rest/v1/items",
            "/rest/v1/parents",
            "/rest/v1/children",
            "/rest/v1/counters",
            "/rest/v1/nope",
            "/rest/v1/rpc/echo",
            "/rest/v1/rpc/add",
            "/rest/v1/rpc/nope",
            "/rest/v1/",
            "/rest/v1/items%00",
            "/rest/v1/%2e%2e/auth",
        ])
        .to_string();
    let params: &[&str] = &[
        "select=*",
        "select=id,name",
        "select=pid,children(*)",
        "select=title,children!inner(label)",
        "select=id::text,name->>x",
        "select=...children(label)",
        "select=count()",
        "select=a(b(c(d(e(f)))))",
        "select=",
        "select=((",
        "order=id.desc.nullslast",
        "order=nope",
        "order=id.sideways",
        "limit=2",
        "limit=-1",
        "limit=9223372036854775808",
        "offset=99999999999999999999",
        "id=eq.1",
        "id=eq.abc",
        "id=in.(1,2",
        "id=in.(1,2,3)",
        "name=like.*1*",
        "name=imatch.^item",
        "tags=cs.{t1}",
        "tags=cs.{",
        "or=(id.eq.1,name.is.null)",
        "or=(id.eq.1",
        "and=(or(id.gt.1,id.lt.0),name.neq.x)",
        "not.id=eq.1",
        "id=fts(english).x",
        "id=isdistinct.null",
        "v=hello",
        "a=1&b=2",
        "a=x&b=y",
        "on_conflict=id",
        "on_conflict=nope",
        "columns=id,name",
        "columns=\"id",
        "children.limit=1",
        "children.order=label",
    ];
    let mut query: Vec<String> = (0..rng.below(4))
        .map(|_| rng.pick(params).to_string())
        .collect();
    if rng.below(4) == 0 {
        let n = rng.below(40);
        let (k, v) = (rng.junk(3), rng.junk(n));
        query.push(format!("{k}={v}"));
    }
    let url = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    let mut headers = Vec::new();
    let header_choices: &[(&str, &[&str])] = &[
        (
            "prefer",
            &[
                "return=representation",
                "return=minimal",
                "count=exact",
                "count=planned",
                "resolution=merge-duplicates",
                "resolution=ignore-duplicates",
                "handling=strict, max-affected=1",
                "max-affected=99999999999999999999",
                "tx=rollback",
                "missing=default",
                "params=single-object",
                "timezone=Mars/Olympus",
                "garbage",
            ],
        ),
        (
            "range",
            &[
                "0-1",
                "5-",
                "3-1",
                "0-9223372036854775807",
                "18446744073709551615-18446744073709551616",
                "items=0-1",
                "-5",
            ],
        ),
        (
            "accept",
            &[
                "application/json",
                "text/csv",
                "application/vnd.pgrst.object+json",
                "application/vnd.pgrst.plan+json",
                "application/geo+json",
                "application/openapi+json",
                "*/*",
                "text/html",
                "application/json;q=abc",
                ";;;",
            ],
        ),
        (
            "content-type",
            &[
                "application/json",
                "text/csv",
                "application/x-www-form-urlencoded",
                "text/plain",
                "application/octet-stream",
                "application/json; charset=utf-16",
                "multipart/form-data; boundary=x",
            ],
        ),
        (
            "accept-profile",
            &["public", "auth", "graphql_public", "nope", ""],
        ),
        (
            "authorization",
            &[
                "Bearer x.y.z",
                "Bearer ",
                "Basic abc",
                "Bearer sb_secret_nope",
            ],
        ),
    ];
    for (name, values) in header_choices {
        if rng.below(3) == 0 {
            headers.push((name.to_string(), rng.pick(values).to_string()));
        }
    }
    let bodies: &[&str] = &[
        "{}",
        "[]",
        "[{}]",
        "[{}, {}]",
        "{\"id\": 100}",
        "{\"id\": \"abc\"}",
        "[{\"id\": 101, \"name\": \"x\"}, {\"id\": 102}]",
        "{\"name\": null, \"nope\": 1}",
        "{\"v\": \"hi\"}",
        "{\"a\": 1, \"b\": 9999999999}",
        "{\"a\": 2147483647, \"b\": 1}",
        "null",
        "1",
        "\"text\"",
        "{\"id\":",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]",
        "id,name\n103,csv\n",
        "id,name\n\"unterminated",
        "id=104&name=form",
        "",
    ];
    let body = match rng.below(6) {
        0 => None,
        1 => {
            let n = rng.below(200);
            Some(rng.junk(n))
        }
        _ => Some(rng.pick(bodies).to_string()),
    };
    (method, url, headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_rest_fuzz_run_never_sees_a_5xx() {
    let app = Arc::new(TestApp::builder().sql(FIXTURE).spawn().await.expect("app"));
    const REQUESTS: u64 = 1500;
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(120);
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (app, next) = (app.clone(), next.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if i >= REQUESTS || Instant::now() > deadline {
                        return failures;
                    }
                    let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1);
                    let mut rng = Rng(seed);
                    let (method, url, headers, body) = fuzz_request(&mut rng);
                    let key = if rng.below(3) == 0 {
                        app.anon_key.clone()
                    } else {
                        app.service_role_key.clone()
                    };
                    let mut req = app
                        .http
                        .request(method.clone(), format!("{}{url}", app.url))
                        .header("apikey", &key);
                    if !headers.iter().any(|(k, _)| k == "authorization") {
                        req = req.header("authorization", format!("Bearer {key}"));
                    }
                    for (k, v) in &headers {
                        req = req.header(k, v);
                    }
                    if let Some(b) = &body {
                        req = req.body(b.clone());
                    }
                    match req.send().await {
                        Ok(res) if res.status().is_server_error() => {
                            let status = res.status();
                            let text = res.text().await.unwrap_or_default();
                            failures.push(format!(
                                "seed {seed:#x}: {method} {url} {headers:?} {body:?} -> {status} {text}"
                            ));
                        }
                        Ok(res) => {
                            let _ = res.bytes().await;
                        }
                        Err(e) => failures.push(format!("seed {seed:#x}: {method} {url}: {e}")),
                    }
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.expect("worker"));
    }
    assert!(
        next.load(Ordering::Relaxed) as u64 >= REQUESTS,
        "the run finished its requests"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let health = app.http.get(format!("{}/health", app.url)).send().await;
    assert_eq!(health.expect("health").status(), 200);
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_at_once_without_a_reconnect_storm_and_recovered_from() {
    let dir = std::env::temp_dir().join(format!("bucketbase-outage-{}", uuid::Uuid::new_v4()));
    let db_port = free_port();
    let cluster = Cluster::new(ClusterConfig {
        data_dir: dir.join("db"),
        port: db_port,
        password: "postgres".into(),
        ephemeral: true,
        tie_to_parent: false,
    })
    .await
    .expect("cluster");
    let _stop = StopOnDrop(&cluster, dir.clone());
    cluster.init_if_needed().await.expect("initdb");
    cluster.start().await.expect("start");
    let db_url = cluster.url("postgres");
    let (client, connection) = tokio_postgres::connect(&db_url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute("create table public.pings (id int); insert into public.pings values (1)")
        .await
        .expect("fixture");
    drop(client);
    let env = HashMap::from([
        ("DATABASE_URL".to_string(), db_url.clone()),
        ("JWT_SECRET".to_string(), JWT_SECRET.to_string()),
        ("BUCKETBASE_PLATFORM".to_string(), "false".to_string()),
        ("BUCKETBASE_DB_POOL".to_string(), "4".to_string()),
    ]);
    let config = bucketbase_server::Config::from_vars(env).expect("config");
    let listener = bucketbase_server::app::bind("127.0.0.1", 0)
        .await
        .expect("bind");
    let app = bucketbase_server::Application::build(&config, listener, &db_url, JWT_SECRET, false)
        .await
        .expect("build");
    let api = format!("http://127.0.0.1:{}", app.port());
    let key = app.handles.service_role_key.clone();
    let rest = app.handles.rest.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let (http, api, key) = (http.clone(), api.clone(), key.clone());
        async move {
            Reply::read(
                http.get(format!("{api}{path}"))
                    .header("apikey", &key)
                    .header("authorization", format!("Bearer {key}"))
                    .send()
                    .await
                    .expect("request"),
            )
            .await
        }
    };
    client_grants(&db_url).await;
    rest.reload_schema().await.expect("reload");
    assert_eq!(get("/rest/v1/pings").await.status, 200);

    // The database goes away; something else answers on its port and counts every attempt
    // to connect (it accepts and hangs up, as a database that is not ready would).
    // The throwaway cluster commits asynchronously and the stop is immediate, so recent
    // commits (the authenticator's password among them) would be lost with the WAL buffers:
    // flush them first, as this test is about the server's reconnecting, not the cluster's.
    checkpoint(&db_url).await;
    cluster.stop_blocking();
    let counter = tokio::net::TcpListener::bind(("127.0.0.1", db_port))
        .await
        .expect("the database port is free");
    let attempts = Arc::new(AtomicUsize::new(0));
    let counting = {
        let attempts = attempts.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = counter.accept().await {
                attempts.fetch_add(1, Ordering::Relaxed);
                drop(socket);
            }
        })
    };
    let outage = Instant::now();
    let mut answered = 0;
    let mut codes = std::collections::BTreeSet::new();
    let mut retry_after = None;
    while outage.elapsed() < Duration::from_secs(3) {
        let replies = futures_join(8, || get("/rest/v1/pings")).await;
        for r in replies {
            assert_eq!(r.status, 503, "{}", r.text);
            codes.insert(r.json()["code"].as_str().unwrap_or_default().to_string());
            if r.json()["code"] == "PGRST000" {
                assert_eq!(r.json()["message"], "Database connection error.");
                retry_after = r.header("retry-after").map(str::to_string);
            }
            answered += 1;
        }
    }
    let health = get("/health").await;
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["pools"]["request"], "unreachable");
    let dialled = attempts.load(Ordering::Relaxed);
    assert!(codes.contains("PGRST000"), "{codes:?}");
    assert!(
        codes.iter().all(|c| c == "PGRST000" || c == "PGRST001"),
        "{codes:?}"
    );
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    assert!(
        answered >= 200,
        "only {answered} requests were answered in 3 s"
    );
    eprintln!("{dialled} connection attempts for {answered} requests during a 3 s outage");
    // Without backoff every request dialled; with it, a few attempts per pool per second.
    assert!(
        dialled <= 40,
        "{dialled} connection attempts for {answered} requests during the outage"
    );

    counting.abort();
    let _ = counting.await;
    cluster.start().await.expect("the database is back");
    let back = Instant::now();
    loop {
        let r = get("/rest/v1/pings").await;
        if r.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "not recovered: {} {}",
            r.status,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get("/health").await.status, 200);
}

/// Flushes the cluster's WAL and data files (`CHECKPOINT`).
async fn checkpoint(db_url: &str) {
    run_sql(db_url, "checkpoint").await;
}

/// Grants the API roles the fixture table (the migrations ran after it was created).
async fn client_grants(db_url: &str) {
    run_sql(
        db_url,
        "grant select on public.pings to anon, authenticated, service_role",
    )
    .await;
}

/// Runs `sql` on a connection of its own to `db_url`.
async fn run_sql(db_url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(db_url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client.batch_execute(sql).await.expect(sql);
}

/// Runs `n` copies of `make()` at once and returns their results.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<Reply>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn admin_pagination_numbers_past_i64_page_past_every_user_instead_of_overflowing() {
    let app = TestApp::builder().spawn().await.expect("app");
    for query in [
        "page=9223372036854775807&per_page=9223372036854775807",
        "page=18446744073709551615&per_page=3",
        "page=2&per_page=18446744073709551615",
    ] {
        let r = call(
            &app,
            Method::GET,
            &format!("/auth/v1/admin/users?{query}"),
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(r.json()["users"], json!([]), "{query}");
    }
    let r = call(
        &app,
        Method::GET,
        "/auth/v1/admin/users?page=18446744073709551616",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

/// Stops a test's own cluster and removes its directory however the test ends (a failed
/// assertion included), so a failing run leaves no PostgreSQL behind.
struct StopOnDrop<'a>(&'a Cluster, std::path::PathBuf);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop_blocking();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}
