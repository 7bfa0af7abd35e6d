//! The body templates named by `MAILER_TEMPLATES_*`, fetched and cached as GoTrue's
//! templatemailer does it (`internal/mailer/templatemailer/template.go`, `Cache`, with the
//! defaults of `internal/conf/configuration.go`):
//!
//! - one entry per mail kind, fetched with an HTTP GET on the first mail of that kind; only a
//!   `200` counts, the request times out after 10 s, bodies over 1,000,000 bytes are refused
//!   (GoTrue truncates them; a cut template is not worth sending) and so are bodies that are not
//!   UTF-8 or do not parse;
//! - an entry is used for `TemplateMaxAge` (10 min), then fetched again on the next mail; a
//!   failed fetch keeps the last good template and is not retried for `TemplateRetryInterval`
//!   (10 s);
//! - with no good template yet, the built-in body is used and the URL is tried again after the
//!   retry interval (GoTrue's background reloader does that; its lazy mode keeps the default
//!   for the full 10 minutes);
//! - concurrent mails of one kind wait for a single fetch (GoTrue's `singleflight`).
//!
//! Failures are logged as warnings with the URL's scheme, host and path only: a query string
//! may carry a signature.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::template::{ParseError, Template};
use super::MailKind;
use crate::config::TemplateUrl;

/// `TemplateMaxAge`.
const MAX_AGE: Duration = Duration::from_secs(600);
/// `TemplateRetryInterval`.
const RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// The fetch timeout of GoTrue's `fetch`.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// `TemplateMaxSize`.
const MAX_SIZE: usize = 1_000_000;

#[derive(Debug)]
struct Entry {
    body: Arc<Template>,
    created: Instant,
    checked: Instant,
    /// The built-in body, standing in after a failed first fetch.
    default: bool,
}

/// Why a template could not be loaded.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("no HTTP client: {0}")]
    NoClient(String),
    #[error("{0}")]
    Http(String),
    #[error("status {0}")]
    Status(u16),
    #[error("body larger than {MAX_SIZE} bytes")]
    TooLarge,
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// The per-kind cache of fetched body templates.
#[derive(Debug)]
pub(crate) struct TemplateCache {
    client: Result<reqwest::Client, String>,
    slots: [Mutex<Option<Entry>>; MailKind::ALL.len()],
    max_age: Duration,
    retry_interval: Duration,
}

impl TemplateCache {
    /// An empty cache with GoTrue's lifetimes.
    pub(crate) fn new() -> Self {
        Self::with_lifetimes(MAX_AGE, RETRY_INTERVAL)
    }

