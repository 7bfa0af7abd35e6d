//! The object endpoints of Supabase Storage (`src/http/routes/object/*.ts`). Every read and
//! write of `storage.objects` runs in a transaction under the caller's role and claims, so the
//! table's RLS policies decide, as upstream's database layer does with the request's JWT; the
//! public and signed routes run as `service_role` once they have checked the bucket is public
//! or the token signs this object. Bytes live in the [`Store`](crate::store::Store), one key
//! per version.

pub(crate) mod download;
pub(crate) mod list;
pub(crate) mod manage;
pub(crate) mod sign;
pub(crate) mod upload;

use bucketbase_sql::request_tx::Access;
use serde_json::Value;

use crate::request::StorageRequest;
use crate::Error;

/// A timestamp column as JavaScript's `toISOString` writes it.
pub(crate) fn iso(column: &str) -> String {
    format!("to_char({column} at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

/// What an upload needs to know of its bucket.
#[derive(Debug, Clone)]
pub(crate) struct BucketLimits {
    /// `file_size_limit`, bytes.
    pub(crate) file_size_limit: Option<i64>,
    /// `allowed_mime_types`.
    pub(crate) allowed_mime_types: Option<Vec<String>>,
}

/// The bucket's limits, read as `service_role` (as upstream reads them as its superuser), or
/// `NoSuchBucket`.
pub(crate) async fn bucket_limits(
    req: &StorageRequest,
    bucket: &str,
) -> Result<BucketLimits, Error> {
    let tx = req.as_service().begin(Access::ReadOnly).await?;
    let rows = tx
        .query_and_commit(
            "select file_size_limit, allowed_mime_types from storage.buckets where id = $1",
            &[&bucket],
        )
        .await
        .map_err(Error::db)?;
    let row = rows.first().ok_or(Error::NoSuchBucket)?;
    Ok(BucketLimits {
        file_size_limit: row.get(0),
        allowed_mime_types: row.get(1),
    })
}

/// One row of `storage.objects` as the endpoints use it.
#[derive(Debug, Clone)]
pub(crate) struct ObjectRow {
    /// `id`.
    pub(crate) id: String,
    /// `name`.
    pub(crate) name: String,
    /// `bucket_id`.
    pub(crate) bucket_id: String,
    /// `version`: the key of the bytes.
    pub(crate) version: String,
    /// `metadata`: size, mimetype, eTag, cacheControl, lastModified, …
    pub(crate) metadata: Value,
    /// `user_metadata`.
    pub(crate) user_metadata: Value,
    /// `created_at`, ISO.
    pub(crate) created_at: String,
    /// `updated_at`, ISO.
    pub(crate) updated_at: String,
}

impl ObjectRow {
    /// The columns [`ObjectRow::from_row`] reads, from `storage.objects o`.
    pub(crate) fn columns() -> String {
        format!(
            "o.id::text, o.name, o.bucket_id, coalesce(o.version, ''), coalesce(o.metadata, '{{}}'::jsonb), \
             coalesce(o.user_metadata, 'null'::jsonb), {}, {}",
            iso("o.created_at"),
            iso("o.updated_at")
        )
    }

    /// The row from the columns of [`ObjectRow::columns`].
    pub(crate) fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            bucket_id: row.get(2),
            version: row.get(3),
            metadata: row.get(4),
            user_metadata: row.get(5),
            created_at: row.get::<_, Option<String>>(6).unwrap_or_default(),
            updated_at: row.get::<_, Option<String>>(7).unwrap_or_default(),
        }
    }

    /// The stored size.
    pub(crate) fn size(&self) -> u64 {
        self.metadata
            .get("size")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// A string of the system metadata.
    pub(crate) fn meta_str(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }

    /// The key of the bytes.
    pub(crate) fn key(&self) -> object_store::path::Path {
        crate::store::Store::key(&self.bucket_id, &self.name, &self.version)
    }
}

/// The object `name` of `bucket` as `req`'s caller sees it, or `NoSuchKey`. With
/// `public_only` the bucket must be public (the caller is then `service_role`), else it is
/// `NoSuchBucket`, as upstream's public routes look the bucket up with `isPublic: true`.
pub(crate) async fn find_object(
    req: &StorageRequest,
    bucket: &str,
    name: &str,
    public_only: bool,
) -> Result<ObjectRow, Error> {
    let sql = format!(
        "select {} from storage.objects o where o.bucket_id = $1 and o.name = $2",
        ObjectRow::columns()
    );
    let mut tx = req.begin(Access::ReadOnly).await?;
    if public_only {
        let public = tx
            .query(
                "select 1 from storage.buckets where id = $1 and public",
                &[&bucket],
            )
            .await
            .map_err(Error::db)?;
        if public.is_empty() {
            return Err(Error::NoSuchBucket);
        }
    }
    let rows = tx
        .query_and_commit(&sql, &[&bucket, &name])
        .await
        .map_err(Error::db)?;
    rows.first()
        .map(ObjectRow::from_row)
        .ok_or(Error::NoSuchKey)
}

/// The object path of a route (`{*path}`), checked as an object name.
pub(crate) fn object_path(path: &str) -> Result<String, Error> {
    crate::key::object_name(path).map(str::to_string)
}
