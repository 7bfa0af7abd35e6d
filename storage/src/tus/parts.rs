//! The bytes of an unfinished upload. Upstream writes a TUS upload straight into its object's
//! key (the file store appends to one file, the S3 store uploads multipart parts of
//! `TUS_PART_SIZE`, which is why Supabase asks clients for 6 MB chunks). Here any chunk size
//! works on both backends: each PATCH's bytes become one part object,
//! `~tus/<version>/<offset, 20 digits>` (the store writes the prefix as `%7Etus`; `~` is not
//! allowed in bucket names, so no bucket's keys can share it), and when the last byte arrives
//! the parts are streamed in order into the object's version key with [`Store::put`], as any
//! other upload writes it. A PATCH whose connection drops keeps the part it had received.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::{Path, PathPart};

use super::id::UploadId;
use crate::store::{Store, Written};
use crate::Error;

/// The first segment of every part key.
pub(crate) const PREFIX: &str = "~tus";

/// `~tus/<version>/`.
fn prefix(version: &str) -> Path {
    Path::from_iter([PathPart::from(PREFIX), PathPart::from(version)])
}

/// The key of the part that starts at `offset`.
fn part_key(version: &str, offset: u64) -> Path {
    Path::from_iter([
        PathPart::from(PREFIX),
        PathPart::from(version),
        PathPart::from(format!("{offset:020}").as_str()),
    ])
}

/// Whether `key` is a part of some upload (the general sweeper leaves those to the TUS one).
pub(crate) fn is_part_key(key: &Path) -> bool {
    key.parts().next() == Some(PathPart::from(PREFIX))
}

/// The version a part key belongs to.
pub(crate) fn version_of(key: &Path) -> Option<String> {
    let mut parts = key.parts();
    (parts.next()? == PathPart::from(PREFIX)).then_some(())?;
    Some(parts.next()?.as_ref().to_string())
}

/// Stores one PATCH body as the part at `offset`, refusing it whole (nothing stored) once it
/// passes `limit` bytes. A body that fails while it is read (the client went away) ends the
/// part there: what arrived is kept. Returns the bytes stored.
pub(crate) async fn write(
    store: &Store,
    version: &str,
    offset: u64,
    body: BoxStream<'static, Result<Bytes, Error>>,
    limit: u64,
) -> Result<u64, Error> {
    let mut received: BoxStream<'static, Result<Bytes, Infallible>> = body
        .take_while(|chunk| std::future::ready(chunk.is_ok()))
        .filter_map(|chunk| std::future::ready(chunk.ok().map(Ok)))
        .boxed();
    // Nothing received: no part.
    let first = loop {
        match received.next().await {
            None => return Ok(0),
            Some(Ok(chunk)) if chunk.is_empty() => continue,
            Some(Ok(chunk)) => break chunk,
        }
    };
    let key = part_key(version, offset);
    match store.put(&key, first, received, limit).await {
        Ok(written) => Ok(written.size),
        Err(Error::EntityTooLarge) => Err(Error::Tus {
            status: 413,
            message: "Maximum size exceeded\n".into(),
        }),
        Err(e) => {
            store.remove(&key).await;
            Err(e)
        }
    }
}

/// One stored part.
#[derive(Debug, Clone)]
struct Part {
    offset: u64,
    size: u64,
    key: Path,
}

/// The parts of `version`, by offset.
async fn list(store: &Store, version: &str) -> Result<Vec<Part>, Error> {
    let mut parts: Vec<Part> = store
        .list(Some(&prefix(version)))
        .try_filter_map(|meta| async move {
            let offset = meta
                .location
                .filename()
                .filter(|n| n.len() == 20)
                .and_then(|n| n.parse::<u64>().ok());
            Ok(offset.map(|offset| Part {
                offset,
                size: meta.size,
                key: meta.location,
            }))
        })
        .try_collect()
        .await?;
    parts.sort_by_key(|p| p.offset);
    Ok(parts)
}

