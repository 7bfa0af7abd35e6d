//! Object bytes, through `object_store`: a local directory (upstream's `file` backend) or an S3
//! bucket (upstream's `s3` backend). Keys are laid out as upstream's
//! (`src/storage/locator.ts`, without the tenant): `<bucket>/<object name>/<version>`, and
//! every upload writes a fresh version, so bytes are never overwritten in place. A version
//! becomes visible only when the row of `storage.objects` naming it commits; until then it is
//! an unreferenced key, which the upload removes on every error path and the sweeper
//! ([`crate::sweep`]) removes after a crash.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::config::BackendConfig;
use crate::Error;

/// Bodies up to this size are written in one request; larger ones stream as multipart parts
/// of this size (S3 asks for at least 5 MiB per part), so a transfer holds about two parts in
/// memory whatever its size.
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// What a finished write measured.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// Bytes written.
    pub(crate) size: u64,
    /// The quoted MD5 of the bytes, upstream's `eTag`.
    pub(crate) etag: String,
}

/// The bytes of one object version, read back.
pub(crate) struct Read {
    /// The body (the requested range of it).
    pub(crate) stream: futures_util::stream::BoxStream<'static, Result<Bytes, Error>>,
}

/// The object store of the service.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    inner: Arc<dyn ObjectStore>,
    /// The directory of the file backend (the sweeper walks it for abandoned staging files).
    pub(crate) local_root: Option<std::path::PathBuf>,
}

fn store_error(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NoSuchKey,
        other => Error::Internal(format!("object store: {other}")),
    }
}

impl Store {
    /// Opens the configured backend (creating the file backend's directory).
    pub(crate) fn open(config: &BackendConfig) -> Result<Self, String> {
        match config {
            BackendConfig::File { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| format!("cannot create storage directory {root:?}: {e}"))?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(root)
                    .map_err(|e| format!("storage directory {root:?}: {e}"))?
                    .with_automatic_cleanup(true);
                Ok(Self {
                    inner: Arc::new(fs),
                    local_root: Some(root.clone()),
                })
            }
            BackendConfig::S3 {
                bucket,
                endpoint,
                path_style,
                region,
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_virtual_hosted_style_request(!path_style);
                if let Some(endpoint) = endpoint {
                    b = b
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(k) = access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = secret_access_key {
                    b = b.with_secret_access_key(s);
                }
                if let Some(t) = session_token {
                    b = b.with_token(t);
                }
                let s3 = b.build().map_err(|e| format!("S3 backend: {e}"))?;
                Ok(Self {
                    inner: Arc::new(s3),
                    local_root: None,
                })
            }
        }
    }

    /// The key of one version of an object.
    pub(crate) fn key(bucket: &str, name: &str, version: &str) -> Path {
        let mut parts = vec![object_store::path::PathPart::from(bucket)];
        parts.extend(name.split('/').map(object_store::path::PathPart::from));
        parts.push(object_store::path::PathPart::from(version));
        Path::from_iter(parts)
    }

