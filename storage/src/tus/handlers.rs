//! The TUS endpoints, as @tus/server's handlers (`PostHandler`, `HeadHandler`, `PatchHandler`,
//! `DeleteHandler`, `OptionsHandler`) with Supabase's hooks (`lifecycle.ts`: `namingFunction`,
//! `onIncomingRequest`, `onUploadCreate`, `onUploadFinish`, `maxSize`) run where upstream runs
//! them. Order of effects, so nothing is stored for a caller who may not write and no failure
//! publishes a partial object:
//! 1. creation checks the bucket's limits and tries the row write under the caller (RLS), then
//!    stores the upload's record;
//! 2. each PATCH tries the row write again, takes the upload's lock (a second writer gets 409),
//!    stores its bytes as one part, then commits the new offset;
//! 3. the PATCH that brings the last byte joins the parts into the version key, writes the row
//!    under the caller and commits it, records the upload as complete, then removes the parts.
//!
//! The work after the lock is [`super::receive`]'s.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bucketbase_sql::request_tx::Access;
use serde_json::Value;

use super::id::UploadId;
use super::receive::{receive, Progress};
use super::record::{UploadLock, UploadRecord};
use super::{
    check_protocol, gone, header_text, http_date, location, locked, metadata, not_found, parts,
    refusal, TusFailure, EXTENSIONS, OFFSET_STREAM, TUS_VERSION,
};
use crate::object::upload::{system_metadata, write_row};
use crate::request::{StorageRequest, Unauthenticated};
use crate::Error;

/// How long a DELETE waits for a PATCH in flight to let go of the upload.
const TERMINATION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Who asks, and what decides.
enum Requester {
    /// A caller with a JWT or API key: RLS on `storage.objects` decides.
    Caller(StorageRequest),
    /// A `/sign` route: the `x-signature` upload token decides; statements run as
    /// `service_role`, as upstream runs them as its superuser.
    Signed(StorageRequest),
}

impl Requester {
    fn req(&self) -> &StorageRequest {
        match self {
            Requester::Caller(req) | Requester::Signed(req) => req,
        }
    }

    fn headers(&self) -> &HeaderMap {
        self.req().headers()
    }

    fn signed(&self) -> bool {
        matches!(self, Requester::Signed(_))
    }

    /// On a `/sign` route, the claims of the `x-signature` token for `upload`'s object (or
    /// `InvalidSignature` / `InvalidJWT`); `None` elsewhere.
    fn signature(&self, upload: &UploadId) -> Result<Option<Value>, Error> {
        let Requester::Signed(req) = self else {
            return Ok(None);
        };
        let token = header_text(req.headers(), "x-signature")
            .ok_or_else(|| Error::InvalidSignature("Missing x-signature header".into()))?;
        crate::object::sign::verify(&req.state, token, &upload.bucket, &upload.name, "upload")
            .map(Some)
    }

    /// Upstream's `canUpload`: for a caller, the row write tried under its role and rolled
    /// back; a signed request was decided by its token.
    async fn may_write(&self, record: &UploadRecord) -> Result<(), Error> {
        let Requester::Caller(req) = self else {
            return Ok(());
        };
        let probe = system_metadata(
            "",
            record.length,
            &record.content_type,
            &record.cache_control,
        );
        let mut tx = req.begin(Access::ReadWrite).await?;
        write_row(
            &mut tx,
            &record.target(),
            &record.upload.version,
            &probe,
            &record.user_metadata,
        )
        .await?;
        tx.rollback().await.map_err(Error::db)
    }

    /// The request that writes the object row: the caller's, or `service_role` for a signed
    /// upload.
    fn into_writer(self) -> StorageRequest {
        match self {
            Requester::Caller(req) | Requester::Signed(req) => req,
        }
    }
}

/// Reads and drops a body that will not be used, so the client gets the answer rather than a
/// broken pipe.
async fn refuse(error: Error, body: Body) -> Response {
    bucketbase_kit::drain_body(body).await;
    TusFailure(error).into_response()
}

/// `POST /upload/resumable`: creates an upload (and stores the body's bytes when it is
/// `application/offset+octet-stream`: creation-with-upload).
pub(crate) async fn create(req: StorageRequest, body: Body) -> Response {
    create_upload(Requester::Caller(req), body).await
}

/// `POST /upload/resumable/sign`: the same with an `x-signature` upload token.
pub(crate) async fn create_signed(Unauthenticated(req): Unauthenticated, body: Body) -> Response {
    create_upload(Requester::Signed(req), body).await
}