    fn with_lifetimes(max_age: Duration, retry_interval: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("bucketbase-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| error_chain(&e));
        Self {
            client,
            slots: std::array::from_fn(|_| Mutex::new(None)),
            max_age,
            retry_interval,
        }
    }

    /// The body template of `kind`: the one at `url` when it can be had, else the built-in one.
    pub(crate) async fn body(&self, kind: MailKind, url: Option<&TemplateUrl>) -> Arc<Template> {
        let Some(url) = url else {
            return Arc::new(kind.default_template());
        };
        // Held across the fetch, so that concurrent mails of this kind share one request.
        let mut slot = self.slots[kind.index()].lock().await;
        let now = Instant::now();
        if let Some(entry) = slot.as_ref() {
            let fresh = !entry.default && now.duration_since(entry.created) < self.max_age;
            let checked_recently = now.duration_since(entry.checked) < self.retry_interval;
            if fresh || checked_recently {
                return entry.body.clone();
            }
        }
        match self.load(url).await {
            Ok(template) => {
                let body = Arc::new(template);
                *slot = Some(Entry {
                    body: body.clone(),
                    created: now,
                    checked: now,
                    default: false,
                });
                body
            }
            Err(error) => {
                let checked = Instant::now();
                match slot.as_mut() {
                    Some(entry) => {
                        tracing::warn!(mail = kind.key(), template = %url.redacted(), %error,
                            "auth: mail template could not be fetched, using the last good copy");
                        entry.checked = checked;
                        entry.body.clone()
                    }
                    None => {
                        tracing::warn!(mail = kind.key(), template = %url.redacted(), %error,
                            "auth: mail template could not be fetched, using the built-in one");
                        let body = Arc::new(kind.default_template());
                        *slot = Some(Entry {
                            body: body.clone(),
                            created: checked,
                            checked,
                            default: true,
                        });
                        body
                    }
                }
            }
        }
    }

    async fn load(&self, url: &TemplateUrl) -> Result<Template, LoadError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| LoadError::NoClient(e.clone()))?;
        let mut res = client
            .get(url.url().clone())
            .send()
            .await
            .map_err(|e| LoadError::Http(error_chain(&e.without_url())))?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(LoadError::Status(res.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| LoadError::Http(error_chain(&e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_SIZE {
                return Err(LoadError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| LoadError::NotUtf8)?;
        Ok(Template::parse(&text)?)
    }
}

/// An error and its causes, `: `-separated (reqwest's own message omits the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::template::{Escape, Vars};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A tiny HTTP server answering every request with `status` and `body`; counts requests.
    async fn serve(status: &'static str, body: Vec<u8>) -> (TemplateUrl, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        let url =
            TemplateUrl::parse(&format!("http://127.0.0.1:{port}/t.html?sig=secret")).expect("url");
        (url, hits)
    }

    fn text(t: &Template) -> String {
        t.render(
            &Vars {
                fields: &[("Token", "1")],
                data: &serde_json::Value::Null,
            },
            Escape::Html,
        )
    }

    #[tokio::test]
    async fn fetches_once_and_serves_from_the_cache() {
        let (url, hits) = serve("200 OK", b"<b>{{ .Token }}</b>".to_vec()).await;
        let cache = TemplateCache::new();
        for _ in 0..3 {
            let body = cache.body(MailKind::Recovery, Some(&url)).await;
            assert_eq!(text(&body), "<b>1</b>");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refetches_after_the_max_age() {
        let (url, hits) = serve("200 OK", b"x".to_vec()).await;
        let cache = TemplateCache::with_lifetimes(Duration::ZERO, Duration::ZERO);
        cache.body(MailKind::Invite, Some(&url)).await;
        cache.body(MailKind::Invite, Some(&url)).await;
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn bad_answers_fall_back_to_the_built_in_body() {
        let default = text(&MailKind::MagicLink.default_template());
        for (status, body) in [
            ("404 Not Found", b"missing".to_vec()),
            ("204 No Content", Vec::new()),
            ("200 OK", vec![0xff, 0xfe, b'x']),
            ("200 OK", b"{{ if .Token }}unclosed".to_vec()),
            ("200 OK", vec![b'a'; MAX_SIZE + 1]),
        ] {
            let (url, hits) = serve(status, body).await;
            let cache = TemplateCache::new();
            let got = cache.body(MailKind::MagicLink, Some(&url)).await;
            assert_eq!(text(&got), default, "{status}");
            // Within the retry interval the fallback is served without asking again.
            cache.body(MailKind::MagicLink, Some(&url)).await;
            assert_eq!(hits.load(Ordering::SeqCst), 1, "{status}");
        }
    }

    #[tokio::test]
    async fn unreachable_hosts_fall_back_and_keep_the_last_good_copy() {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let dead = TemplateUrl::parse(&format!("http://127.0.0.1:{closed}/t.html")).expect("url");
        let cache = TemplateCache::with_lifetimes(Duration::ZERO, Duration::ZERO);
        let got = cache.body(MailKind::Confirmation, Some(&dead)).await;
        assert_eq!(text(&got), text(&MailKind::Confirmation.default_template()));

        let (url, _) = serve("200 OK", b"good".to_vec()).await;
        assert_eq!(
            text(&*cache.body(MailKind::Confirmation, Some(&url)).await),
            "good"
        );
        // The URL stops answering: the last good template stays in use.
        assert_eq!(
            text(&*cache.body(MailKind::Confirmation, Some(&dead)).await),
            "good"
        );
    }
}
