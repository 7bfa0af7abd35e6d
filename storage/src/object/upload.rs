//! Uploads, as upstream's `Uploader` (`src/storage/uploader.ts`): `POST /object/{bucket}/{path}`
//! (create; `x-upsert: true` replaces), `PUT /object/{bucket}/{path}` (replace or create), and
//! the signed `PUT /object/upload/sign/{bucket}/{path}?token=`. The body is a multipart form
//! (fields `cacheControl`, `metadata`, `contentType` before the file part, whose field name is
//! empty in supabase-js) or the raw bytes (`content-type`, `cache-control`, base64
//! `x-metadata`).
//!
//! Order of effects, so no failure leaves a row without bytes or bytes without a row:
//! 1. the bucket's limits are read; a declared length or mime type the bucket refuses is
//!    refused before any byte is read;
//! 2. a body that ends within [`INLINE_LIMIT`] is written inside one caller transaction: the
//!    row is inserted (RLS decides), then the bytes are put at a fresh version key, then the
//!    transaction commits; a commit that fails removes the bytes;
//! 3. a larger body is first tried against RLS (the row written and rolled back, upstream's
//!    `canUpload`), then streamed to its version key with the size limit enforced while
//!    streaming, then the row is written and committed; any failure removes the bytes;
//! 4. after the commit the replaced version's bytes are removed.
//!
//! A crash between 3's streaming and its commit leaves an unreferenced version key, which the
//! sweeper removes.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bucketbase_sql::request_tx::Access;
use bytes::{Bytes, BytesMut};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::bucket_limits;
use crate::key::{is_empty_folder, mime_allowed};
use crate::request::StorageRequest;
use crate::store::Store;
use crate::Error;

/// Bodies up to this size are written in one transaction with their row.
pub(crate) const INLINE_LIMIT: usize = 1024 * 1024;

/// Upstream's cap on user metadata.
const MAX_USER_METADATA: usize = 1024 * 1024;

/// What to write, and how.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The bucket id.
    pub(crate) bucket: String,
    /// The object name (already checked).
    pub(crate) name: String,
    /// Replace an existing object.
    pub(crate) upsert: bool,
    /// The owner (`sub` of the caller or of the signed upload token).
    pub(crate) owner: Option<String>,
}

/// The body of an upload, parsed as far as its headers.
pub(crate) struct Incoming {
    /// The object's content type.
    pub(crate) mime: String,
    /// The object's `Cache-Control`.
    pub(crate) cache_control: String,
    /// `x-metadata` / the form's `metadata`.
    pub(crate) user_metadata: Option<Value>,
    /// The length the client declared, when it is the object's (raw bodies).
    pub(crate) declared_length: Option<u64>,
    /// The bytes.
    pub(crate) body: BoxStream<'static, Result<Bytes, Error>>,
}

/// The created object: its id and `<bucket>/<name>`.
#[derive(Debug)]
pub(crate) struct Uploaded {
    /// `storage.objects.id`.
    pub(crate) id: String,
    /// `<bucket>/<name>`.
    pub(crate) key: String,
}

/// Splits a request into the upload's attributes and byte stream.
pub(crate) async fn incoming(headers: &HeaderMap, body: Body) -> Result<Incoming, Error> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return multipart(content_type, body).await;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let user_metadata = match header("x-metadata") {
        Some(encoded) => parse_user_metadata(encoded)?,
        None => None,
    };
    let declared_length = header("content-length").and_then(|v| v.parse().ok());
    Ok(Incoming {
        mime: if content_type.is_empty() {
            "application/octet-stream".into()
        } else {
            content_type.to_string()
        },
        cache_control: header("cache-control").unwrap_or("no-cache").to_string(),
        user_metadata,
        declared_length,
        body: body
            .into_data_stream()
            .map(|r| r.map_err(Error::body))
            .boxed(),
    })
}

/// `x-metadata`: base64 of a JSON object (upstream ignores what does not parse).
fn parse_user_metadata(encoded: &str) -> Result<Option<Value>, Error> {
    use base64::Engine;
    if encoded.len() > MAX_USER_METADATA * 4 / 3 + 4 {
        return Err(Error::EntityTooLarge);
    }
    Ok(base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
        .filter(Value::is_object))
}

