//! The bucket endpoints of Supabase Storage (`src/http/routes/bucket/*.ts`): list, get, create,
//! update, empty and delete `storage.buckets`. Every statement runs in the caller's
//! [`RequestTx`], under their role and claims, so `storage.buckets`' RLS policies decide (by
//! default only `service_role`, which bypasses RLS, sees or changes any bucket), as upstream's
//! database layer does with the request's JWT.

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bucketbase_sql::request_tx::Access;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::request::{allow_delete, json_body as body, StorageRequest};
use crate::Error;

/// The columns of a bucket as upstream's API returns it, built by PostgreSQL (timestamps as
/// JavaScript's `toISOString` writes them).
macro_rules! bucket_columns {
    () => {
        "'id', b.id, 'name', b.name, 'owner', coalesce(b.owner::text, b.owner_id, ''), \
         'public', b.public, 'file_size_limit', b.file_size_limit, 'allowed_mime_types', b.allowed_mime_types, \
         'created_at', to_char(b.created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
         'updated_at', to_char(b.updated_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    };
}

/// A bucket in `GET /bucket`, with its `type`.
const BUCKET_JSON: &str = concat!(
    "json_build_object(",
    bucket_columns!(),
    ", 'type', b.type)::text"
);

/// A bucket in `GET /bucket/{id}`: upstream's `findBucket` selects no `type` there.
const BUCKET_JSON_ONE: &str = concat!("json_build_object(", bucket_columns!(), ")::text");

/// Upstream's `isValidBucketName`: at most 100 characters of a safe set.
pub(crate) fn valid_bucket_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 100
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || "!-.*'() &$@=;:+,?".contains(c))
}

/// `file_size_limit` as a number of bytes, or a string with a decimal unit (`"1.5GB"`,
/// `"50mb"`, `"3B"`), as upstream's `parseFileSizeToBytes`.
fn file_size_limit(value: &Value) -> Result<Option<i64>, Error> {
    let invalid = || {
        Error::InvalidRequest(
            "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B".to_string(),
        )
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .filter(|n| *n >= 0)
            .or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && *f < 9e18)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(invalid),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            let digits = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            let number: f64 = s[..digits].parse().map_err(|_| invalid())?;
            let factor = match s[digits..].trim() {
                "b" => 1.0,
                "kb" => 1e3,
                "mb" => 1e6,
                "gb" => 1e9,
                _ => return Err(invalid()),
            };
            let bytes = number * factor;
            if !(0.0..9e18).contains(&bytes) {
                return Err(invalid());
            }
            Ok(Some(bytes as i64))
        }
        _ => Err(invalid()),
    }
}

/// The query of `GET /bucket`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    #[serde(rename = "sortColumn")]
    sort_column: Option<String>,
    #[serde(rename = "sortOrder")]
    sort_order: Option<String>,
    search: Option<String>,
}

/// `GET /bucket`: the buckets the caller may see.
pub(crate) async fn list(
    req: StorageRequest,
    Query(q): Query<ListQuery>,
) -> Result<Response, Error> {
    let column = match q.sort_column.as_deref().unwrap_or("name") {
        c @ ("id" | "name" | "created_at" | "updated_at") => c,
        other => {
            return Err(Error::InvalidRequest(format!(
                "sortColumn must be one of id, name, created_at, updated_at, not {other}"
            )))
        }
    };
    let order = match q.sort_order.as_deref().unwrap_or("asc") {
        o if o.eq_ignore_ascii_case("asc") => "asc",
        o if o.eq_ignore_ascii_case("desc") => "desc",
        other => {
            return Err(Error::InvalidRequest(format!(
                "sortOrder must be asc or desc, not {other}"
            )))
        }
    };
    let search = format!(
        "%{}%",
        q.search
            .unwrap_or_default()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let limit = q.limit.filter(|l| *l >= 0);
    let offset = q.offset.unwrap_or(0).max(0);
    let sql = format!(
        "select {BUCKET_JSON} from storage.buckets b where b.name ilike $1 \
         order by b.{column} {order}, b.id limit $2 offset $3"
    );
    let tx = req.begin(Access::ReadOnly).await?;
    let rows = tx
        .query_and_commit(&sql, &[&search, &limit, &offset])
        .await
        .map_err(Error::db)?;
    let buckets: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap_or(Value::Null))
        .collect();
    Ok(Json(buckets).into_response())
}

/// `GET /bucket/{id}`.
pub(crate) async fn get(req: StorageRequest, Path(id): Path<String>) -> Result<Response, Error> {
    let sql = format!("select {BUCKET_JSON_ONE} from storage.buckets b where b.id = $1");
    let tx = req.begin(Access::ReadOnly).await?;
    let rows = tx.query_and_commit(&sql, &[&id]).await.map_err(Error::db)?;
    let row = rows.first().ok_or(Error::NoSuchBucket)?;
    let bucket: Value = serde_json::from_str(row.get::<_, &str>(0)).unwrap_or(Value::Null);
    Ok(Json(bucket).into_response())
}

/// The body of `POST /bucket` and `PUT /bucket/{id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct BucketBody {
    id: Option<String>,
    name: Option<String>,
    public: Option<bool>,
    #[serde(default)]
    file_size_limit: Value,
    allowed_mime_types: Option<Vec<String>>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `POST /bucket`: creates a bucket owned by the caller; answers `{"name": id}`.
