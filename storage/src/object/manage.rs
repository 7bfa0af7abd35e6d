//! Moving, copying and removing objects, as upstream's `moveObject`, `copyObject`,
//! `deleteObjects` and `deleteObject` (`src/storage/object.ts`). Rows change under the caller's
//! role (move = UPDATE of the source row, which the new name must pass too; copy = SELECT of
//! the source and INSERT of the copy; remove = DELETE). Bytes follow the rows: a move or copy
//! first copies the bytes to a fresh version key, then changes the rows, then (after the
//! commit) removes what no row names any more; a failure removes the fresh copy.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bucketbase_sql::request_tx::Access;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{iso, object_path, ObjectRow};
use crate::request::{allow_delete, json_body as parse, StorageRequest};
use crate::store::Store;
use crate::Error;

#[derive(Debug, Deserialize)]
struct MoveBody {
    #[serde(rename = "bucketId")]
    bucket_id: Option<String>,
    #[serde(rename = "sourceKey")]
    source_key: Option<String>,
    #[serde(rename = "destinationKey")]
    destination_key: Option<String>,
    #[serde(rename = "destinationBucket")]
    destination_bucket: Option<String>,
    #[serde(rename = "copyMetadata")]
    copy_metadata: Option<bool>,
    metadata: Option<Value>,
}

fn required(v: Option<String>, name: &str) -> Result<String, Error> {
    v.ok_or_else(|| Error::InvalidRequest(format!("body must have required property '{name}'")))
}

/// The source row of a move or copy, locked, as the caller sees it.
async fn source(
    tx: &mut bucketbase_sql::RequestTx,
    bucket: &str,
    name: &str,
    lock: bool,
) -> Result<ObjectRow, Error> {
    let sql = format!(
        "select {} from storage.objects o where o.bucket_id = $1 and o.name = $2{}",
        ObjectRow::columns(),
        if lock { " for update" } else { "" }
    );
    let rows = tx
        .query(&sql, &[&bucket, &name])
        .await
        .map_err(Error::object_write)?;
    rows.first()
        .map(ObjectRow::from_row)
        .ok_or(Error::NoSuchKey)
}

/// `POST /object/move`: `{"message": "Successfully moved"}`.
pub(crate) async fn move_object(req: StorageRequest, bytes: Bytes) -> Result<Response, Error> {
    let body: MoveBody = parse(&bytes)?;
    let bucket = required(body.bucket_id, "bucketId")?;
    let from = object_path(&required(body.source_key, "sourceKey")?)?;
    let to = object_path(&required(body.destination_key, "destinationKey")?)?;
    let to_bucket = body.destination_bucket.unwrap_or_else(|| bucket.clone());
    if bucket == to_bucket && from == to {
        return Ok(Json(json!({"message": "Successfully moved"})).into_response());
    }
    let store = req.state.store.clone();
    let mut tx = req.begin(Access::ReadWrite).await?;
    let row = source(&mut tx, &bucket, &from, true).await?;
    let version = uuid::Uuid::new_v4().to_string();
    let new_key = Store::key(&to_bucket, &to, &version);
    // The destination must be free (upstream: ResourceAlreadyExists).
    let taken = tx
        .query(
            "select 1 from storage.objects o where o.bucket_id = $1 and o.name = $2",
            &[&to_bucket, &to],
        )
        .await
        .map_err(Error::db)?;
    if !taken.is_empty() {
        return Err(Error::ResourceAlreadyExists);
    }
    store.copy(&row.key(), &new_key).await?;
    let updated = async {
        let rows = tx
            .query(
                "update storage.objects set bucket_id = $3, name = $4, version = $5 \
                 where bucket_id = $1 and name = $2 returning id",
                &[&bucket, &from, &to_bucket, &to, &version],
            )
            .await
            .map_err(|e| match Error::object_write(e) {
                Error::KeyAlreadyExists => Error::ResourceAlreadyExists,
                other => other,
            })?;
        if rows.is_empty() {
            return Err(Error::NoSuchKey);
        }
        tx.commit().await.map_err(Error::object_write)
    }
    .await;
    match updated {
        Ok(()) => {
            store.remove_later(vec![row.key()]);
            Ok(Json(json!({"message": "Successfully moved"})).into_response())
        }
        Err(e) => {
            store.remove(&new_key).await;
            Err(e)
        }
    }
}

