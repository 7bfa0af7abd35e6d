//! The sweeper: removes bytes no row of `storage.objects` names, which only a crash can leave
//! (between an upload's write and its commit, or between a commit and the removal of the
//! version it replaced; or a file backend's staging file of an interrupted write). Upstream
//! relies on a queue of delete jobs for the second case and has nothing for the first. Every
//! `interval` it lists the store, and removes each key older than `grace` whose
//! `(bucket, name, version)` matches no row; on the file backend it also removes staging files
//! (`<key>#<n>`) older than `grace`. Keys younger than `grace` may belong to a write still in
//! flight and are left alone.

use std::time::{Duration, SystemTime};

use bucketbase_kit::Shutdown;
use bucketbase_sql::request_tx::Access;
use futures_util::StreamExt;

use crate::store::Store;
use crate::State;

/// Runs [`sweep_once`] and the TUS sweep every `sweep_interval` until shutdown.
pub(crate) async fn run(state: State, mut stop: Shutdown) {
    let (interval, grace) = (state.config.sweep_interval, state.config.sweep_grace);
    loop {
        tokio::select! {
            _ = stop.signalled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match sweep_once(&state, grace).await {
            Ok(n) if n > 0 => {
                tracing::info!(removed = n, "storage sweeper removed unreferenced bytes")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "storage sweeper failed; it retries next round"),
        }
        match crate::tus::sweep::sweep_once(&state, grace).await {
            Ok(n) if n > 0 => {
                tracing::info!(
                    removed = n,
                    "storage sweeper removed expired resumable uploads"
                )
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "resumable upload sweep failed; it retries next round")
            }
        }
    }
}

/// One pass; returns how many keys and staging files it removed.
pub(crate) async fn sweep_once(state: &State, grace: Duration) -> Result<usize, String> {
    let cutoff =
        chrono::Utc::now() - chrono::Duration::from_std(grace).map_err(|e| e.to_string())?;
    let mut removed = 0;
    let mut listing = state.store.list(None);
    let mut batch: Vec<object_store::path::Path> = Vec::new();
    loop {
        let next = listing.next().await;
        let done = next.is_none();
        if let Some(meta) = next {
            let meta = meta.map_err(|e| e.to_string())?;
            if meta.last_modified < cutoff
                && meta.location.parts().count() >= 3
                && !crate::tus::is_part_key(&meta.location)
            {
                batch.push(meta.location);
            }
        }
        if batch.len() >= 1000 || (done && !batch.is_empty()) {
            removed += remove_unreferenced(state, std::mem::take(&mut batch)).await?;
        }
        if done {
            break;
        }
    }
    if let Some(root) = state.store.local_root.clone() {
        removed += tokio::task::spawn_blocking(move || remove_staging_files(&root, grace))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(removed)
}

/// Removes the keys of `batch` that no row names.
async fn remove_unreferenced(
    state: &State,
    batch: Vec<object_store::path::Path>,
) -> Result<usize, String> {
    let mut buckets = Vec::new();
    let mut names = Vec::new();
    let mut versions = Vec::new();
    for key in &batch {
        // Parts come back percent-encoded (`what%3F.txt`); the rows hold the names as written.
        let parts: Vec<String> = key.parts().map(|p| percent_decode(p.as_ref())).collect();
        let (Some(bucket), Some(version)) = (parts.first(), parts.last()) else {
            continue;
        };
        buckets.push(bucket.clone());
        versions.push(version.clone());
        names.push(parts[1..parts.len() - 1].join("/"));
    }
    let tx =
        bucketbase_sql::RequestTx::begin(&state.db.request, service_context(), Access::ReadOnly)
            .await
            .map_err(|e| e.to_string())?;
    let rows = tx
        .query_and_commit(
            "select t.i from unnest($1::text[], $2::text[], $3::text[]) with ordinality as t(b, n, v, i) \
             where not exists (select 1 from storage.objects o \
             where o.bucket_id = t.b and o.name = t.n and o.version = t.v)",
            &[&buckets, &names, &versions],
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut removed = 0;
    for row in rows {
        let i: i64 = row.get(0);
        let key = Store::key(
            &buckets[i as usize - 1],
            &names[i as usize - 1],
            &versions[i as usize - 1],
        );
        state.store.remove(&key).await;
        removed += 1;
    }
    Ok(removed)
}

/// `%XX` escapes back to their bytes (object_store's encoding of a path part).
fn percent_decode(part: &str) -> String {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn service_context() -> bucketbase_sql::RequestContext {
    bucketbase_sql::RequestContext {
        role: "service_role".into(),
        claims: serde_json::json!({"role": "service_role"}),
        method: "POST".into(),
        path: "/storage/v1/sweep".into(),
        headers: "{}".into(),
        search_path: "storage, public".into(),
        local_setting: None,
    }
}

/// Removes the file backend's staging files (`…#<digits>`) older than `grace`.
fn remove_staging_files(root: &std::path::Path, grace: Duration) -> usize {
    let now = SystemTime::now();
    let mut removed = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let staging = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit_once('#'))
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let old = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age >= grace);
            if staging && old && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_parts_decode_to_the_names_rows_hold() {
        let key = Store::key("b", "what?/a*b#c.txt", "v1");
        let parts: Vec<String> = key.parts().map(|p| percent_decode(p.as_ref())).collect();
        assert_eq!(parts, ["b", "what?", "a*b#c.txt", "v1"]);
        assert_eq!(percent_decode("100%"), "100%");
    }
}