pub(crate) async fn create(req: StorageRequest, bytes: Bytes) -> Result<Response, Error> {
    let b: BucketBody = body(&bytes)?;
    let name =
        b.name.clone().or_else(|| b.id.clone()).ok_or_else(|| {
            Error::InvalidRequest("body must have required property 'name'".into())
        })?;
    let id = b.id.clone().unwrap_or_else(|| name.clone());
    if !valid_bucket_name(&id) || !valid_bucket_name(&name) {
        return Err(Error::InvalidBucketName);
    }
    match b.kind.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("STANDARD") => {}
        Some(other) => {
            return Err(Error::InvalidRequest(format!(
                "bucket type {other} is not supported yet: only STANDARD buckets"
            )))
        }
    }
    let limit = file_size_limit(&b.file_size_limit)?;
    let owner = req.caller.user_id().map(str::to_string);
    let tx = req.begin(Access::ReadWrite).await?;
    tx.query_and_commit(
        "insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types) \
         values ($1, $2, case when $3 ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then $3::uuid end, $3, $4, $5, $6)",
        &[&id, &name, &owner, &b.public.unwrap_or(false), &limit, &b.allowed_mime_types],
    )
    .await
    .map_err(Error::db)?;
    Ok(Json(json!({"name": id})).into_response())
}

/// `PUT /bucket/{id}`: changes `public`, `file_size_limit` and `allowed_mime_types`.
pub(crate) async fn update(
    req: StorageRequest,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let b: BucketBody = body(&bytes)?;
    let limit = file_size_limit(&b.file_size_limit)?;
    // Upstream changes only what the body names.
    let set_limit = !b.file_size_limit.is_null();
    let tx = req.begin(Access::ReadWrite).await?;
    let rows = tx
        .query_and_commit(
            "update storage.buckets set public = coalesce($2, public), \
             file_size_limit = case when $3 then $4 else file_size_limit end, \
             allowed_mime_types = case when $5 then $6 else allowed_mime_types end, \
             updated_at = now() where id = $1 returning id",
            &[
                &id,
                &b.public,
                &set_limit,
                &limit,
                &b.allowed_mime_types.is_some(),
                &b.allowed_mime_types,
            ],
        )
        .await
        .map_err(Error::db)?;
    if rows.is_empty() {
        return Err(Error::NoSuchBucket);
    }
    Ok(Json(json!({"message": "Successfully updated"})).into_response())
}

/// `POST /bucket/{id}/empty`: removes every object of the bucket the caller may delete.
pub(crate) async fn empty(
    req: StorageRequest,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let _: Value = body(&bytes)?;
    let mut tx = req.begin(Access::ReadWrite).await?;
    let found = tx
        .query("select 1 from storage.buckets where id = $1", &[&id])
        .await
        .map_err(Error::db)?;
    if found.is_empty() {
        return Err(Error::NoSuchBucket);
    }
    allow_delete(&mut tx).await?;
    let rows = tx
        .query_and_commit(
            "delete from storage.objects where bucket_id = $1 returning name, coalesce(version, '')",
            &[&id],
        )
        .await
        .map_err(Error::db)?;
    // The bytes go once the rows are gone.
    let store = req.state.store.clone();
    store.remove_later(
        rows.iter()
            .map(|r| crate::store::Store::key(&id, r.get(0), r.get(1)))
            .collect(),
    );
    // Upstream queues the removal and answers at once; here the rows are gone on return and
    // the bytes follow, and the message is upstream's.
    Ok(Json(json!({
        "message": "Empty bucket has been queued. Completion may take up to an hour."
    }))
    .into_response())
}

/// `DELETE /bucket/{id}`: refused while the bucket holds objects.
pub(crate) async fn delete(
    req: StorageRequest,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let _: Value = body(&bytes)?;
    let mut tx = req.begin(Access::ReadWrite).await?;
    allow_delete(&mut tx).await?;
    // `storage.objects` references its bucket, so a bucket that still holds objects cannot be
    // deleted, whether or not the caller can see them.
    let deleted = tx
        .query_and_commit(
            "delete from storage.buckets where id = $1 returning id",
            &[&id],
        )
        .await
        .map_err(|e| match e.as_db_error().map(|d| d.code().code()) {
            Some("23503") => Error::BucketNotEmpty,
            _ => Error::db(e),
        })?;
    if deleted.is_empty() {
        return Err(Error::NoSuchBucket);
    }
    Ok(Json(json!({"message": "Successfully deleted"})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_size_limits_take_numbers_and_decimal_units() {
        assert_eq!(file_size_limit(&json!(1000)).ok(), Some(Some(1000)));
        assert_eq!(file_size_limit(&json!("1MB")).ok(), Some(Some(1_000_000)));
        assert_eq!(file_size_limit(&json!("50mb")).ok(), Some(Some(50_000_000)));
        assert_eq!(
            file_size_limit(&json!("1.5GB")).ok(),
            Some(Some(1_500_000_000))
        );
        assert_eq!(file_size_limit(&json!("3B")).ok(), Some(Some(3)));
        assert_eq!(file_size_limit(&Value::Null).ok(), Some(None));
        for bad in [
            json!("lots"),
            json!("5TB"),
            json!(-1),
            json!(true),
            json!("1e30gb"),
        ] {
            assert!(file_size_limit(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_names_as_upstream_checks_them() {
        assert!(valid_bucket_name("avatars"));
        assert!(valid_bucket_name("my bucket (2).v1"));
        assert!(!valid_bucket_name(""));
        assert!(!valid_bucket_name("a/b"));
        assert!(!valid_bucket_name(&"x".repeat(101)));
    }
}
