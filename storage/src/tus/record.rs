//! An upload's record in `storage_resumable.uploads` (what @tus/server's data stores keep in
//! their config store or `.info` object: id, size, offset, metadata, creation date), and the
//! lock upstream's `PgLocker` takes per upload: a PostgreSQL advisory lock, so it holds across
//! every server process on the database.
//!
//! The lock is transaction-scoped (`pg_try_advisory_xact_lock`) on a connection of its own that
//! stays in its transaction for as long as the request writes. Committing, rolling back,
//! dropping the guard (the transaction rolls back in the background) or losing the connection
//! all release it, so no path can return a connection to the pool with the lock still held.
//! Offsets and completion are committed on other connections while the lock is held, so each
//! step is durable on its own: a crash leaves a record that says what is stored.

use std::time::Duration;

use bucketbase_sql::{Db, ServiceTx};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::id::UploadId;
use crate::object::upload::Target;
use crate::Error;

/// The columns [`UploadRecord::from_row`] reads.
const COLUMNS: &str = "id, bucket_id, name, version, owner_id, upsert, upload_length, \
    upload_offset, metadata, content_type, cache_control, user_metadata, expires_at, \
    completed_at is not null";

/// The key of an upload's advisory lock (64-bit, so distinct uploads practically never share
/// one), from its id.
const LOCK_KEY: &str = "hashtextextended('storage_resumable.uploads:' || $1, 0)";

/// One resumable upload.
#[derive(Debug, Clone)]
pub(crate) struct UploadRecord {
    /// The id of its URL.
    pub(crate) id: String,
    /// Bucket, object name and version.
    pub(crate) upload: UploadId,
    /// The owner the object row gets.
    pub(crate) owner: Option<String>,
    /// Whether it may replace an existing object.
    pub(crate) upsert: bool,
    /// `Upload-Length`.
    pub(crate) length: u64,
    /// The bytes stored so far.
    pub(crate) offset: u64,
    /// The `Upload-Metadata` pairs (a JSON object).
    pub(crate) metadata: Value,
    /// The object's content type.
    pub(crate) content_type: String,
    /// The object's `Cache-Control`.
    pub(crate) cache_control: String,
    /// The object's user metadata.
    pub(crate) user_metadata: Option<Value>,
    /// When it expires (`Upload-Expires`).
    pub(crate) expires_at: DateTime<Utc>,
    /// Whether the object row was written.
    pub(crate) completed: bool,
}

fn db_error(e: bucketbase_sql::DbError) -> Error {
    Error::Internal(format!("resumable uploads: {e}"))
}