/// `HEAD /upload/resumable/{id}`: the offset.
pub(crate) async fn head_upload(req: StorageRequest, Path(id): Path<String>) -> Response {
    offset_of(Requester::Caller(req), id)
        .await
        .unwrap_or_else(|e| TusFailure(e).into_response())
}

/// `HEAD /upload/resumable/sign/{id}`.
pub(crate) async fn head_signed(
    Unauthenticated(req): Unauthenticated,
    Path(id): Path<String>,
) -> Response {
    offset_of(Requester::Signed(req), id)
        .await
        .unwrap_or_else(|e| TusFailure(e).into_response())
}

/// `PATCH /upload/resumable/{id}`: appends bytes at `Upload-Offset`.
pub(crate) async fn patch(req: StorageRequest, Path(id): Path<String>, body: Body) -> Response {
    append(Requester::Caller(req), id, body).await
}

/// `PATCH /upload/resumable/sign/{id}`.
pub(crate) async fn patch_signed(
    Unauthenticated(req): Unauthenticated,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    append(Requester::Signed(req), id, body).await
}

/// `DELETE /upload/resumable/{id}`: termination.
pub(crate) async fn terminate(req: StorageRequest, Path(id): Path<String>) -> Response {
    remove(Requester::Caller(req), id)
        .await
        .unwrap_or_else(|e| TusFailure(e).into_response())
}

/// `DELETE /upload/resumable/sign/{id}`.
pub(crate) async fn terminate_signed(
    Unauthenticated(req): Unauthenticated,
    Path(id): Path<String>,
) -> Response {
    remove(Requester::Signed(req), id)
        .await
        .unwrap_or_else(|e| TusFailure(e).into_response())
}

/// `OPTIONS`: what the server supports (no token needed, as upstream's public routes).
pub(crate) async fn options(
    axum::extract::State(state): axum::extract::State<crate::State>,
) -> Response {
    let mut h = HeaderMap::new();
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert(
        "tus-max-size",
        HeaderValue::from(state.config.file_size_limit),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, HEAD, PATCH, OPTIONS, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Authorization, Content-Type, Location, Tus-Extension, Tus-Max-Size, \
             Tus-Resumable, Tus-Version, Upload-Concat, Upload-Defer-Length, Upload-Length, \
             Upload-Metadata, Upload-Offset, X-HTTP-Method-Override, X-Requested-With, \
             X-Forwarded-Host, X-Forwarded-Proto, Forwarded, Authorization, X-Upsert, \
             Upload-Expires, ApiKey, x-signature",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    (StatusCode::NO_CONTENT, h).into_response()
}

/// The headers every successful creation or PATCH answers with.
fn progress_headers(record: &UploadRecord, progress: &Progress) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("upload-offset", HeaderValue::from(progress.offset));
    if progress.complete {
        h.insert("tus-complete", HeaderValue::from_static("1"));
    } else if let Ok(v) = HeaderValue::from_str(&http_date(record.expires_at)) {
        h.insert("upload-expires", v);
    }
    h
}

/// Everything creation decides before it stores anything.
struct Creation {
    record: UploadRecord,
    content_length: Option<u64>,
    with_body: bool,
}

async fn create_upload(requester: Requester, body: Body) -> Response {
    let creation = match prepare_creation(&requester).await {
        Ok(c) => c,
        Err(e) => return refuse(e, body).await,
    };
    let Creation {
        record,
        content_length,
        with_body,
    } = creation;
    let state = requester.req().state.clone();
    if let Err(e) = record.insert(&state.db).await {
        return refuse(e, body).await;
    }
    let url = location(requester.headers(), requester.signed(), &record.id);
    let outcome = if with_body || record.length == 0 {
        // Nobody else knows the id yet, so the lock is free.
        let lock = match UploadLock::try_acquire(&state.db, &record.id).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return TusFailure(locked()).into_response(),
            Err(e) => return TusFailure(e).into_response(),
        };
        let body = if with_body { body } else { Body::empty() };
        let written = receive(
            requester.into_writer(),
            record.clone(),
            body,
            content_length,
            lock,
        )
        .await;
        if written.is_err() {
            // The client never learns this upload's URL: nothing may remain of it.
            if let Err(e) = UploadRecord::delete(&state.db, &record.id).await {
                tracing::warn!(error = %e, "could not remove a failed resumable upload; it expires");
            }
            if let Err(e) = parts::remove_all(&state.store, &record.upload.version).await {
                tracing::warn!(error = %e, "could not remove a failed upload's parts; the sweeper does");
            }
        }
        written.map(Some)
    } else {
        bucketbase_kit::drain_body(body).await;
        Ok(None)
    };
    match outcome {
        Err(e) => TusFailure(e).into_response(),
        Ok(progress) => {
            let progress = progress.unwrap_or(Progress {
                offset: 0,
                complete: false,
            });
            let mut h = progress_headers(&record, &progress);
            if !with_body {
                // Upload-Offset answers the bytes of a creation-with-upload only.
                h.remove("upload-offset");
            }
            if let Ok(v) = HeaderValue::from_str(&url) {
                h.insert(header::LOCATION, v);
            }
            (StatusCode::CREATED, h).into_response()
        }
    }
}