/// Streams the parts of `upload`, in order, into the object's version key; the parts must
/// cover exactly `length` bytes. Nothing is left at the version key on failure.
pub(crate) async fn assemble(
    store: &Store,
    upload: &UploadId,
    length: u64,
) -> Result<Written, Error> {
    // The chain of parts from 0: a PATCH retried at the same offset overwrote its part, so
    // there is one part per offset, and each starts where the previous one ended.
    let mut chain = Vec::new();
    let mut end = 0;
    for part in list(store, &upload.version).await? {
        if part.offset == end && part.size > 0 {
            end += part.size;
            chain.push(part.key);
        }
    }
    if end != length {
        return Err(Error::Internal(format!(
            "the parts of upload {} cover {end} of its {length} bytes",
            upload.version
        )));
    }
    let reader = store.clone();
    let bytes = futures_util::stream::iter(chain)
        .then(move |key| {
            let reader = reader.clone();
            async move { reader.get(&key, None).await.map(|read| read.stream) }
        })
        .try_flatten()
        .boxed();
    let key = Store::key(&upload.bucket, &upload.name, &upload.version);
    match store.put(&key, Bytes::new(), bytes, length).await {
        Ok(written) if written.size == length => Ok(written),
        Ok(written) => {
            store.remove(&key).await;
            Err(Error::Internal(format!(
                "upload {} assembled {} of its {length} bytes",
                upload.version, written.size
            )))
        }
        Err(e) => {
            store.remove(&key).await;
            // A part that could not be read is not the client's doing.
            Err(match e {
                Error::BodyFailed(cause) => Error::Internal(cause),
                other => other,
            })
        }
    }
}

/// Removes every part of `version`.
pub(crate) async fn remove_all(store: &Store, version: &str) -> Result<(), Error> {
    let keys: Vec<Path> = store
        .list(Some(&prefix(version)))
        .map_ok(|meta| meta.location)
        .try_collect()
        .await?;
    for key in keys {
        store.remove(&key).await;
    }
    Ok(())
}

/// Every part key in the store with its last-modified time (for the sweeper).
pub(crate) fn all(store: &Store) -> BoxStream<'static, Result<object_store::ObjectMeta, Error>> {
    store.list(Some(&Path::from_iter([PathPart::from(PREFIX)])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_keys_sort_by_offset_and_cannot_be_a_bucket() {
        let a = part_key("v", 9);
        let b = part_key("v", 10);
        assert!(a.as_ref() < b.as_ref());
        assert_eq!(a.as_ref(), "%7Etus/v/00000000000000000009");
        assert!(is_part_key(&a));
        assert_eq!(version_of(&a).as_deref(), Some("v"));
        assert!(!crate::bucket::valid_bucket_name(PREFIX));
        assert!(!crate::bucket::valid_bucket_name("%7Etus"));
        assert!(!is_part_key(&Store::key(".tus", "x", "v")));
    }

    #[tokio::test]
    async fn a_body_cut_short_keeps_what_arrived_and_parts_join_in_order() {
        let dir = std::env::temp_dir().join(format!("bb-tus-{}", uuid::Uuid::new_v4()));
        let store =
            Store::open(&crate::config::BackendConfig::File { root: dir.clone() }).expect("open");
        let upload = UploadId {
            bucket: "b".into(),
            name: "n".into(),
            version: "v1".into(),
        };
        let cut: BoxStream<'static, Result<Bytes, Error>> = futures_util::stream::iter([
            Ok(Bytes::from_static(b"hello ")),
            Err(Error::body("connection reset")),
            Ok(Bytes::from_static(b"never")),
        ])
        .boxed();
        assert_eq!(write(&store, "v1", 0, cut, 100).await.expect("part"), 6);
        let rest: BoxStream<'static, Result<Bytes, Error>> =
            futures_util::stream::iter([Ok(Bytes::from_static(b"world"))]).boxed();
        assert_eq!(write(&store, "v1", 6, rest, 5).await.expect("part"), 5);
        let too_long: BoxStream<'static, Result<Bytes, Error>> =
            futures_util::stream::iter([Ok(Bytes::from_static(b"!!"))]).boxed();
        assert!(write(&store, "v1", 11, too_long, 1).await.is_err());
        let written = assemble(&store, &upload, 11).await.expect("assembled");
        assert_eq!(written.etag, crate::store::etag_of(b"hello world"));
        remove_all(&store, "v1").await.expect("removed");
        let left: Vec<_> = store.list(None).try_collect().await.expect("list");
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].location, Store::key("b", "n", "v1"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