/// A multipart form: the fields before the first file part, then that part's bytes.
async fn multipart(content_type: &str, body: Body) -> Result<Incoming, Error> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| Error::InvalidRequest(format!("multipart body: {e}")))?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .for_field("cacheControl", 1024)
            .for_field("contentType", 1024)
            .for_field("metadata", MAX_USER_METADATA as u64)
            .for_field("userMetadata", MAX_USER_METADATA as u64),
    );
    let mut form =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut cache_time: Option<String> = None;
    let mut content_type: Option<String> = None;
    let mut user_metadata: Option<Value> = None;
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| Error::InvalidRequest(format!("No content provided: {e}")))?
            .ok_or_else(|| Error::InvalidRequest("No content provided".into()))?;
        if field.file_name().is_some() {
            let mime = content_type
                .filter(|m| !m.is_empty())
                .or_else(|| field.content_type().map(|m| m.to_string()))
                .unwrap_or_else(|| "text/plain".into());
            return Ok(Incoming {
                mime,
                cache_control: match cache_time {
                    Some(t) if !t.is_empty() => format!("max-age={t}"),
                    _ => "no-cache".into(),
                },
                user_metadata,
                declared_length: None,
                body: futures_util::stream::unfold((form, field), |(form, mut field)| async move {
                    match field.chunk().await {
                        Ok(Some(chunk)) => Some((Ok(chunk), (form, field))),
                        Ok(None) => None,
                        Err(e) => Some((Err(Error::body(e)), (form, field))),
                    }
                })
                .boxed(),
            });
        }
        let name = field.name().unwrap_or("").to_string();
        let text = field
            .text()
            .await
            .map_err(|e| Error::InvalidRequest(format!("multipart field {name}: {e}")))?;
        match name.as_str() {
            "cacheControl" => cache_time = Some(text),
            "contentType" => content_type = Some(text),
            "metadata" | "userMetadata" => {
                user_metadata = serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(Value::is_object)
            }
            _ => {}
        }
    }
}

/// The system metadata upstream keeps in `storage.objects.metadata`.
pub(crate) fn system_metadata(etag: &str, size: u64, mime: &str, cache_control: &str) -> Value {
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    json!({
        "eTag": etag,
        "size": size,
        "mimetype": mime,
        "cacheControl": cache_control,
        "lastModified": now,
        "contentLength": size,
        "httpStatusCode": 200,
    })
}

/// Writes the row of an upload in `tx`; returns its id and the version it replaced.
pub(crate) async fn write_row(
    tx: &mut bucketbase_sql::RequestTx,
    target: &Target,
    version: &str,
    metadata: &Value,
    user_metadata: &Option<Value>,
) -> Result<(String, Option<String>), Error> {
    let owner_uuid = target
        .owner
        .as_deref()
        .and_then(|o| uuid::Uuid::parse_str(o).ok());
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
        &target.bucket,
        &target.name,
        &owner_uuid,
        &target.owner,
        metadata,
        user_metadata,
        &version,
    ];
    if !target.upsert {
        // No RETURNING: a plain upload needs only an INSERT policy (RETURNING would also ask
        // the SELECT policies to pass for the new row).
        let id = uuid::Uuid::new_v4();
        let mut with_id = params.to_vec();
        with_id.push(&id);
        tx.query(
            "insert into storage.objects (bucket_id, name, owner, owner_id, metadata, user_metadata, version, id) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            &with_id,
        )
        .await
        .map_err(Error::object_write)?;
        return Ok((id.to_string(), None));
    }
    // `old` is read (and the row locked) before the insert: a CTE only referenced in
    // RETURNING would run after the update and see no row.
    let rows = tx
        .query(
            "with old as (select o.version from storage.objects o where o.bucket_id = $1 and o.name = $2 for update) \
             insert into storage.objects as o (bucket_id, name, owner, owner_id, metadata, user_metadata, version) \
             select $1::text, $2::text, $3::uuid, $4::text, $5::jsonb, $6::jsonb, $7::text from (select count(*) from old) forced \
             on conflict (bucket_id, name) do update set owner = excluded.owner, owner_id = excluded.owner_id, \
             metadata = excluded.metadata, user_metadata = excluded.user_metadata, version = excluded.version \
             returning o.id::text, (select version from old)",
            &params,
        )
        .await
        .map_err(Error::object_write)?;
    let row = rows
        .first()
        .ok_or_else(|| Error::Internal("insert returned no row".into()))?;
    Ok((row.get(0), row.get(1)))
}