/// `POST /object/copy`: `{"Id", "Key": "<bucket>/<destination>"}`; `x-upsert: true` replaces
/// the destination.
pub(crate) async fn copy_object(req: StorageRequest, bytes: Bytes) -> Result<Response, Error> {
    let body: MoveBody = parse(&bytes)?;
    let bucket = required(body.bucket_id, "bucketId")?;
    let from = object_path(&required(body.source_key, "sourceKey")?)?;
    let to = object_path(&required(body.destination_key, "destinationKey")?)?;
    let to_bucket = body.destination_bucket.unwrap_or_else(|| bucket.clone());
    let upsert = req.upsert();
    let limits = super::bucket_limits(&req, &to_bucket).await?;
    let store = req.state.store.clone();
    let mut tx = req.begin(Access::ReadWrite).await?;
    let row = source(&mut tx, &bucket, &from, false).await?;
    if let Some(allowed) = limits.allowed_mime_types.as_ref().filter(|a| !a.is_empty()) {
        let mime = row.meta_str("mimetype").unwrap_or("");
        if !crate::key::mime_allowed(mime, allowed) {
            return Err(Error::InvalidMimeType(mime.to_string()));
        }
    }
    if let Some(limit) = limits.file_size_limit {
        if row.size() > limit.max(0) as u64 {
            return Err(Error::EntityTooLarge);
        }
    }
    let version = uuid::Uuid::new_v4().to_string();
    let new_key = Store::key(&to_bucket, &to, &version);
    let user_metadata = if body.copy_metadata.unwrap_or(true) {
        Some(row.user_metadata.clone()).filter(|v| !v.is_null())
    } else {
        body.metadata.clone().filter(Value::is_object)
    };
    let mut metadata = row.metadata.clone();
    metadata["lastModified"] = json!(chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string());
    let target = super::upload::Target {
        bucket: to_bucket.clone(),
        name: to.clone(),
        upsert,
        owner: req.caller.user_id().map(str::to_string),
    };
    let (id, replaced) =
        super::upload::write_row(&mut tx, &target, &version, &metadata, &user_metadata).await?;
    let copied = async {
        store.copy(&row.key(), &new_key).await?;
        tx.commit().await.map_err(Error::object_write)
    }
    .await;
    if let Err(e) = copied {
        store.remove(&new_key).await;
        return Err(e);
    }
    if let Some(old) = replaced.filter(|v| !v.is_empty()) {
        store.remove_later(vec![Store::key(&to_bucket, &to, &old)]);
    }
    Ok(Json(json!({"Id": id, "Key": format!("{to_bucket}/{to}")})).into_response())
}

#[derive(Debug, Deserialize)]
struct RemoveBody {
    prefixes: Option<Vec<String>>,
}

/// `DELETE /object/{bucket}` with `{"prefixes": [names]}`: the removed rows (names the caller
/// cannot delete, or that do not exist, are skipped).
pub(crate) async fn remove_many(
    req: StorageRequest,
    Path(bucket): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let body: RemoveBody = parse(&bytes)?;
    let names = body.prefixes.ok_or_else(|| {
        Error::InvalidRequest("body must have required property 'prefixes'".into())
    })?;
    if names.is_empty() || names.len() > 1000 {
        return Err(Error::InvalidRequest(
            "body/prefixes must have between 1 and 1000 items".into(),
        ));
    }
    let store = req.state.store.clone();
    let mut tx = req.begin(Access::ReadWrite).await?;
    allow_delete(&mut tx).await?;
    let sql = format!(
        "delete from storage.objects o where o.bucket_id = $1 and o.name = any($2) returning \
         json_build_object('bucket_id', o.bucket_id, 'name', o.name, 'id', o.id, 'owner', o.owner, 'owner_id', o.owner_id, \
         'version', o.version, 'metadata', o.metadata, 'user_metadata', o.user_metadata, \
         'created_at', {}, 'updated_at', {}, 'last_accessed_at', {})::text, o.version, o.name",
        iso("o.created_at"),
        iso("o.updated_at"),
        iso("o.last_accessed_at")
    );
    let rows = tx
        .query_and_commit(&sql, &[&bucket, &names])
        .await
        .map_err(Error::object_write)?;
    let mut keys = Vec::new();
    let mut out = Vec::new();
    for r in &rows {
        let text: String = r.get(0);
        out.push(serde_json::from_str::<Value>(&text).unwrap_or(Value::Null));
        let version: Option<String> = r.get(1);
        let name: String = r.get(2);
        keys.push(Store::key(&bucket, &name, version.as_deref().unwrap_or("")));
    }
    store.remove_later(keys);
    Ok(Json(out).into_response())
}

/// `DELETE /object/{bucket}/{path}`: `{"message": "Successfully deleted"}`.
pub(crate) async fn remove_one(
    req: StorageRequest,
    Path((bucket, path)): Path<(String, String)>,
    body: axum::body::Body,
) -> Result<Response, Error> {
    bucketbase_kit::drain_body(body).await;
    let name = object_path(&path)?;
    let store = req.state.store.clone();
    let mut tx = req.begin(Access::ReadWrite).await?;
    allow_delete(&mut tx).await?;
    let rows = tx
        .query_and_commit(
            "delete from storage.objects where bucket_id = $1 and name = $2 returning version",
            &[&bucket, &name],
        )
        .await
        .map_err(Error::object_write)?;
    let row = rows.first().ok_or(Error::NoSuchKey)?;
    let version: Option<String> = row.get(0);
    store.remove_later(vec![Store::key(
        &bucket,
        &name,
        version.as_deref().unwrap_or(""),
    )]);
    Ok(Json(json!({"message": "Successfully deleted"})).into_response())
}
