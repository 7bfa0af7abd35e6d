//! `/storage/v1/upload/resumable` (TUS 1.0) as supabase/storage serves it through @tus/server,
//! on both backends (a local directory, and a real S3 server: moto): creation (with and
//! without bytes), PATCHes in chunks of any size, HEAD offsets, a PATCH whose connection is cut
//! mid-body and the upload resumed, offset conflicts and a second writer refused while one is in
//! flight, termination, expiry and the sweep, RLS deciding at creation (nothing stored for a
//! caller who may not write), signed uploads with `x-signature`, size and mime limits; after
//! completion the object downloads byte-identical through the REST endpoints and the store
//! holds exactly one key per object and nothing of the upload's parts.

use std::time::Duration;

use base64::Engine;
use bucketbase_tests::{files_under, wait_until, Reply, S3Server, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALICE: &str = "5b7c8d9e-0000-4000-8000-00000000a11c";
const BOB: &str = "5b7c8d9e-0000-4000-8000-000000000b0b";

/// The prefix of upload parts as the store writes it (`~tus`, percent-encoded).
const PARTS: &str = "%7Etus/";

enum Backend {
    Files,
    S3(S3Server),
}

struct Harness {
    app: TestApp,
    backend: Backend,
}

impl Harness {
    async fn start(s3: bool, sql: &[&str], env: &[(&str, &str)]) -> Self {
        let backend = if s3 {
            Backend::S3(S3Server::start().await.expect("moto"))
        } else {
            Backend::Files
        };
        let mut builder = TestApp::builder();
        for s in sql {
            builder = builder.sql(s);
        }
        for (k, v) in env {
            builder = builder.env(*k, *v);
        }
        if let Backend::S3(s3) = &backend {
            builder = builder.envs(s3.env());
        }
        let app = builder.spawn().await.expect("app");
        Self { app, backend }
    }

    async fn stored(&self) -> Vec<String> {
        let mut keys = match &self.backend {
            Backend::Files => files_under(&self.app.storage_dir),
            Backend::S3(s3) => s3.keys().await.expect("list"),
        };
        keys.sort();
        keys
    }

    async fn parts(&self) -> Vec<String> {
        self.stored()
            .await
            .into_iter()
            .filter(|k| k.starts_with(PARTS))
            .collect()
    }

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

    /// The store holds exactly the keys the rows name: one per object, no parts.
    async fn assert_store_matches_rows(&self) {
        let matched = wait_until("store == rows", Duration::from_secs(10), || async {
            self.stored().await == self.referenced().await
        })
        .await;
        if matched.is_err() {
            panic!(
                "store {:?} != rows {:?}",
                self.stored().await,
                self.referenced().await
            );
        }
    }

    async fn records(&self, sql_filter: &str) -> i64 {
        self.app
            .db
            .query_one(
                &format!("select count(*) from storage_resumable.uploads where {sql_filter}"),
                &[],
            )
            .await
            .expect("count")
            .get(0)
    }

    fn endpoint(&self) -> String {
        format!("{}/storage/v1/upload/resumable", self.app.url)
    }

    /// A TUS request as tus-js-client sends it (`Tus-Resumable`, the token as Supabase's docs
    /// set it: `authorization` and `apikey`).
    fn tus(&self, method: Method, url: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self
            .app
            .http
            .request(method, url)
            .header("tus-resumable", "1.0.0");
        if let Some(token) = token {
            r = r
                .header("apikey", &self.app.anon_key)
                .header("authorization", format!("Bearer {token}"));
        }
        r
    }

    async fn create(
        &self,
        token: &str,
        meta: &[(&str, &str)],
        length: usize,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut r = self
            .tus(Method::POST, &self.endpoint(), Some(token))
            .header("upload-length", length.to_string())
            .header("upload-metadata", tus_metadata(meta));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(body) = body {
            r = r
                .header("content-type", "application/offset+octet-stream")
                .body(body);
        }
        Reply::read(r.send().await.expect("create")).await
    }

    async fn patch(&self, url: &str, token: Option<&str>, offset: usize, body: Vec<u8>) -> Reply {
        Reply::read(
            self.tus(Method::PATCH, url, token)
                .header("upload-offset", offset.to_string())
                .header("content-type", "application/offset+octet-stream")
                .body(body)
                .send()
                .await
                .expect("patch"),
        )
        .await
    }

    async fn head(&self, url: &str, token: Option<&str>) -> Reply {
        Reply::read(
            self.tus(Method::HEAD, url, token)
                .send()
                .await
                .expect("head"),
        )
        .await
    }

    async fn offset(&self, url: &str, token: &str) -> Option<u64> {
        let r = self.head(url, Some(token)).await;
        (r.status == StatusCode::OK)
            .then(|| r.header("upload-offset").and_then(|o| o.parse().ok()))
            .flatten()
    }

    async fn download(&self, bucket_and_name: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let res = self
            .app
            .request(
                Method::GET,
                &format!("/storage/v1/object/{bucket_and_name}"),
                token,
            )
            .send()
            .await
            .expect("download");
        let status = res.status();
        (status, res.bytes().await.expect("body").to_vec())
    }

    async fn bucket(&self, id: &str, extra: Value) {
        let mut body = json!({"name": id});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = Reply::read(
            self.app
                .request(
                    Method::POST,
                    "/storage/v1/bucket",
                    &self.app.service_role_key,
                )
                .json(&body)
                .send()
                .await
                .expect("bucket"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// How many advisory locks this test's database holds (a PATCH in flight holds one).
    async fn advisory_locks(&self) -> i64 {
        self.app
            .db
            .query_one(
                "select count(*) from pg_locks where locktype = 'advisory' and granted \
                 and database = (select oid from pg_database where datname = current_database())",
                &[],
            )
            .await
            .expect("locks")
            .get(0)
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `Upload-Metadata` as tus-js-client writes it.
fn tus_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", b64(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn meta<'a>(bucket: &'a str, name: &'a str, mime: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("bucketName", bucket),
        ("objectName", name),
        ("contentType", mime),
        ("cacheControl", "60"),
    ]
}

/// Deterministic bytes that are not all the same.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn location(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.header("location").expect("Location").to_string()
}

fn assert_tus(r: &Reply, status: u16, text: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.text, text);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
}

/// A PATCH written by hand on a socket: the head and the first `first` bytes of a body of
/// `length` bytes, the rest left to the caller (or never sent).
async fn raw_patch(
    h: &Harness,
    url: &str,
    token: &str,
    offset: usize,
    length: usize,
    first: &[u8],
) -> tokio::net::TcpStream {
    let addr = h.app.url.trim_start_matches("http://").to_string();
    let path = url.strip_prefix(&h.app.url).expect("same server");
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: {addr}\r\napikey: {anon}\r\nauthorization: Bearer {token}\r\n\
         tus-resumable: 1.0.0\r\nupload-offset: {offset}\r\n\
         content-type: application/offset+octet-stream\r\ncontent-length: {length}\r\n\
         connection: close\r\n\r\n",
        anon = h.app.anon_key
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(first).await.expect("body");
    stream.flush().await.expect("flush");
    stream
}

/// The status line and headers of the response on `stream` (read to the end).
async fn raw_response(mut stream: tokio::net::TcpStream) -> String {
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("response");
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

async fn round_trip(s3: bool) {
    let h = Harness::start(s3, &[], &[]).await;
    let key = h.app.service_role_key.clone();
    h.bucket("media", json!({})).await;

    // OPTIONS needs no token and says what is served.
    let r = Reply::read(
        h.app
            .http
            .request(Method::OPTIONS, h.endpoint())
            .send()
            .await
            .expect("options"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(r.header("tus-max-size"), Some("52428800"));
    assert_eq!(
        r.header("tus-extension"),
        Some("creation,creation-with-upload,termination,expiration")
    );

    // Tus-Resumable is required, in the one supported version.
    for version in [None, Some("0.2.2")] {
        let mut req = h
            .app
            .request(Method::POST, "/storage/v1/upload/resumable", &key)
            .header("upload-length", "1")
            .header(
                "upload-metadata",
                tus_metadata(&meta("media", "x", "text/plain")),
            );
        if let Some(v) = version {
            req = req.header("tus-resumable", v);
        }
        let r = Reply::read(req.send().await.expect("post")).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
        assert_eq!(r.header("tus-version"), Some("1.0.0"));
        assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    }
    assert_eq!(h.records("true").await, 0);

    // Creation, then PATCHes of odd sizes: 1 MiB, 3 bytes, the rest (over S3's part size).
    let data = pattern((1 << 20) + 3 + 9_000_000);
    let name = "videos/clip one.bin";
    let mut m = meta("media", name, "video/mp4");
    let user = json!({"lang": "en"}).to_string();
    m.push(("metadata", &user));
    let r = h.create(&key, &m, data.len(), &[], None).await;
    let url = location(&r);
    assert!(
        url.starts_with(&format!("{}/", h.endpoint())),
        "{url} is under {}",
        h.endpoint()
    );
    assert!(r
        .header("upload-expires")
        .is_some_and(|e| e.ends_with(" GMT")));
    assert_eq!(r.header("upload-offset"), None);
    let id = url.rsplit('/').next().expect("id");
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .expect("base64url");
    let decoded = String::from_utf8(decoded).expect("utf8");
    assert!(
        decoded.starts_with("media/videos/clip one.bin/"),
        "{decoded}"
    );

    let r = h.head(&url, Some(&key)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("upload-offset"), Some("0"));
    assert_eq!(
        r.header("upload-length"),
        Some(data.len().to_string().as_str())
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let echoed = r.header("upload-metadata").expect("metadata").to_string();
    assert!(
        echoed.contains(&format!("cacheControl {}", b64("max-age=60"))),
        "{echoed}"
    );
    assert!(
        echoed.contains(&format!("objectName {}", b64(name))),
        "{echoed}"
    );

    let one = 1 << 20;
    let r = h.patch(&url, Some(&key), 0, data[..one].to_vec()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(r.header("upload-offset"), Some(one.to_string().as_str()));
    assert!(r.header("upload-expires").is_some());
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));

    // The wrong offset is a conflict and changes nothing.
    let r = h.patch(&url, Some(&key), 0, data[..10].to_vec()).await;
    assert_tus(&r, 409, "Upload-Offset conflict\n");
    let r = h
        .patch(&url, Some(&key), one, data[one..one + 3].to_vec())
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let mut offset = one + 3;
    assert_eq!(h.offset(&url, &key).await, Some(offset as u64));

    // A PATCH whose connection is cut mid-body keeps what arrived.
    let sent = 2_000_005;
    let stream = raw_patch(
        &h,
        &url,
        &key,
        offset,
        data.len() - offset,
        &data[offset..offset + sent],
    )
    .await;
    drop(stream);
    wait_until(
        "the cut PATCH is stored",
        Duration::from_secs(20),
        || async { h.offset(&url, &key).await == Some((offset + sent) as u64) },
    )
    .await
    .expect("offset after the cut");
    offset += sent;

    // A second writer while a PATCH is in flight is refused; the first one finishes.
    let rest = &data[offset..];
    let mut slow = raw_patch(&h, &url, &key, offset, rest.len(), &rest[..1000]).await;
    wait_until(
        "the slow PATCH holds the lock",
        Duration::from_secs(20),
        || async { h.advisory_locks().await >= 1 },
    )
    .await
    .expect("lock held");
    let r = h.patch(&url, Some(&key), offset, rest.to_vec()).await;
    assert_tus(&r, 409, "The resource is locked\n");
    slow.write_all(&rest[1000..]).await.expect("rest");
    let response = raw_response(slow).await;
    assert!(response.starts_with("http/1.1 204"), "{response}");
    assert!(
        response.contains(&format!("upload-offset: {}\r\n", data.len())),
        "{response}"
    );
    assert!(response.contains("tus-complete: 1\r\n"), "{response}");
    assert_eq!(h.advisory_locks().await, 0);

    // The object is an ordinary one now.
    let (status, body) = h.download(&format!("media/{name}"), &key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == data, "downloaded {} bytes differ", body.len());
    let row = h
        .app
        .db
        .query_one(
            "select metadata, user_metadata from storage.objects where name = $1",
            &[&name],
        )
        .await
        .expect("row");
    let (system, user): (Value, Value) = (row.get(0), row.get(1));
    assert_eq!(system["mimetype"], "video/mp4");
    assert_eq!(system["cacheControl"], "max-age=60");
    assert_eq!(system["size"], data.len());
    assert_eq!(user, json!({"lang": "en"}));

    // Finished: HEAD reports the whole length, a PATCH at the end changes nothing, and it
    // cannot be terminated.
    assert_eq!(h.offset(&url, &key).await, Some(data.len() as u64));
    let r = h.patch(&url, Some(&key), data.len(), Vec::new()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = Reply::read(
        h.tus(Method::DELETE, &url, Some(&key))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_tus(&r, 400, "Cannot terminate an already completed upload");

    // Creation with upload: the first bytes in the POST, the rest in a PATCH.
    let small = pattern(10);
    let r = h
        .create(
            &key,
            &meta("media", "small.bin", "application/octet-stream"),
            10,
            &[],
            Some(small[..4].to_vec()),
        )
        .await;
    let small_url = location(&r);
    assert_eq!(r.header("upload-offset"), Some("4"));
    assert_eq!(h.offset(&small_url, &key).await, Some(4));
    let r = h
        .patch(&small_url, Some(&key), 4, small[4..].to_vec())
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(r.header("tus-complete"), Some("1"));
    assert_eq!(h.download("media/small.bin", &key).await.1, small);

    // The whole object in the POST, and an empty one without a body.
    let r = h
        .create(
            &key,
            &meta("media", "hello.txt", "text/plain"),
            5,
            &[],
            Some(b"hello".to_vec()),
        )
        .await;
    location(&r);
    assert_eq!(r.header("tus-complete"), Some("1"));
    assert_eq!(r.header("upload-expires"), None);
    assert_eq!(h.download("media/hello.txt", &key).await.1, b"hello");
    let r = h
        .create(
            &key,
            &meta("media", "empty.txt", "text/plain"),
            0,
            &[],
            None,
        )
        .await;
    location(&r);
    assert_eq!(r.header("tus-complete"), Some("1"));
    assert_eq!(
        h.download("media/empty.txt", &key).await,
        (StatusCode::OK, Vec::new())
    );

    // An existing name: refused at creation without x-upsert, replaced with it.
    let r = h
        .create(
            &key,
            &meta("media", "hello.txt", "text/plain"),
            3,
            &[],
            None,
        )
        .await;
    assert_tus(&r, 409, "The resource already exists");
    let r = h
        .create(
            &key,
            &meta("media", "hello.txt", "text/plain"),
            3,
            &[("x-upsert", "true")],
            Some(b"bye".to_vec()),
        )
        .await;
    location(&r);
    assert_eq!(h.download("media/hello.txt", &key).await.1, b"bye");

    // Termination removes the upload and its bytes.
    let r = h
        .create(
            &key,
            &meta("media", "dropped.bin", "text/plain"),
            100,
            &[],
            None,
        )
        .await;
    let dropped = location(&r);
    let r = h.patch(&dropped, Some(&key), 0, pattern(40)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.parts().await.len(), 1);
    let r = Reply::read(
        h.tus(Method::DELETE, &dropped, Some(&key))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        h.head(&dropped, Some(&key)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = h.patch(&dropped, Some(&key), 40, pattern(60)).await;
    assert_tus(&r, 404, "The file for this url was not found\n");

    assert_eq!(h.records("completed_at is null").await, 0);
    h.assert_store_matches_rows().await;
    assert!(h.parts().await.is_empty());
}

#[tokio::test]
async fn tus_round_trip_on_files() {
    round_trip(false).await;
}

#[tokio::test]
async fn tus_round_trip_on_s3() {
    round_trip(true).await;
}

/// Per-user folders, as Supabase's docs write the policy.
const FOLDER_POLICIES: &str = "
create policy \"own folder insert\" on storage.objects for insert to authenticated
  with check (bucket_id = 'media' and (storage.foldername(name))[1] = auth.uid()::text);
create policy \"own folder select\" on storage.objects for select to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = auth.uid()::text);
";

async fn rls_signatures_and_limits(s3: bool) {
    let h = Harness::start(s3, &[FOLDER_POLICIES], &[("FILE_SIZE_LIMIT", "5000000")]).await;
    let key = h.app.service_role_key.clone();
    h.bucket("media", json!({})).await;
    h.bucket(
        "pics",
        json!({"file_size_limit": 1000, "allowed_mime_types": ["image/*"]}),
    )
    .await;
    let alice = h.app.user_token(ALICE, json!({}));
    let bob = h.app.user_token(BOB, json!({}));

    // Alice writes into her folder; the row is hers.
    let data = pattern(3000);
    let own = format!("{ALICE}/song.mp3");
    let r = h
        .create(
            &alice,
            &meta("media", &own, "audio/mpeg"),
            data.len(),
            &[],
            None,
        )
        .await;
    let url = location(&r);
    let r = h.patch(&url, Some(&alice), 0, data.clone()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let owner: String = h
        .app
        .db
        .query_one(
            "select owner_id from storage.objects where name = $1",
            &[&own],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(owner, ALICE);
    assert_eq!(h.download(&format!("media/{own}"), &alice).await.1, data);

    // Bob may not write there: refused at creation, with or without bytes; nothing stored.
    let theirs = format!("{ALICE}/bob-was-here.mp3");
    for body in [None, Some(pattern(500))] {
        let r = h
            .create(&bob, &meta("media", &theirs, "audio/mpeg"), 500, &[], body)
            .await;
        assert_tus(&r, 403, "new row violates row-level security policy");
    }
    assert_eq!(h.records(&format!("name = '{theirs}'")).await, 0);
    // Nor append to Alice's upload.
    let r = h
        .create(
            &alice,
            &meta("media", &format!("{ALICE}/b.mp3"), "audio/mpeg"),
            10,
            &[],
            None,
        )
        .await;
    let pending = location(&r);
    let r = h.patch(&pending, Some(&bob), 0, pattern(10)).await;
    assert_tus(&r, 403, "new row violates row-level security policy");
    assert_eq!(h.offset(&pending, &alice).await, Some(0));
    assert!(h.parts().await.is_empty());
    // A bad token is refused before TUS runs, in the service's envelope.
    let r = h
        .create("not.a.jwt", &meta("media", "x", "text/plain"), 1, &[], None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json()["statusCode"], "403");
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));

    // Signed: the token of /object/upload/sign decides, no Authorization needed.
    let signed_name = format!("{ALICE}/signed.bin");
    let r = Reply::read(
        h.app
            .request(
                Method::POST,
                &format!("/storage/v1/object/upload/sign/media/{signed_name}"),
                &alice,
            )
            .json(&json!({}))
            .send()
            .await
            .expect("sign"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["token"].as_str().expect("token").to_string();
    let signed_endpoint = format!("{}/sign", h.endpoint());
    let signed_create = |signature: Option<&str>, name: &str| {
        let mut r = h
            .tus(Method::POST, &signed_endpoint, None)
            .header("upload-length", "2000")
            .header(
                "upload-metadata",
                tus_metadata(&meta("media", name, "application/octet-stream")),
            );
        if let Some(s) = signature {
            r = r.header("x-signature", s.to_string());
        }
        r
    };
    let r = Reply::read(
        signed_create(None, &signed_name)
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_tus(&r, 400, "Missing x-signature header");
    let r = Reply::read(
        signed_create(Some(&token), &format!("{ALICE}/other.bin"))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_tus(&r, 400, "Invalid signature");
    let r = Reply::read(
        signed_create(Some(&token), &signed_name)
            .send()
            .await
            .expect("post"),
    )
    .await;
    let signed_url = location(&r);
    assert!(
        signed_url.starts_with(&format!("{signed_endpoint}/")),
        "{signed_url}"
    );
    let signed_data = pattern(2000);
    for (offset, chunk) in [(0, &signed_data[..777]), (777, &signed_data[777..])] {
        let r = Reply::read(
            h.tus(Method::PATCH, &signed_url, None)
                .header("x-signature", &token)
                .header("upload-offset", offset.to_string())
                .header("content-type", "application/offset+octet-stream")
                .body(chunk.to_vec())
                .send()
                .await
                .expect("patch"),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let owner: String = h
        .app
        .db
        .query_one(
            "select owner_id from storage.objects where name = $1",
            &[&signed_name],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(owner, ALICE);
    assert_eq!(
        h.download(&format!("media/{signed_name}"), &alice).await.1,
        signed_data
    );

    // Limits: the server's and the bucket's size, the bucket's mime types, at creation.
    let r = h
        .create(
            &key,
            &meta("media", "big.bin", "text/plain"),
            5_000_001,
            &[],
            None,
        )
        .await;
    assert_tus(&r, 413, "Maximum size exceeded\n");
    let r = h
        .create(&key, &meta("pics", "a.png", "image/png"), 1001, &[], None)
        .await;
    assert_tus(&r, 413, "Maximum size exceeded\n");
    let r = h
        .create(&key, &meta("pics", "a.txt", "text/plain"), 10, &[], None)
        .await;
    assert_tus(&r, 415, "mime type text/plain is not supported");
    let r = h
        .create(&key, &meta("nope", "a.txt", "text/plain"), 10, &[], None)
        .await;
    assert_tus(&r, 404, "Bucket not found");
    let r = Reply::read(
        h.tus(Method::POST, &h.endpoint(), Some(&key))
            .header("upload-length", "1")
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_tus(&r, 400, "Metadata header is required");
    assert_eq!(h.records("bucket_id = 'pics' or name = 'big.bin'").await, 0);

    // Bytes beyond Upload-Length are refused whole, declared or streamed.
    let r = h
        .create(&key, &meta("pics", "a.png", "image/png"), 1000, &[], None)
        .await;
    let png = location(&r);
    let r = h.patch(&png, Some(&key), 0, pattern(1001)).await;
    assert_tus(&r, 413, "upload's size exceeded\n");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(pattern(600)), Ok(pattern(401))];
    let r = Reply::read(
        h.tus(Method::PATCH, &png, Some(&key))
            .header("upload-offset", "0")
            .header("content-type", "application/offset+octet-stream")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_tus(&r, 413, "Maximum size exceeded\n");
    assert_eq!(h.offset(&png, &key).await, Some(0));
    assert!(h.parts().await.is_empty());
    let r = h.patch(&png, Some(&key), 0, pattern(1000)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Unknown and malformed upload URLs.
    let unknown = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode("media/x.bin/0b5e6d2c-7b44-4b2a-9d0e-2f6f0c8f1a11");
    let r = h
        .patch(
            &format!("{}/{unknown}", h.endpoint()),
            Some(&key),
            0,
            pattern(1),
        )
        .await;
    assert_tus(&r, 404, "The file for this url was not found\n");
    let r = h
        .patch(
            &format!("{}/garbage", h.endpoint()),
            Some(&key),
            0,
            pattern(1),
        )
        .await;
    assert_tus(&r, 400, "Invalid upload id");

    h.assert_store_matches_rows().await;
}

#[tokio::test]
async fn tus_rls_signatures_and_limits_on_files() {
    rls_signatures_and_limits(false).await;
}

#[tokio::test]
async fn tus_rls_signatures_and_limits_on_s3() {
    rls_signatures_and_limits(true).await;
}

async fn expiry(s3: bool) {
    let h = Harness::start(
        s3,
        &[],
        &[
            ("BUCKETBASE_STORAGE_TUS_EXPIRY", "3s"),
            ("BUCKETBASE_STORAGE_SWEEP_INTERVAL", "200ms"),
        ],
    )
    .await;
    let key = h.app.service_role_key.clone();
    h.bucket("media", json!({})).await;
    // One finished upload, one left half-way.
    let r = h
        .create(
            &key,
            &meta("media", "done.txt", "text/plain"),
            4,
            &[],
            Some(b"done".to_vec()),
        )
        .await;
    location(&r);
    let r = h
        .create(
            &key,
            &meta("media", "abandoned.bin", "text/plain"),
            1000,
            &[],
            Some(pattern(100)),
        )
        .await;
    let abandoned = location(&r);
    let expires = r
        .header("upload-expires")
        .expect("Upload-Expires")
        .to_string();
    assert!(expires.ends_with(" GMT"), "{expires}");

    wait_until(
        "expired uploads are swept",
        Duration::from_secs(30),
        || async { h.records("true").await == 0 && h.parts().await.is_empty() },
    )
    .await
    .expect("swept");
    let r = h.head(&abandoned, Some(&key)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The finished upload's object is untouched.
    assert_eq!(h.download("media/done.txt", &key).await.1, b"done");
    h.assert_store_matches_rows().await;
}

#[tokio::test]
async fn expired_uploads_are_swept_on_files() {
    expiry(false).await;
}

#[tokio::test]
async fn expired_uploads_are_swept_on_s3() {
    expiry(true).await;
}

/// Sets `path`'s modification time an hour back, past the sweeper's grace.
fn age(path: &std::path::Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600)))
        .expect("set mtime");
}

#[tokio::test]
async fn the_sweeper_keeps_the_parts_of_live_uploads() {
    let h = Harness::start(
        false,
        &[],
        &[
            ("BUCKETBASE_STORAGE_SWEEP_INTERVAL", "200ms"),
            ("BUCKETBASE_STORAGE_SWEEP_GRACE", "10m"),
        ],
    )
    .await;
    let key = h.app.service_role_key.clone();
    h.bucket("media", json!({})).await;
    let data = pattern(5000);
    let r = h
        .create(
            &key,
            &meta("media", "live.bin", "application/octet-stream"),
            data.len(),
            &[],
            Some(data[..1234].to_vec()),
        )
        .await;
    let url = location(&r);
    let live = h.parts().await;
    assert_eq!(live.len(), 1, "{:?}", h.stored().await);
    let dir = h.app.storage_dir.clone();
    // The live upload's part is older than the grace now, as is what a crash leaves: an object
    // version no row names and a part no upload names.
    age(&dir.join(&live[0]));
    let orphan = dir.join("media/lost.txt/0b5e6d2c-crash");
    let orphan_part = dir.join("%7Etus/0b5e6d2c-7b44-4b2a-9d0e-2f6f0c8f1a11/00000000000000000000");
    for f in [&orphan, &orphan_part] {
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(f, b"lost").expect("orphan");
        age(f);
    }
    wait_until("the sweeper ran", Duration::from_secs(20), || async {
        !orphan.exists() && !orphan_part.exists()
    })
    .await
    .expect("orphans removed");
    assert_eq!(h.parts().await, live);
    let r = h.patch(&url, Some(&key), 1234, data[1234..].to_vec()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.download("media/live.bin", &key).await.1, data);
    h.assert_store_matches_rows().await;
}