/// Uploads `incoming` to `target` as `req`'s caller.
pub(crate) async fn upload(
    req: &StorageRequest,
    target: Target,
    mut incoming: Incoming,
) -> Result<Uploaded, Error> {
    let state = &req.state;
    // Upstream completes every upload with `user_metadata: {...userMetadata}`: an object
    // uploaded without metadata has `{}`, which `info()` returns as its `metadata`.
    incoming.user_metadata = Some(incoming.user_metadata.take().unwrap_or_else(|| json!({})));
    let bucket = bucket_limits(req, &target.bucket).await?;
    let folder = is_empty_folder(&target.name);
    let limit = if folder {
        0
    } else {
        let mut limit = state.config.file_size_limit;
        if let Some(b) = bucket.file_size_limit.filter(|l| *l >= 0) {
            limit = limit.min(b as u64);
        }
        limit
    };
    if let Some(allowed) = bucket.allowed_mime_types.as_ref().filter(|a| !a.is_empty()) {
        if !folder && !mime_allowed(&incoming.mime, allowed) {
            return Err(Error::InvalidMimeType(incoming.mime));
        }
    }
    if incoming.declared_length.is_some_and(|l| l > limit) {
        return Err(Error::EntityTooLarge);
    }

    // Read up to INLINE_LIMIT: a body that ends there is written with its row.
    let mut first = BytesMut::new();
    let mut ended = false;
    while first.len() <= INLINE_LIMIT {
        match incoming.body.next().await {
            None => {
                ended = true;
                break;
            }
            Some(chunk) => {
                let chunk = chunk?;
                if (first.len() + chunk.len()) as u64 > limit {
                    return Err(Error::EntityTooLarge);
                }
                first.extend_from_slice(&chunk);
            }
        }
    }
    let first = first.freeze();
    let version = uuid::Uuid::new_v4().to_string();
    let key = Store::key(&target.bucket, &target.name, &version);
    let store = &state.store;

    let (id, replaced) = if ended {
        let written = crate::store::Written {
            size: first.len() as u64,
            etag: crate::store::etag_of(&first),
        };
        let metadata = system_metadata(
            &written.etag,
            written.size,
            &incoming.mime,
            &incoming.cache_control,
        );
        let mut tx = req.begin(Access::ReadWrite).await?;
        let (id, replaced) = write_row(
            &mut tx,
            &target,
            &version,
            &metadata,
            &incoming.user_metadata,
        )
        .await?;
        store
            .put(
                &key,
                first,
                futures_util::stream::empty::<Result<Bytes, Error>>(),
                limit,
            )
            .await?;
        if let Err(e) = tx.commit().await {
            store.remove(&key).await;
            return Err(Error::object_write(e));
        }
        (id, replaced)
    } else {
        // RLS first, so bytes are written only for a caller who may write the row.
        let probe = system_metadata(
            "",
            incoming.declared_length.unwrap_or(0),
            &incoming.mime,
            &incoming.cache_control,
        );
        let mut tx = req.begin(Access::ReadWrite).await?;
        write_row(&mut tx, &target, &version, &probe, &incoming.user_metadata).await?;
        tx.rollback().await.map_err(Error::db)?;
        let written = match store.put(&key, first, incoming.body, limit).await {
            Ok(w) => w,
            Err(e) => {
                store.remove(&key).await;
                return Err(e);
            }
        };
        let metadata = system_metadata(
            &written.etag,
            written.size,
            &incoming.mime,
            &incoming.cache_control,
        );
        let committed = async {
            let mut tx = req.begin(Access::ReadWrite).await?;
            let result = write_row(
                &mut tx,
                &target,
                &version,
                &metadata,
                &incoming.user_metadata,
            )
            .await?;
            tx.commit().await.map_err(Error::object_write)?;
            Ok::<_, Error>(result)
        }
        .await;
        match committed {
            Ok(result) => result,
            Err(e) => {
                store.remove(&key).await;
                return Err(e);
            }
        }
    };
    if let Some(old) = replaced.filter(|v| *v != version && !v.is_empty()) {
        store.remove_later(vec![Store::key(&target.bucket, &target.name, &old)]);
    }
    Ok(Uploaded {
        id,
        key: format!("{}/{}", target.bucket, target.name),
    })
}

/// `POST /object/{bucket}/{path}`: `{"Id", "Key"}`; `x-upsert: true` replaces an existing
/// object, else an existing name is `KeyAlreadyExists`.
pub(crate) async fn create(
    req: StorageRequest,
    axum::extract::Path((bucket, path)): axum::extract::Path<(String, String)>,
    body: Body,
) -> Result<axum::response::Response, Error> {
    let upsert = req.upsert();
    write(req, bucket, path, upsert, body).await
}

/// `PUT /object/{bucket}/{path}`: replaces the object (creating it when missing, as upstream).
pub(crate) async fn update(
    req: StorageRequest,
    axum::extract::Path((bucket, path)): axum::extract::Path<(String, String)>,
    body: Body,
) -> Result<axum::response::Response, Error> {
    write(req, bucket, path, true, body).await
}

async fn write(
    req: StorageRequest,
    bucket: String,
    path: String,
    upsert: bool,
    body: Body,
) -> Result<axum::response::Response, Error> {
    use axum::response::IntoResponse;
    let name = super::object_path(&path)?;
    let target = Target {
        bucket,
        name,
        upsert,
        owner: req.caller.user_id().map(str::to_string),
    };
    let incoming = incoming(req.headers(), body).await?;
    let done = upload(&req, target, incoming).await?;
    Ok(axum::Json(json!({"Id": done.id, "Key": done.key})).into_response())
}
