//! The expiration extension's cleanup, as @tus/server's `cleanUpExpiredUploads` /
//! `deleteExpired` (which upstream leaves to an operator's cron): uploads past their
//! `Upload-Expires`, finished or not, lose their record and their parts, unless a request
//! holds their lock (they are tried again next round). Parts whose version no record names
//! (a crash between removing a record and its parts) are removed once older than the
//! sweeper's grace. Run by [`crate::sweep::run`] every round.

use std::time::Duration;

use futures_util::TryStreamExt;

use super::parts;
use super::record::{UploadLock, UploadRecord};
use crate::State;

/// Expired uploads handled per query.
const BATCH: i64 = 100;

/// One pass; returns how many uploads and orphaned parts it removed.
pub(crate) async fn sweep_once(state: &State, grace: Duration) -> Result<usize, String> {
    let mut removed = 0;
    loop {
        let batch = UploadRecord::expired_batch(&state.db, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        let full = batch.len() as i64 == BATCH;
        let mut progressed = false;
        for record in batch {
            let Some(lock) = UploadLock::try_acquire(&state.db, &record.id)
                .await
                .map_err(|e| e.to_string())?
            else {
                continue;
            };
            parts::remove_all(&state.store, &record.upload.version)
                .await
                .map_err(|e| e.to_string())?;
            UploadRecord::delete(&state.db, &record.id)
                .await
                .map_err(|e| e.to_string())?;
            lock.release().await;
            removed += 1;
            progressed = true;
        }
        if !full || !progressed {
            break;
        }
    }
    removed += remove_orphaned_parts(state, grace).await?;
    Ok(removed)
}

/// Removes parts older than `grace` whose version no record names.
async fn remove_orphaned_parts(state: &State, grace: Duration) -> Result<usize, String> {
    let cutoff =
        chrono::Utc::now() - chrono::Duration::from_std(grace).map_err(|e| e.to_string())?;
    let old: Vec<(String, object_store::path::Path)> = parts::all(&state.store)
        .try_filter_map(|meta| async move {
            Ok((meta.last_modified < cutoff)
                .then(|| parts::version_of(&meta.location).map(|v| (v, meta.location)))
                .flatten())
        })
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    if old.is_empty() {
        return Ok(0);
    }
    let mut versions: Vec<String> = old.iter().map(|(v, _)| v.clone()).collect();
    versions.sort();
    versions.dedup();
    let known = UploadRecord::known_versions(&state.db, &versions)
        .await
        .map_err(|e| e.to_string())?;
    let mut removed = 0;
    for (version, key) in old {
        if !known.contains(&version) {
            state.store.remove(&key).await;
            removed += 1;
        }
    }
    Ok(removed)
}
