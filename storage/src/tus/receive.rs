//! Receiving an upload's bytes and completing it, as @tus/server's `writeToStore` and
//! Supabase's `onUploadFinish` (`Uploader.completeUpload`): one PATCH's body stored as one part,
//! the offset committed, and at the last byte the parts joined into the version key, the row
//! written under the caller (RLS decides once more) and committed, the record marked complete
//! and the parts removed. It runs in a task of its own, so a client that goes away mid-body
//! cannot cancel it half-way: the bytes received are kept and the offset says so.

use axum::body::Body;
use bucketbase_sql::request_tx::Access;
use bucketbase_sql::ServiceTx;
use futures_util::StreamExt;

use super::id::UploadId;
use super::parts;
use super::record::{UploadLock, UploadRecord};
use crate::object::upload::{system_metadata, write_row};
use crate::request::StorageRequest;
use crate::store::Store;
use crate::Error;

/// What a write left.
pub(crate) struct Progress {
    /// The offset after it.
    pub(crate) offset: u64,
    /// Whether the object row is written.
    pub(crate) complete: bool,
}

/// Stores `body` at the record's offset, commits the new offset and, at the last byte,
/// completes the upload; all in a task of its own (see the module's header), which owns the
/// lock until it is done.
pub(crate) async fn receive(
    writer: StorageRequest,
    record: UploadRecord,
    body: Body,
    content_length: Option<u64>,
    lock: UploadLock,
) -> Result<Progress, Error> {
    let task = tokio::spawn(async move {
        let state = writer.state.clone();
        let remaining = record.length - record.offset;
        let limit = content_length.unwrap_or(remaining).min(remaining);
        let stream = body
            .into_data_stream()
            .map(|chunk| chunk.map_err(Error::body))
            .boxed();
        let stored = parts::write(
            &state.store,
            &record.upload.version,
            record.offset,
            stream,
            limit,
        )
        .await?;
        let offset = record.offset + stored;
        if stored > 0 {
            UploadRecord::set_offset(&state.db, &record.id, offset).await?;
        }
        let complete = offset == record.length;
        if complete {
            complete_upload(&writer, &record).await?;
        }
        lock.release().await;
        Ok(Progress { offset, complete })
    });
    task.await
        .map_err(|e| Error::Internal(format!("resumable upload task: {e}")))?
}

/// Upstream's `onUploadFinish` (`Uploader.completeUpload`): the parts joined at the version
/// key, the row written under `writer` and committed (RLS decides once more), the replaced
/// version's bytes removed, then the record marked complete and the parts removed.
async fn complete_upload(writer: &StorageRequest, record: &UploadRecord) -> Result<(), Error> {
    let state = &writer.state;
    let upload = &record.upload;
    if already_published(writer, upload).await? {
        // A crash after the row's commit, before the record said so: the object is there.
        UploadRecord::mark_completed(&state.db, &record.id).await?;
        return parts::remove_all(&state.store, &upload.version).await;
    }
    let written = parts::assemble(&state.store, upload, record.length).await?;
    let metadata = system_metadata(
        &written.etag,
        written.size,
        &record.content_type,
        &record.cache_control,
    );
    let key = Store::key(&upload.bucket, &upload.name, &upload.version);
    let committed = async {
        let mut tx = writer.begin(Access::ReadWrite).await?;
        let result = write_row(
            &mut tx,
            &record.target(),
            &upload.version,
            &metadata,
            &record.user_metadata,
        )
        .await?;
        tx.commit().await.map_err(Error::object_write)?;
        Ok::<_, Error>(result)
    }
    .await;
    let replaced = match committed {
        Ok((_, replaced)) => replaced,
        Err(e) => {
            state.store.remove(&key).await;
            return Err(e);
        }
    };
    if let Some(old) = replaced.filter(|v| *v != upload.version && !v.is_empty()) {
        state
            .store
            .remove_later(vec![Store::key(&upload.bucket, &upload.name, &old)]);
    }
    UploadRecord::mark_completed(&state.db, &record.id).await?;
    if let Err(e) = parts::remove_all(&state.store, &upload.version).await {
        tracing::warn!(error = %e, "could not remove a finished upload's parts; the sweeper does");
    }
    Ok(())
}

/// Whether a row already names this upload's version.
async fn already_published(writer: &StorageRequest, upload: &UploadId) -> Result<bool, Error> {
    let tx = ServiceTx::read(&writer.state.db.admin)
        .await
        .map_err(Error::db)?;
    let rows = tx
        .query_and_commit(
            "select 1 from storage.objects where bucket_id = $1 and name = $2 and version = $3",
            &[&upload.bucket, &upload.name, &upload.version],
        )
        .await
        .map_err(Error::db)?;
    Ok(!rows.is_empty())
}
