//! `/storage/v1/object/*` as supabase/storage answers it, on both backends (a local directory,
//! and a real S3 server: moto, started by the test): uploads (raw and multipart, upsert),
//! downloads (ranges, conditional requests, HEAD, info), listing (v1 and v2), move, copy,
//! remove, public and signed URLs; RLS on `storage.objects` deciding every step; limits and
//! bad input refused with upstream's envelope and nothing stored; and the store holding
//! exactly one key per object afterwards.

use std::time::Duration;

use bucketbase_tests::{files_under, wait_until, Reply, S3Server, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ALICE: &str = "5b7c8d9e-0000-4000-8000-00000000a11c";
const BOB: &str = "5b7c8d9e-0000-4000-8000-000000000b0b";

/// Where the server under test keeps its bytes.
enum Backend {
    Files,
    S3(S3Server),
}

struct Harness {
    app: TestApp,
    backend: Backend,
}

impl Harness {
    async fn start(s3: bool, sql: &[&str]) -> Self {
        let backend = if s3 {
            Backend::S3(S3Server::start().await.expect("moto"))
        } else {
            Backend::Files
        };
        let mut builder = TestApp::builder();
        for s in sql {
            builder = builder.sql(s);
        }
        if let Backend::S3(s3) = &backend {
            builder = builder.envs(s3.env());
        }
        let app = builder.spawn().await.expect("app");
        Self { app, backend }
    }

    /// Every key in the store.
    async fn stored(&self) -> Vec<String> {
        let mut keys = match &self.backend {
            Backend::Files => files_under(&self.app.storage_dir),
            Backend::S3(s3) => s3.keys().await.expect("list"),
        };
        keys.sort();
        keys
    }

    /// The keys the rows of `storage.objects` name.
    async fn referenced(&self) -> Vec<String> {
        let rows = self
            .app
            .db
            .query(
                "select bucket_id || '/' || name || '/' || version from storage.objects order by 1",
                &[],
            )
            .await
            .expect("rows");
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// Waits until the store holds exactly the referenced keys (removals of replaced versions
    /// run after the response).
    async fn assert_store_matches_rows(&self) {
        let result = wait_until("store == rows", Duration::from_secs(10), || async {
            self.stored().await == self.referenced().await
        })
        .await;
        if result.is_err() {
            panic!(
                "store {:?} != rows {:?}",
                self.stored().await,
                self.referenced().await
            );
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/storage/v1{path}", self.app.url)
    }

    fn req(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.app
            .request(method, &format!("/storage/v1{path}"), token)
    }

    async fn json(&self, method: Method, path: &str, token: &str, body: Value) -> Reply {
        Reply::read(
            self.req(method, path, token)
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    async fn upload(&self, path: &str, token: &str, body: Vec<u8>, mime: &str) -> Reply {
        Reply::read(
            self.req(Method::POST, &format!("/object/{path}"), token)
                .header("content-type", mime)
                .body(body)
                .send()
                .await
                .expect("upload"),
        )
        .await
    }

    async fn bucket(&self, id: &str, extra: Value) {
        let mut body = json!({"name": id});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self
            .json(Method::POST, "/bucket", &self.app.service_role_key, body)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

fn assert_error(r: &Reply, status_code: &str, code: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    let body = r.json();
    assert_eq!(
        (&body["statusCode"], &body["code"]),
        (&json!(status_code), &json!(code)),
        "{}",
        r.text
    );
}

async fn bytes(res: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.expect("body").to_vec())
}

fn md5_etag(data: &[u8]) -> String {
    let out = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(data)?;
            c.wait_with_output()
        })
        .expect("md5sum");
    let text = String::from_utf8_lossy(&out.stdout);
    format!("\"{}\"", text.split_whitespace().next().unwrap_or(""))
}

/// Deterministic bytes that are not all the same.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn objects_round_trip(s3: bool) {
    let h = Harness::start(s3, &[]).await;
    let key = h.app.service_role_key.clone();
    h.bucket("docs", json!({})).await;
    h.bucket("other", json!({})).await;

    // Raw body with cache-control and user metadata.
    let metadata = base64_json(&json!({"lang": "en"}));
    let r = Reply::read(
        h.req(Method::POST, "/object/docs/notes/hello.txt", &key)
            .header("content-type", "text/plain;charset=UTF-8")
            .header("cache-control", "max-age=3600")
            .header("x-metadata", metadata)
            .body("hello world")
            .send()
            .await
            .expect("upload"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Key"], "docs/notes/hello.txt");
    assert!(r.json()["Id"].as_str().is_some_and(|id| id.len() == 36));

    // Without upsert an existing name is refused; with it the object is replaced.
    let r = h
        .upload(
            "docs/notes/hello.txt",
            &key,
            b"again".to_vec(),
            "text/plain",
        )
        .await;
    assert_error(&r, "409", "KeyAlreadyExists");
    assert_eq!(r.json()["error"], "Duplicate");
    let r = Reply::read(
        h.req(Method::POST, "/object/docs/notes/hello.txt", &key)
            .header("x-upsert", "true")
            .header("content-type", "text/plain")
            .body("hello, replaced")
            .send()
            .await
            .expect("upsert"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    h.assert_store_matches_rows().await;

    let (status, headers, body) = bytes(
        h.req(Method::GET, "/object/docs/notes/hello.txt", &key)
            .send()
            .await
            .expect("download"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, b"hello, replaced");
    let etag = md5_etag(b"hello, replaced");
    let header = |h: &reqwest::header::HeaderMap, n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header(&headers, "etag"), etag);
    assert_eq!(header(&headers, "content-type"), "text/plain");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert_eq!(header(&headers, "accept-ranges"), "bytes");
    assert_eq!(header(&headers, "content-length"), "15");
    assert!(header(&headers, "last-modified").ends_with(" GMT"));

    // Ranges, conditional requests, HEAD.
    let (status, headers, body) = bytes(
        h.req(
            Method::GET,
            "/object/authenticated/docs/notes/hello.txt",
            &key,
        )
        .header("range", "bytes=0-4")
        .send()
        .await
        .expect("range"),
    )
    .await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &b"hello"[..])
    );
    assert_eq!(header(&headers, "content-range"), "bytes 0-4/15");
    let r = Reply::read(
        h.req(Method::GET, "/object/docs/notes/hello.txt", &key)
            .header("range", "bytes=100-")
            .send()
            .await
            .expect("bad range"),
    )
    .await;
    assert_eq!(r.status, 416, "{}", r.text);
    assert_eq!(r.header("content-range"), Some("bytes */15"));
    assert_eq!(r.json()["code"], "InvalidRange");
    let r = h
        .req(Method::GET, "/object/docs/notes/hello.txt", &key)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("304");
    assert_eq!(r.status(), 304);
    let r = h
        .req(Method::HEAD, "/object/docs/notes/hello.txt", &key)
        .send()
        .await
        .expect("head");
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
        ),
        (200, Some("15"))
    );

    // Info (what info() and exists() read).
    let r = Reply::read(
        h.req(Method::GET, "/object/info/docs/notes/hello.txt", &key)
            .send()
            .await
            .expect("info"),
    )
    .await;
    let info = r.json();
    assert_eq!(
        (
            &info["name"],
            &info["bucket_id"],
            &info["size"],
            &info["content_type"],
            &info["etag"]
        ),
        (
            &json!("notes/hello.txt"),
            &json!("docs"),
            &json!(15),
            &json!("text/plain"),
            &json!(etag)
        )
    );
    let r = Reply::read(
        h.req(Method::GET, "/object/info/docs/notes/missing.txt", &key)
            .send()
            .await
            .expect("info"),
    )
    .await;
    assert_error(&r, "404", "NoSuchKey");
    assert_eq!(r.json()["message"], "Object not found");

    // Multipart, as supabase-js sends a Blob: cacheControl field, then the file with an
    // empty field name.
    let form = reqwest::multipart::Form::new()
        .text("cacheControl", "3600")
        .text("metadata", r#"{"kind":"image"}"#)
        .part(
            "",
            reqwest::multipart::Part::bytes(pattern(5000))
                .file_name("blob")
                .mime_str("image/png")
                .expect("mime"),
        );
    let r = Reply::read(
        h.req(Method::POST, "/object/docs/img/a.png", &key)
            .multipart(form)
            .send()
            .await
            .expect("multipart"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, headers, body) = bytes(
        h.req(Method::GET, "/object/docs/img/a.png", &key)
            .send()
            .await
            .expect("download"),
    )
    .await;
    assert_eq!(body, pattern(5000));
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert_eq!(header(&headers, "cache-control"), "max-age=3600");

    // Bodies past the inline limit (one transaction) and past a part (multipart writes).
    for (name, len) in [("big/3mb.bin", 3 << 20), ("big/10mb.bin", 10 << 20)] {
        let data = pattern(len);
        let r = h
            .upload(
                &format!("docs/{name}"),
                &key,
                data.clone(),
                "application/octet-stream",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let (_, headers, body) = bytes(
            h.req(Method::GET, &format!("/object/docs/{name}"), &key)
                .send()
                .await
                .expect("download"),
        )
        .await;
        assert!(body == data, "{name}: {} bytes back", body.len());
        assert_eq!(header(&headers, "etag"), md5_etag(&data));
    }

    // PUT replaces (and creates).
    let r = Reply::read(
        h.req(Method::PUT, "/object/docs/big/3mb.bin", &key)
            .header("content-type", "application/octet-stream")
            .body(b"small now".to_vec())
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    h.assert_store_matches_rows().await;

    // List: one level, folders as entries with null id.
    let r = h
        .json(Method::POST, "/object/list/docs", &key, json!({"prefix": "", "limit": 100, "offset": 0, "sortBy": {"column": "name", "order": "asc"}}))
        .await;
    let names: Vec<(String, bool)> = r
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or("").to_string(),
                e["id"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("big".to_string(), true),
            ("img".to_string(), true),
            ("notes".to_string(), true)
        ]
    );
    let r = h
        .json(
            Method::POST,
            "/object/list/docs",
            &key,
            json!({"prefix": "big/", "search": "10"}),
        )
        .await;
    let listed = r.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["name"], "10mb.bin");
    assert_eq!(listed[0]["metadata"]["size"], 10 << 20);
    assert_eq!(
        listed[0]["metadata"]["mimetype"],
        "application/octet-stream"
    );

    // List v2: folders and objects apart, a cursor.
    let r = h
        .json(
            Method::POST,
            "/object/list-v2/docs",
            &key,
            json!({"with_delimiter": true, "limit": 2}),
        )
        .await;
    let page = r.json();
    assert_eq!(page["hasNext"], true, "{page}");
    let folders: Vec<&str> = page["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(folders, ["big/", "img/"]);
    let cursor = page["nextCursor"].as_str().expect("cursor").to_string();
    let r = h
        .json(
            Method::POST,
            "/object/list-v2/docs",
            &key,
            json!({"with_delimiter": true, "limit": 2, "cursor": cursor}),
        )
        .await;
    let page = r.json();
    assert_eq!(page["hasNext"], false, "{page}");
    assert_eq!(page["folders"][0]["name"], "notes/", "{page}");
    let r = h
        .json(
            Method::POST,
            "/object/list-v2/docs",
            &key,
            json!({"prefix": "big/"}),
        )
        .await;
    let names: Vec<String> = r.json()["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["big/10mb.bin", "big/3mb.bin"]);

    // Move, copy across buckets.
    let r = h
        .json(
            Method::POST,
            "/object/move",
            &key,
            json!({"bucketId": "docs", "sourceKey": "img/a.png", "destinationKey": "img/b.png"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()),
        (200, json!({"message": "Successfully moved"}))
    );
    let r = h
        .json(
            Method::POST,
            "/object/move",
            &key,
            json!({"bucketId": "docs", "sourceKey": "img/a.png", "destinationKey": "img/c.png"}),
        )
        .await;
    assert_error(&r, "404", "NoSuchKey");
    let r = h
        .json(Method::POST, "/object/copy", &key, json!({"bucketId": "docs", "sourceKey": "img/b.png", "destinationKey": "copies/b.png", "destinationBucket": "other"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Key"], "other/copies/b.png");
    let r = h
        .json(Method::POST, "/object/copy", &key, json!({"bucketId": "docs", "sourceKey": "img/b.png", "destinationKey": "copies/b.png", "destinationBucket": "other"}))
        .await;
    assert_error(&r, "409", "KeyAlreadyExists");
    let (_, headers, body) = bytes(
        h.req(Method::GET, "/object/other/copies/b.png", &key)
            .send()
            .await
            .expect("copy"),
    )
    .await;
    assert_eq!(body, pattern(5000));
    assert_eq!(header(&headers, "content-type"), "image/png");
    h.assert_store_matches_rows().await;

    // Remove by names (missing names skipped), then one by path.
    let r = h
        .json(
            Method::DELETE,
            "/object/docs",
            &key,
            json!({"prefixes": ["big/10mb.bin", "img/b.png", "nope.txt"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut removed: Vec<String> = r
        .json()
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["name"].as_str().map(str::to_string))
        .collect();
    removed.sort();
    assert_eq!(removed, ["big/10mb.bin", "img/b.png"]);
    let r = h
        .json(
            Method::DELETE,
            "/object/docs",
            &key,
            json!({"prefixes": []}),
        )
        .await;
    assert_error(&r, "400", "InvalidRequest");
    let r = Reply::read(
        h.req(Method::DELETE, "/object/docs/big/3mb.bin", &key)
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()),
        (200, json!({"message": "Successfully deleted"}))
    );
    h.assert_store_matches_rows().await;

    // Emptying a bucket removes its bytes; then it can be deleted.
    let r = h
        .json(Method::POST, "/bucket/docs/empty", &key, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = h
        .json(Method::DELETE, "/bucket/docs", &key, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    h.assert_store_matches_rows().await;
    assert_eq!(h.stored().await.len(), 1, "only other/copies/b.png is left");
}

fn base64_json(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

#[tokio::test]
async fn objects_round_trip_on_files() {
    objects_round_trip(false).await;
}

#[tokio::test]
async fn objects_round_trip_on_s3() {
    objects_round_trip(true).await;
}

/// Per-user folders, as Supabase's docs write the policy.
const FOLDER_POLICIES: &str = "
create policy \"own folder insert\" on storage.objects for insert to authenticated
  with check (bucket_id = 'media' and (storage.foldername(name))[1] = auth.uid()::text);
create policy \"own folder select\" on storage.objects for select to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = auth.uid()::text);
create policy \"own folder delete\" on storage.objects for delete to authenticated
  using (bucket_id = 'media' and owner_id = auth.uid()::text);
";

async fn rls_decides(s3: bool) {
    let h = Harness::start(s3, &[FOLDER_POLICIES]).await;
    h.bucket("media", json!({})).await;
    let alice = h.app.user_token(ALICE, json!({}));
    let bob = h.app.user_token(BOB, json!({}));

    let r = h
        .upload(
            &format!("media/{ALICE}/song.mp3"),
            &alice,
            pattern(2000),
            "audio/mpeg",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let owner: String = h
        .app
        .db
        .query_one(
            "select owner_id from storage.objects where name = $1",
            &[&format!("{ALICE}/song.mp3")],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(owner, ALICE);

    // Into someone else's folder: refused, for small and streamed bodies alike, nothing stored.
    for len in [10, 3 << 20] {
        let r = h
            .upload(
                &format!("media/{ALICE}/bob-was-here.mp3"),
                &bob,
                pattern(len),
                "audio/mpeg",
            )
            .await;
        assert_error(&r, "403", "AccessDenied");
        assert_eq!(
            r.json()["message"],
            "new row violates row-level security policy"
        );
    }
    // Upsert needs UPDATE too, which no policy grants.
    let r = Reply::read(
        h.req(
            Method::POST,
            &format!("/object/media/{ALICE}/song.mp3"),
            &alice,
        )
        .header("x-upsert", "true")
        .header("content-type", "audio/mpeg")
        .body(pattern(100))
        .send()
        .await
        .expect("upsert"),
    )
    .await;
    assert_error(&r, "403", "AccessDenied");
    h.assert_store_matches_rows().await;
    assert_eq!(h.stored().await.len(), 1);

    // Reads: Bob (and anon) see nothing of Alice's; NoSuchKey, not 403.
    for token in [&bob, &h.app.anon_key] {
        let r = Reply::read(
            h.req(
                Method::GET,
                &format!("/object/media/{ALICE}/song.mp3"),
                token,
            )
            .send()
            .await
            .expect("get"),
        )
        .await;
        assert_error(&r, "404", "NoSuchKey");
        let r = h
            .json(
                Method::POST,
                "/object/list/media",
                token,
                json!({"prefix": format!("{ALICE}/")}),
            )
            .await;
        assert_eq!(r.json(), json!([]), "{}", r.text);
        let r = h
            .json(
                Method::POST,
                &format!("/object/sign/media/{ALICE}/song.mp3"),
                token,
                json!({"expiresIn": 60}),
            )
            .await;
        assert_error(&r, "404", "NoSuchKey");
    }
    let r = Reply::read(
        h.req(
            Method::GET,
            &format!("/object/media/{ALICE}/song.mp3"),
            &alice,
        )
        .send()
        .await
        .expect("get"),
    )
    .await;
    assert_eq!(r.status, 200);

    // Deletes: Bob's attempt removes nothing; Alice's removes row and bytes.
    let r = h
        .json(
            Method::DELETE,
            "/object/media",
            &bob,
            json!({"prefixes": [format!("{ALICE}/song.mp3")]}),
        )
        .await;
    assert_eq!(r.json(), json!([]));
    assert_eq!(h.stored().await.len(), 1);
    let r = h
        .json(
            Method::DELETE,
            "/object/media",
            &alice,
            json!({"prefixes": [format!("{ALICE}/song.mp3")]}),
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.text);
    h.assert_store_matches_rows().await;
    assert!(h.stored().await.is_empty());
}

#[tokio::test]
async fn rls_decides_every_object_operation_on_files() {
    rls_decides(false).await;
}

#[tokio::test]
async fn rls_decides_every_object_operation_on_s3() {
    rls_decides(true).await;
}

#[tokio::test]
async fn limits_and_bad_input_store_nothing() {
    let h = Harness::start(false, &[]).await;
    let key = h.app.service_role_key.clone();
    h.bucket(
        "pics",
        json!({"file_size_limit": 1000, "allowed_mime_types": ["image/*"]}),
    )
    .await;

    let r = h
        .upload("pics/a.png", &key, pattern(1001), "image/png")
        .await;
    assert_error(&r, "413", "EntityTooLarge");
    let r = h
        .upload("pics/a.txt", &key, pattern(10), "text/plain")
        .await;
    assert_error(&r, "415", "InvalidMimeType");
    assert_eq!(r.json()["message"], "mime type text/plain is not supported");
    // A streamed body with no length is refused once it passes the limit.
    let chunks = futures_stream(vec![vec![1u8; 600], vec![2u8; 600]]);
    let r = Reply::read(
        h.req(Method::POST, "/object/pics/streamed.png", &key)
            .header("content-type", "image/png")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .expect("stream"),
    )
    .await;
    assert_error(&r, "413", "EntityTooLarge");
    // The dashboard's folder marker is exempt from the mime check (and limited to 0 bytes).
    let r = h
        .upload(
            "pics/folder/.emptyFolderPlaceholder",
            &key,
            Vec::new(),
            "text/plain",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Path tricks, sent byte for byte (an HTTP client would resolve the dot segments).
    for path in [
        "pics/%2e%2e/%2e%2e/etc/passwd",
        "pics/a/../b.png",
        "pics/a%00b.png",
        "pics/a%5Cb.png",
        "pics//abs.png",
        "pics/.",
        "pics/%2E%2E",
    ] {
        let r = raw_upload(&h, path, &key).await;
        assert!(r.starts_with("HTTP/1.1 400"), "{path}: {r}");
        assert!(r.contains("\"code\":\"InvalidKey\""), "{path}: {r}");
    }
    let long = format!("pics/{}.png", "x".repeat(1100));
    let r = h.upload(&long, &key, pattern(5), "image/png").await;
    assert_error(&r, "400", "InvalidKey");

    // A truncated multipart body.
    let r = Reply::read(
        h.req(Method::POST, "/object/pics/cut.png", &key)
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .body("--XYZ\r\nContent-Disposition: form-data; name=\"\"; filename=\"blob\"\r\nContent-Type: image/png\r\n\r\nabc")
            .send()
            .await
            .expect("cut"),
    )
    .await;
    assert_error(&r, "400", "InvalidRequest");
    // Unknown bucket.
    let r = h
        .upload("nobucket/a.png", &key, pattern(5), "image/png")
        .await;
    assert_error(&r, "404", "NoSuchBucket");
    // A bad token.
    let r = h
        .upload("pics/a.png", "not-a-jwt", pattern(5), "image/png")
        .await;
    assert_error(&r, "403", "AccessDenied");

    // A body shorter than its Content-Length, then the connection closes.
    {
        use tokio::io::AsyncWriteExt;
        let addr = h.app.url.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        let head = format!(
            "POST /storage/v1/object/pics/short.png HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\n\
             content-type: image/png\r\ncontent-length: 900\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("head");
        stream
            .write_all(&[9u8; 100])
            .await
            .expect("part of the body");
        drop(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows: i64 = h
        .app
        .db
        .query_one(
            "select count(*) from storage.objects where name = 'short.png'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0);

    h.assert_store_matches_rows().await;
    assert_eq!(h.stored().await.len(), 1, "{:?}", h.stored().await);
}

/// A POST of five bytes to `/storage/v1/object/<path>` exactly as written, over a raw
/// connection; the response as text.
async fn raw_upload(h: &Harness, path: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = h.app.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST /storage/v1/object/{path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: image/png\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).to_string()
}

fn futures_stream(
    chunks: Vec<Vec<u8>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::iter(chunks.into_iter().map(Ok))
}

#[tokio::test]
async fn public_and_signed_urls() {
    let h = Harness::start(false, &[FOLDER_POLICIES]).await;
    let key = h.app.service_role_key.clone();
    h.bucket("pubpics", json!({"public": true})).await;
    h.bucket("media", json!({})).await;
    assert_eq!(
        h.upload("pubpics/a.png", &key, pattern(64), "image/png")
            .await
            .status,
        200
    );
    assert_eq!(
        h.upload("media/secret.txt", &key, b"secret".to_vec(), "text/plain")
            .await
            .status,
        200
    );

    // Public buckets need no token; on the public route a private bucket is NoSuchBucket, as
    // upstream looks the bucket up with `isPublic: true`.
    let client = reqwest::Client::new();
    let (status, headers, body) = bytes(
        client
            .get(h.url("/object/public/pubpics/a.png?download=me%20.png"))
            .send()
            .await
            .expect("public"),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, pattern(64)));
    assert_eq!(
        headers
            .get("content-disposition")
            .and_then(|v| v.to_str().ok()),
        Some("attachment; filename=me%20.png; filename*=UTF-8''me%20.png")
    );
    let r = Reply::read(
        client
            .get(h.url("/object/public/media/secret.txt"))
            .send()
            .await
            .expect("private"),
    )
    .await;
    assert_error(&r, "404", "NoSuchBucket");

    // A signed URL, then the same URL tampered with, for another object, and expired.
    let r = h
        .json(
            Method::POST,
            "/object/sign/media/secret.txt",
            &key,
            json!({"expiresIn": 60}),
        )
        .await;
    let signed = r.json()["signedURL"]
        .as_str()
        .expect("signedURL")
        .to_string();
    assert!(
        signed.starts_with("/object/sign/media/secret.txt?token="),
        "{signed}"
    );
    let (status, _, body) = bytes(client.get(h.url(&signed)).send().await.expect("signed")).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"secret"[..]));
    let tampered = format!("{}x", signed);
    let r = Reply::read(client.get(h.url(&tampered)).send().await.expect("tampered")).await;
    assert_error(&r, "400", "InvalidJWT");
    let token = signed.split("token=").nth(1).expect("token");
    let r = Reply::read(
        client
            .get(h.url(&format!("/object/sign/pubpics/a.png?token={token}")))
            .send()
            .await
            .expect("other"),
    )
    .await;
    assert_error(&r, "400", "InvalidSignature");
    let expired = h
        .app
        .keys
        .sign(&json!({"url": "media/secret.txt", "scope": "download", "iat": 1, "exp": 2}));
    let r = Reply::read(
        client
            .get(h.url(&format!("/object/sign/media/secret.txt?token={expired}")))
            .send()
            .await
            .expect("expired"),
    )
    .await;
    assert_error(&r, "400", "InvalidJWT");
    assert_eq!(r.json()["message"], "\"exp\" claim timestamp check failed");

    // Batch signing: an entry per path, an error for the missing one.
    let r = h
        .json(
            Method::POST,
            "/object/sign/media",
            &key,
            json!({"expiresIn": 60, "paths": ["secret.txt", "missing.txt"]}),
        )
        .await;
    let entries = r.json();
    assert!(
        entries[0]["signedURL"]
            .as_str()
            .is_some_and(|u| u.starts_with("/object/sign/media/secret.txt?token=")),
        "{entries}"
    );
    assert_eq!(
        entries[1],
        json!({"error": "Either the object does not exist or you do not have access to it", "path": "missing.txt", "signedURL": null})
    );

    // Signed upload: Alice signs an upload into her folder; anyone holding the URL uploads it
    // once, owned by Alice; the token is no download token.
    let alice = h.app.user_token(ALICE, json!({}));
    let r = h
        .json(
            Method::POST,
            &format!("/object/upload/sign/media/{ALICE}/up.txt"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = r.json()["url"].as_str().expect("url").to_string();
    let token = r.json()["token"].as_str().expect("token").to_string();
    assert!(url.ends_with(&format!("?token={token}")));
    let r = Reply::read(
        client
            .put(h.url(&url))
            .header("content-type", "text/plain")
            .body("via signed url")
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()),
        (200, json!({"Key": format!("media/{ALICE}/up.txt")}))
    );
    let r = Reply::read(
        client
            .put(h.url(&url))
            .header("content-type", "text/plain")
            .body("twice")
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_error(&r, "409", "KeyAlreadyExists");
    let r = Reply::read(
        client
            .get(h.url(&format!("/object/sign/media/{ALICE}/up.txt?token={token}")))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_error(&r, "400", "InvalidSignature");
    let owner: String = h
        .app
        .db
        .query_one(
            "select owner_id from storage.objects where name = $1",
            &[&format!("{ALICE}/up.txt")],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(owner, ALICE);
    // Bob may not sign an upload into Alice's folder.
    let bob = h.app.user_token(BOB, json!({}));
    let r = h
        .json(
            Method::POST,
            &format!("/object/upload/sign/media/{ALICE}/bob.txt"),
            &bob,
            json!({}),
        )
        .await;
    assert_error(&r, "403", "AccessDenied");
}

#[tokio::test]
async fn the_sweeper_removes_only_unreferenced_bytes() {
    let dir = std::env::temp_dir().join(format!(
        "bucketbase-sweep-{}",
        uuid::Uuid::new_v4().simple()
    ));
    // What a crash leaves: a version no row names, and a staging file of a write cut short.
    let orphan = dir.join("docs/lost.txt/0b5e6d2c-crash");
    std::fs::create_dir_all(orphan.parent().expect("parent")).expect("mkdir");
    std::fs::write(&orphan, b"lost").expect("orphan");
    let staging = dir.join("docs/kept.txt/partial#1");
    std::fs::create_dir_all(staging.parent().expect("parent")).expect("mkdir");
    std::fs::write(&staging, b"half").expect("staging");
    let app = TestApp::builder()
        .env("FILE_STORAGE_BACKEND_PATH", dir.display().to_string())
        .env("BUCKETBASE_STORAGE_SWEEP_INTERVAL", "200ms")
        .env("BUCKETBASE_STORAGE_SWEEP_GRACE", "0s")
        .spawn()
        .await
        .expect("app");
    let h = Harness {
        app,
        backend: Backend::Files,
    };
    let key = h.app.service_role_key.clone();
    h.bucket("docs", json!({})).await;
    assert_eq!(
        h.upload("docs/kept.txt", &key, b"kept".to_vec(), "text/plain")
            .await
            .status,
        200
    );
    wait_until("the sweeper ran", Duration::from_secs(10), || async {
        !orphan.exists() && !staging.exists()
    })
    .await
    .expect("orphans removed");
    let (status, _, body) = bytes(
        h.req(Method::GET, "/object/docs/kept.txt", &key)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"kept"[..]));
    h.assert_store_matches_rows().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn policies_see_the_operation_as_upstream_names_it() {
    // A bucket whose objects may be listed but not downloaded, through upstream's
    // operation-aware helpers.
    let policies = "
        create policy ops_insert on storage.objects for insert to authenticated
          with check (bucket_id = 'ops' and storage.operation() = 'storage.object.upload');
        create policy ops_list on storage.objects for select to authenticated
          using (bucket_id = 'ops' and storage.allow_only_operation('object.list'));
    ";
    let h = Harness::start(false, &[policies]).await;
    h.bucket("ops", json!({})).await;
    let alice = h.app.user_token(ALICE, json!({}));
    let r = h
        .upload("ops/listed.txt", &alice, b"x".to_vec(), "text/plain")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = h
        .json(
            Method::POST,
            "/object/list/ops",
            &alice,
            json!({"prefix": ""}),
        )
        .await;
    assert_eq!(r.json()[0]["name"], "listed.txt", "{}", r.text);
    let r = Reply::read(
        h.req(Method::GET, "/object/ops/listed.txt", &alice)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_error(&r, "404", "NoSuchKey");
}