    /// Writes `body` at `key`, refusing it once it passes `limit` bytes (nothing is left at
    /// `key` then, nor on any other error). `first` is what was already read of the body.
    pub(crate) async fn put<S, E>(
        &self,
        key: &Path,
        first: Bytes,
        mut body: S,
        limit: u64,
    ) -> Result<Written, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut md5 = Md5::new();
        let mut size = first.len() as u64;
        if size > limit {
            return Err(Error::EntityTooLarge);
        }
        md5.update(&first);
        let mut buffer = BytesMut::from(&first[..]);
        // Small bodies: one request.
        let mut ended = false;
        while buffer.len() < PART_SIZE {
            match body.next().await {
                None => {
                    ended = true;
                    break;
                }
                Some(chunk) => {
                    let chunk = chunk.map_err(Error::body)?;
                    size += chunk.len() as u64;
                    if size > limit {
                        return Err(Error::EntityTooLarge);
                    }
                    md5.update(&chunk);
                    buffer.extend_from_slice(&chunk);
                }
            }
        }
        if ended {
            self.inner
                .put(key, PutPayload::from(buffer.freeze()))
                .await
                .map_err(store_error)?;
            return Ok(Written {
                size,
                etag: etag(md5),
            });
        }
        let upload = self.inner.put_multipart(key).await.map_err(store_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        writer.put(buffer.freeze());
        let streamed: Result<(), Error> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(Error::body)?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(Error::EntityTooLarge);
                }
                md5.update(&chunk);
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(store_error)?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match streamed {
            Ok(()) => {
                writer.finish().await.map_err(store_error)?;
                Ok(Written {
                    size,
                    etag: etag(md5),
                })
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key = %key, error = %abort, "could not abort an upload; the sweeper removes it");
                }
                Err(e)
            }
        }
    }

    /// Reads `range` (all of it when `None`) of the bytes at `key`.
    pub(crate) async fn get(&self, key: &Path, range: Option<Range<u64>>) -> Result<Read, Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self
            .inner
            .get_opts(key, options)
            .await
            .map_err(store_error)?;
        let range = result.range.clone();
        let stream = match result.payload {
            // object_store reads files 8 KiB per blocking call; larger reads keep a download
            // near the disk's speed with a bounded buffer.
            object_store::GetResultPayload::File(file, _) => file_stream(file, range),
            object_store::GetResultPayload::Stream(s) => {
                s.map(|chunk| chunk.map_err(store_error)).boxed()
            }
        };
        Ok(Read { stream })
    }

    /// Copies the bytes at `from` to `to` (a hard link or rename-free copy on files, a
    /// server-side copy on S3).
    pub(crate) async fn copy(&self, from: &Path, to: &Path) -> Result<(), Error> {
        self.inner.copy(from, to).await.map_err(store_error)
    }

    /// Removes the bytes at `key`; a key already gone is not an error. Failures are logged
    /// (the sweeper retries them), never returned: the rows have already changed.
    pub(crate) async fn remove(&self, key: &Path) {
        match self.inner.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "could not remove stale object bytes; the sweeper retries")
            }
        }
    }

    /// Removes many keys, in the background.
    pub(crate) fn remove_later(&self, keys: Vec<Path>) {
        if keys.is_empty() {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            for key in keys {
                store.remove(&key).await;
            }
        });
    }

    /// Every key under `prefix` with its last-modified time.
    pub(crate) fn list(
        &self,
        prefix: Option<&Path>,
    ) -> futures_util::stream::BoxStream<'static, Result<object_store::ObjectMeta, Error>> {
        self.inner
            .list(prefix)
            .map(|r| r.map_err(store_error))
            .boxed()
    }
}

/// Bytes read per blocking call when streaming a file.
const READ_CHUNK: usize = 512 * 1024;

/// `range` of `file`, read on the blocking pool `READ_CHUNK` bytes at a time.
fn file_stream(
    file: std::fs::File,
    range: Range<u64>,
) -> futures_util::stream::BoxStream<'static, Result<Bytes, Error>> {
    futures_util::stream::try_unfold(
        (file, range.start, range.end),
        |(mut file, pos, end)| async move {
            if pos >= end {
                return Ok(None);
            }
            let want = (end - pos).min(READ_CHUNK as u64) as usize;
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                use std::io::{Read as _, Seek, SeekFrom};
                file.seek(SeekFrom::Start(pos))?;
                let mut buf = vec![0u8; want];
                let mut filled = 0;
                while filled < want {
                    match file.read(&mut buf[filled..])? {
                        0 => break,
                        n => filled += n,
                    }
                }
                buf.truncate(filled);
                Ok::<_, std::io::Error>((file, buf))
            })
            .await
            .map_err(|e| Error::Internal(format!("file read task: {e}")))?
            .map_err(|e| Error::Internal(format!("file read: {e}")))?;
            if chunk.is_empty() {
                return Err(Error::Internal(
                    "object file shorter than its metadata".into(),
                ));
            }
            let next = pos + chunk.len() as u64;
            Ok(Some((Bytes::from(chunk), (file, next, end))))
        },
    )
    .boxed()
}

fn etag(md5: Md5) -> String {
    let digest = md5.finalize();
    let mut s = String::with_capacity(34);
    s.push('"');
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('"');
    s
}

/// The quoted MD5 of `bytes`.
pub(crate) fn etag_of(bytes: &[u8]) -> String {
    let mut md5 = Md5::new();
    md5.update(bytes);
    etag(md5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bucket_name_version() {
        assert_eq!(
            Store::key("avatars", "u1/a b.png", "v1").as_ref(),
            "avatars/u1/a b.png/v1"
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("bb-store-{}", uuid::Uuid::new_v4()));
        let store = Store::open(&BackendConfig::File { root: dir.clone() }).expect("open");
        let key = Store::key("b", "big", "v");
        let chunks = (0..3).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![7u8; PART_SIZE])));
        let e = store
            .put(
                &key,
                Bytes::new(),
                futures_util::stream::iter(chunks),
                2 * PART_SIZE as u64,
            )
            .await
            .expect_err("too large");
        assert!(matches!(e, Error::EntityTooLarge));
        let left: Vec<_> = walk(&dir);
        assert!(left.is_empty(), "{left:?}");
        let small =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"hi"))]);
        let w = store.put(&key, Bytes::new(), small, 10).await.expect("put");
        assert_eq!(w.size, 2);
        assert_eq!(w.etag, "\"49f68a5c8493ec2c0bf489821c21fc3b\"");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path());
                }
            }
        }
        out
    }
}