impl UploadRecord {
    fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get(0),
            upload: UploadId {
                bucket: row.get(1),
                name: row.get(2),
                version: row.get(3),
            },
            owner: row.get(4),
            upsert: row.get(5),
            length: row.get::<_, i64>(6).max(0) as u64,
            offset: row.get::<_, i64>(7).max(0) as u64,
            metadata: row.get(8),
            content_type: row.get(9),
            cache_control: row.get(10),
            user_metadata: row.get(11),
            expires_at: row.get(12),
            completed: row.get(13),
        }
    }

    /// What the object row is written as.
    pub(crate) fn target(&self) -> Target {
        Target {
            bucket: self.upload.bucket.clone(),
            name: self.upload.name.clone(),
            upsert: self.upsert,
            owner: self.owner.clone(),
        }
    }

    /// Whether it has expired (it answers 410 until the sweeper removes it).
    pub(crate) fn expired(&self) -> bool {
        Utc::now() > self.expires_at
    }

    /// Stores a new record.
    pub(crate) async fn insert(&self, db: &Db) -> Result<(), Error> {
        let tx = ServiceTx::begin(&db.admin).await.map_err(db_error)?;
        tx.query_and_commit(
            "insert into storage_resumable.uploads (id, bucket_id, name, version, owner_id, upsert, \
             upload_length, upload_offset, metadata, content_type, cache_control, user_metadata, \
             expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &self.id,
                &self.upload.bucket,
                &self.upload.name,
                &self.upload.version,
                &self.owner,
                &self.upsert,
                &(self.length as i64),
                &(self.offset as i64),
                &self.metadata,
                &self.content_type,
                &self.cache_control,
                &self.user_metadata,
                &self.expires_at,
            ],
        )
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// The record of `id`, if there is one.
    pub(crate) async fn find(db: &Db, id: &str) -> Result<Option<Self>, Error> {
        let tx = ServiceTx::read(&db.admin).await.map_err(db_error)?;
        let rows = tx
            .query_and_commit(
                &format!("select {COLUMNS} from storage_resumable.uploads where id = $1"),
                &[&id],
            )
            .await
            .map_err(db_error)?;
        Ok(rows.first().map(Self::from_row))
    }

    /// Records that `offset` bytes are stored.
    pub(crate) async fn set_offset(db: &Db, id: &str, offset: u64) -> Result<(), Error> {
        let tx = ServiceTx::begin(&db.admin).await.map_err(db_error)?;
        tx.query_and_commit(
            "update storage_resumable.uploads set upload_offset = $2 where id = $1",
            &[&id, &(offset as i64)],
        )
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Records that the object row was written.
    pub(crate) async fn mark_completed(db: &Db, id: &str) -> Result<(), Error> {
        let tx = ServiceTx::begin(&db.admin).await.map_err(db_error)?;
        tx.query_and_commit(
            "update storage_resumable.uploads set completed_at = now(), \
             upload_offset = upload_length where id = $1",
            &[&id],
        )
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Removes the record of `id`.
    pub(crate) async fn delete(db: &Db, id: &str) -> Result<(), Error> {
        let tx = ServiceTx::begin(&db.admin).await.map_err(db_error)?;
        tx.query_and_commit(
            "delete from storage_resumable.uploads where id = $1",
            &[&id],
        )
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Up to `limit` records that expired before now.
    pub(crate) async fn expired_batch(db: &Db, limit: i64) -> Result<Vec<Self>, Error> {
        let tx = ServiceTx::read(&db.admin).await.map_err(db_error)?;
        let rows = tx
            .query_and_commit(
                &format!(
                    "select {COLUMNS} from storage_resumable.uploads where expires_at < now() \
                     order by expires_at limit $1"
                ),
                &[&limit],
            )
            .await
            .map_err(db_error)?;
        Ok(rows.iter().map(Self::from_row).collect())
    }

    /// Which of `versions` belong to a record.
    pub(crate) async fn known_versions(
        db: &Db,
        versions: &[String],
    ) -> Result<std::collections::HashSet<String>, Error> {
        let tx = ServiceTx::read(&db.admin).await.map_err(db_error)?;
        let rows = tx
            .query_and_commit(
                "select version from storage_resumable.uploads where version = any($1)",
                &[&versions],
            )
            .await
            .map_err(db_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// The lock of one upload, held until [`UploadLock::release`] or drop.
#[derive(Debug)]
pub(crate) struct UploadLock {
    /// The transaction that holds the lock (boxed: the guard moves into the writing task).
    tx: Box<ServiceTx>,
}

impl UploadLock {
    /// The lock of `id` if no other request holds it.
    pub(crate) async fn try_acquire(db: &Db, id: &str) -> Result<Option<Self>, Error> {
        let mut tx = ServiceTx::begin(&db.admin).await.map_err(db_error)?;
        let row = tx
            .query_one(
                &format!("select pg_try_advisory_xact_lock({LOCK_KEY})"),
                &[&id],
            )
            .await
            .map_err(db_error)?;
        Ok(row.get::<_, bool>(0).then(|| Self { tx: Box::new(tx) }))
    }

    /// The lock of `id`, waiting up to `wait` for the request that holds it (`None` when it
    /// is still held then).
    pub(crate) async fn acquire(db: &Db, id: &str, wait: Duration) -> Result<Option<Self>, Error> {
        let mut tx = ServiceTx::begin(&db.admin).await.map_err(db_error)?;
        let timeout = format!("{}ms", wait.as_millis());
        tx.query("select set_config('lock_timeout', $1, true)", &[&timeout])
            .await
            .map_err(db_error)?;
        match tx
            .query(&format!("select pg_advisory_xact_lock({LOCK_KEY})"), &[&id])
            .await
        {
            Ok(_) => Ok(Some(Self { tx: Box::new(tx) })),
            Err(e) if e.as_db_error().map(|d| d.code().code()) == Some("55P03") => Ok(None),
            Err(e) => Err(db_error(e)),
        }
    }

    /// Releases the lock.
    pub(crate) async fn release(self) {
        if let Err(e) = self.tx.rollback().await {
            // The connection is gone, and the lock with it.
            tracing::debug!(error = %e, "releasing a resumable upload's lock");
        }
    }
}