/// `PostHandler` up to the store's `create`: the protocol's headers, `namingFunction`,
/// `maxSize`, `onIncomingRequest` (the token or the RLS probe) and `onUploadCreate` (the
/// bucket's mime types, `cacheControl` as `max-age=<n>`).
async fn prepare_creation(requester: &Requester) -> Result<Creation, Error> {
    let headers = requester.headers();
    check_protocol(&Method::POST, headers)?;
    if headers.contains_key("upload-concat") {
        return Err(refusal(
            501,
            "Concatenation extension is not (yet) supported. Disable parallel uploads in the tus client.\n",
        ));
    }
    if headers.contains_key("upload-defer-length") {
        return Err(refusal(
            501,
            "creation-defer-length extension is not (yet) supported.\n",
        ));
    }
    let length = header_text(headers, "upload-length")
        .and_then(super::parse_size)
        .ok_or_else(|| {
            refusal(
                400,
                "Upload-Length or Upload-Defer-Length header required\n",
            )
        })?;
    let mut pairs = header_text(headers, "upload-metadata")
        .and_then(metadata::parse)
        .ok_or_else(|| Error::InvalidRequest("Metadata header is required".into()))?;
    let upload = UploadId::new(
        metadata::get(&pairs, "bucketName").unwrap_or(""),
        metadata::get(&pairs, "objectName").unwrap_or(""),
    )?;

    // maxSize: the bucket's limit, never above the server's.
    let state = &requester.req().state;
    let bucket = crate::object::bucket_limits(requester.req(), &upload.bucket).await?;
    let mut max = state.config.file_size_limit;
    if let Some(limit) = bucket.file_size_limit.filter(|l| *l > 0) {
        max = max.min(limit as u64);
    }
    if length > max {
        return Err(refusal(413, "Maximum size exceeded\n"));
    }
    let content_length = header_text(headers, "content-length").and_then(|v| v.parse().ok());
    let with_body = header_text(headers, "content-type") == Some(OFFSET_STREAM);
    if with_body && content_length.is_some_and(|l: u64| l > length) {
        return Err(refusal(413, "upload's size exceeded\n"));
    }

    let (owner, upsert) = match requester.signature(&upload)? {
        Some(claims) => (
            claims
                .get("owner")
                .and_then(Value::as_str)
                .map(str::to_string),
            claims
                .get("upsert")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        None => (
            requester.req().caller.user_id().map(str::to_string),
            headers
                .get("x-upsert")
                .is_some_and(|v| v.as_bytes() == b"true"),
        ),
    };
    let content_type = metadata::get(&pairs, "contentType")
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    let cache_control = match metadata::get(&pairs, "cacheControl") {
        Some(n) if is_integer(n) => format!("max-age={n}"),
        _ => "no-cache".to_string(),
    };
    metadata::set(&mut pairs, "cacheControl", cache_control.clone());
    let user_metadata = metadata::get(&pairs, "metadata")
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .filter(Value::is_object);
    let record = UploadRecord {
        id: upload.encode(),
        upload,
        owner,
        upsert,
        length,
        offset: 0,
        metadata: metadata::to_json(&pairs),
        content_type: content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
        cache_control,
        user_metadata,
        expires_at: chrono::Utc::now()
            + chrono::Duration::from_std(state.config.tus_expiry)
                .unwrap_or(chrono::Duration::hours(24)),
        completed: false,
    };
    requester.may_write(&record).await?;
    if let (Some(mime), Some(allowed)) = (
        &content_type,
        bucket.allowed_mime_types.as_ref().filter(|a| !a.is_empty()),
    ) {
        if !crate::key::mime_allowed(mime, allowed) {
            return Err(Error::InvalidMimeType(mime.clone()));
        }
    }
    Ok(Creation {
        record,
        content_length,
        with_body,
    })
}

/// Upstream's `/^-?\d+$/` for `cacheControl`.
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The upload of a URL's id, checked as the request may see it: the token of a signed route,
/// 404 for an unknown upload.
async fn find(requester: &Requester, id: &str) -> Result<UploadRecord, Error> {
    let upload = UploadId::decode(id)?;
    requester.signature(&upload)?;
    UploadRecord::find(&requester.req().state.db, id)
        .await?
        .ok_or_else(not_found)
}

async fn offset_of(requester: Requester, id: String) -> Result<Response, Error> {
    check_protocol(&Method::HEAD, requester.headers())?;
    let record = find(&requester, &id).await?;
    if record.expired() {
        return Err(gone());
    }
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("upload-offset", HeaderValue::from(record.offset));
    h.insert("upload-length", HeaderValue::from(record.length));
    let pairs = metadata::stringify(&record.metadata);
    if let Ok(v) = HeaderValue::from_str(&pairs) {
        if !pairs.is_empty() {
            h.insert("upload-metadata", v);
        }
    }
    Ok((StatusCode::OK, h).into_response())
}

/// What a PATCH decided before it reads its body.
enum Patch {
    /// Write the body at the record's offset.
    Write {
        record: UploadRecord,
        lock: UploadLock,
        content_length: Option<u64>,
    },
    /// The upload is already complete at this offset: nothing to write.
    Done(UploadRecord),
}

async fn append(requester: Requester, id: String, body: Body) -> Response {
    let decided = match prepare_patch(&requester, &id).await {
        Ok(d) => d,
        Err(e) => return refuse(e, body).await,
    };
    match decided {
        Patch::Done(record) => {
            bucketbase_kit::drain_body(body).await;
            let done = Progress {
                offset: record.length,
                complete: true,
            };
            (StatusCode::NO_CONTENT, progress_headers(&record, &done)).into_response()
        }
        Patch::Write {
            record,
            lock,
            content_length,
        } => match receive(
            requester.into_writer(),
            record.clone(),
            body,
            content_length,
            lock,
        )
        .await
        {
            Ok(progress) => {
                (StatusCode::NO_CONTENT, progress_headers(&record, &progress)).into_response()
            }
            Err(e) => TusFailure(e).into_response(),
        },
    }
}

/// `PatchHandler` up to `writeToStore`: headers, `onIncomingRequest`, the lock, the expiry,
/// the offset and the length.
async fn prepare_patch(requester: &Requester, id: &str) -> Result<Patch, Error> {
    let headers = requester.headers();
    check_protocol(&Method::PATCH, headers)?;
    let offset = header_text(headers, "upload-offset")
        .and_then(super::parse_size)
        .ok_or_else(|| refusal(403, "Upload-Offset header required\n"))?;
    if !headers.contains_key(header::CONTENT_TYPE) {
        return Err(refusal(403, "Content-Type header required\n"));
    }
    let record = find(requester, id).await?;
    // A finished upload takes no bytes, so there is nothing to authorize (upstream's probe
    // would answer its object's KeyAlreadyExists).
    if !record.completed {
        requester.may_write(&record).await?;
    }
    let db = &requester.req().state.db;
    let lock = UploadLock::try_acquire(db, id).await?.ok_or_else(locked)?;
    // Read again under the lock: the writer before may have moved the offset, or a DELETE
    // removed the upload.
    let record = UploadRecord::find(db, id).await?.ok_or_else(not_found)?;
    if record.expired() {
        return Err(gone());
    }
    if record.offset != offset {
        return Err(refusal(409, "Upload-Offset conflict\n"));
    }
    if record.completed {
        lock.release().await;
        return Ok(Patch::Done(record));
    }
    let content_length = header_text(headers, "content-length").and_then(|v| v.parse().ok());
    if content_length.is_some_and(|l: u64| offset + l > record.length) {
        return Err(refusal(413, "upload's size exceeded\n"));
    }
    Ok(Patch::Write {
        record,
        lock,
        content_length,
    })
}

/// 400 for terminating a finished upload.
fn finished() -> Error {
    refusal(400, "Cannot terminate an already completed upload")
}

/// `DeleteHandler` with `disableTerminationForFinishedUploads`: the record and parts of an
/// unfinished upload removed, once no PATCH holds it.
async fn remove(requester: Requester, id: String) -> Result<Response, Error> {
    check_protocol(&Method::DELETE, requester.headers())?;
    let record = find(&requester, &id).await?;
    if record.completed {
        return Err(finished());
    }
    requester.may_write(&record).await?;
    let state = &requester.req().state;
    let lock = UploadLock::acquire(&state.db, &id, TERMINATION_WAIT)
        .await?
        .ok_or_else(locked)?;
    let record = UploadRecord::find(&state.db, &id)
        .await?
        .ok_or_else(not_found)?;
    if record.completed {
        return Err(finished());
    }
    UploadRecord::delete(&state.db, &id).await?;
    parts::remove_all(&state.store, &record.upload.version).await?;
    lock.release().await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
