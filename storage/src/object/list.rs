//! Listing, as upstream's `POST /object/list/{bucket}` (`storage.search`, one level: folders
//! as entries with null id and metadata, names relative to the prefix, which always names a
//! folder) and `POST /object/list-v2/{bucket}` (`listObjectsV2`: full names, folders and
//! objects apart, an opaque cursor; with a delimiter every entry has the `key` of its level and
//! folders are `{key, name: "<folder>/", id: null, …}`). Both run under the caller's role, so
//! only rows the caller may SELECT are listed. List-v2 with a delimiter, sorted by name, walks
//! the `(bucket_id, name collate "C")` index one entry at a time and jumps over each folder it
//! meets, so a folder of a million objects costs one index probe, not a million rows.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use bucketbase_sql::request_tx::Access;
use serde::Deserialize;
use serde_json::{json, Value};

use super::iso;
use crate::request::StorageRequest;
use crate::Error;

#[derive(Debug, Deserialize, Default)]
struct SortBy {
    column: Option<String>,
    order: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListBody {
    prefix: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    #[serde(rename = "sortBy")]
    sort_by: Option<SortBy>,
    search: Option<String>,
    cursor: Option<String>,
    with_delimiter: Option<bool>,
}

fn parse(bytes: &[u8]) -> Result<ListBody, Error> {
    crate::request::json_body(bytes)
}

fn order(sort: &Option<SortBy>) -> Result<&'static str, Error> {
    match sort
        .as_ref()
        .and_then(|s| s.order.as_deref())
        .unwrap_or("asc")
    {
        o if o.eq_ignore_ascii_case("asc") => Ok("asc"),
        o if o.eq_ignore_ascii_case("desc") => Ok("desc"),
        other => Err(Error::InvalidRequest(format!(
            "sortBy/order must be asc or desc, not {other}"
        ))),
    }
}

/// `POST /object/list/{bucket}`.
pub(crate) async fn list(
    req: StorageRequest,
    Path(bucket): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let body = parse(&bytes)?;
    let mut prefix = body
        .prefix
        .ok_or_else(|| Error::InvalidRequest("body must have required property 'prefix'".into()))?;
    // A prefix always names a folder, as upstream's `searchObjects` has it: `list("a")` lists
    // what is inside `a/`.
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let column = body
        .sort_by
        .as_ref()
        .and_then(|s| s.column.clone())
        .unwrap_or_else(|| "name".into());
    let order = order(&body.sort_by)?;
    let limit = body.limit.unwrap_or(100).clamp(1, 1500) as i32;
    let offset = body.offset.unwrap_or(0).max(0) as i32;
    let search = body.search.unwrap_or_default();
    let sql = format!(
        "select coalesce(json_agg(json_build_object('name', s.name, 'id', s.id, 'updated_at', {}, \
         'created_at', {}, 'last_accessed_at', {}, 'metadata', s.metadata)), '[]')::text \
         from storage.search($1, $2, $3, 1, $4, $5, $6, $7) s",
        iso("s.updated_at"),
        iso("s.created_at"),
        iso("s.last_accessed_at")
    );
    let tx = req.begin(Access::ReadOnly).await?;
    let rows = tx
        .query_and_commit(
            &sql,
            &[&prefix, &bucket, &limit, &offset, &search, &column, &order],
        )
        .await
        .map_err(Error::db)?;
    let text: String = rows
        .first()
        .map(|r| r.get(0))
        .unwrap_or_else(|| "[]".into());
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response())
}

/// The cursor of list-v2: where the previous page stopped.
#[derive(Debug, Default, PartialEq)]
struct Cursor {
    start_after: String,
    order: Option<String>,
    column: Option<String>,
    after: Option<String>,
}

/// Upstream's continuation token: base64 of `l:<start after>\no:<order>\nc:<column>\na:<value>`.
fn encode_cursor(c: &Cursor) -> String {
    let mut parts = vec![format!("l:{}", c.start_after)];
    if let Some(o) = &c.order {
        parts.push(format!("o:{o}"));
    }
    if let Some(col) = &c.column {
        parts.push(format!("c:{col}"));
    }
    if let Some(a) = &c.after {
        parts.push(format!("a:{a}"));
    }
    base64::engine::general_purpose::STANDARD.encode(parts.join("\n"))
}

fn decode_cursor(token: &str) -> Result<Cursor, Error> {
    let bad = || Error::InvalidRequest("invalid cursor".into());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut c = Cursor::default();
    for line in text.split('\n') {
        match line.split_once(':') {
            Some(("l", v)) => c.start_after = v.to_string(),
            Some(("o", v)) => c.order = Some(v.to_string()),
            Some(("c", v)) => c.column = Some(v.to_string()),
            Some(("a", v)) => c.after = Some(v.to_string()),
            _ => return Err(bad()),
        }
    }
    Ok(c)
}

/// The least string above every name that starts with `prefix` (names are ASCII), or none
/// for the empty prefix.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

/// The columns list-v2 returns for each object, as upstream selects them.
fn v2_object(alias: &str) -> String {
    format!(
        "json_build_object('id', {a}.id, 'name', {a}.name, 'metadata', {a}.metadata, 'updated_at', {}, \
         'created_at', {}, 'last_accessed_at', {})",
        iso(&format!("{alias}.updated_at")),
        iso(&format!("{alias}.created_at")),
        iso(&format!("{alias}.last_accessed_at")),
        a = alias
    )
}

/// Upstream's `split_part(name, '/', levels)`: the segment of `name` at the listed level
/// (`key` of each entry of a delimited listing).
fn level_key(name: &str, levels: usize) -> String {
    name.split('/')
        .nth(levels.saturating_sub(1))
        .unwrap_or("")
        .to_string()
}

/// One entry of a list-v2 page: the name the next cursor starts after, whether it is a
/// folder, and its JSON.
struct Entry {
    cursor_name: String,
    folder: bool,
    obj: Value,
}

/// `POST /object/list-v2/{bucket}`.
pub(crate) async fn list_v2(
    req: StorageRequest,
    Path(bucket): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let body = parse(&bytes)?;
    let limit = body.limit.unwrap_or(1000).clamp(1, 1000);
    let prefix = body.prefix.unwrap_or_default();
    let cursor = body.cursor.as_deref().map(decode_cursor).transpose()?;
    let column = cursor
        .as_ref()
        .and_then(|c| c.column.clone())
        .or_else(|| body.sort_by.as_ref().and_then(|s| s.column.clone()))
        .unwrap_or_else(|| "name".into());
    let order = match cursor.as_ref().and_then(|c| c.order.clone()) {
        Some(o) => order(&Some(SortBy {
            column: None,
            order: Some(o),
        }))?,
        None => order(&body.sort_by)?,
    };
    let col = match column.as_str() {
        "name" => "name",
        "created_at" => "created_at",
        "updated_at" => "updated_at",
        other => {
            return Err(Error::InvalidRequest(format!(
                "sortBy/column must be one of name, updated_at, created_at, not {other}"
            )))
        }
    };
    let delimiter = body.with_delimiter.unwrap_or(false);
    // Upstream's `levels`: which segment of a name is its `key`.
    let levels = if prefix.is_empty() {
        1
    } else {
        prefix.split('/').count()
    };
    let start_after = cursor.as_ref().map(|c| c.start_after.clone());
    let after = cursor
        .as_ref()
        .and_then(|c| c.after.clone())
        .unwrap_or_else(|| "epoch".into());
    // LIKE pattern of the prefix, its wildcards escaped.
    let pattern = format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let fetch = (limit + 1) as i32;
    let upper = prefix_upper_bound(&prefix);
    let cmp = if order == "asc" { ">" } else { "<" };
    // Timestamps compare at the millisecond precision of the cursor, as upstream's
    // `date_trunc('milliseconds', …)`, so a page never repeats the last entry of the previous.
    let tx = req.begin(Access::ReadOnly).await?;
    let rows = match (col, delimiter) {
        ("name", true) => {
            // Walk: the next visible name after the last entry; a name with a delimiter past
            // the prefix is a folder, and the walk continues after every name in it (the
            // folder's trailing '/' raised to '0', the next byte).
            let next = |from: &str| {
                format!(
                    "select o.name, o.id, storage.get_common_prefix(o.name, $2, '/') as folder, {obj} as obj \
                     from storage.objects o where o.bucket_id = $1 and o.name like $3 \
                     and o.name collate \"C\" >= $2 and ($6::text is null or o.name collate \"C\" < $6) \
                     and ({from}) order by o.name collate \"C\" {order} limit 1",
                    obj = v2_object("o"),
                )
            };
            // A page that ended on a folder continues after everything in it.
            let first = next(&format!(
                "$4::text is null or o.name collate \"C\" {cmp} (case when '{order}' = 'asc' and right($4, 1) = '/' \
                 then left($4, -1) || '0' else $4 end) collate \"C\""
            ));
            let after_step = if order == "asc" {
                format!("o.name collate \"C\" {cmp} case when w.folder is null then w.name else left(w.folder, -1) || '0' end collate \"C\"")
            } else {
                format!("o.name collate \"C\" {cmp} coalesce(w.folder, w.name) collate \"C\"")
            };
            let step = next(&after_step);
            let sql = format!(
                "with recursive walk(name, id, folder, obj, n) as ( \
                   (select f.*, 1 from ({first}) f) \
                   union all \
                   select s.name, s.id, s.folder, s.obj, w.n + 1 from walk w cross join lateral ({step}) s \
                   where w.n < $5 \
                 ) select coalesce(folder, name), folder is not null, case when folder is null then obj::text end from walk"
            );
            tx.query_and_commit(&sql, &[&bucket, &prefix, &pattern, &start_after, &fetch, &upper])
                .await
        }
        (_, true) => {
            // Folders sorted among the objects by their first object's creation, as
            // upstream's `search_by_timestamp`.
            let sql = format!(
                "with raw as ( \
                   select o.name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata, \
                          storage.get_common_prefix(o.name, $2, '/') as common_prefix \
                   from storage.objects o where o.bucket_id = $1 and o.name like $3 \
                   and o.name collate \"C\" >= $2 and ($6::text is null or o.name collate \"C\" < $6) \
                 ), combined as ( \
                   select rtrim(common_prefix, '/') as name, null::uuid as id, min(created_at) as updated_at, \
                          min(created_at) as created_at, null::timestamptz as last_accessed_at, null::jsonb as metadata, \
                          true as folder \
                   from raw where common_prefix is not null group by common_prefix \
                   union all \
                   select name, id, updated_at, created_at, last_accessed_at, metadata, false from raw \
                   where common_prefix is null \
                 ) select c.name, c.folder, {obj}::text from combined c \
                 where $4::text is null or (date_trunc('milliseconds', c.{col}), c.name collate \"C\") {cmp} \
                       ($5::text::timestamptz, $4 collate \"C\") \
                 order by coalesce(date_trunc('milliseconds', c.{col}), 'epoch') {order}, c.name collate \"C\" {order} \
                 limit $7::int",
                obj = v2_object("c")
            );
            tx.query_and_commit(
                &sql,
                &[&bucket, &prefix, &pattern, &start_after, &after, &upper, &fetch],
            )
            .await
        }
        _ => {
            let (cursor_cond, order_by) = if col == "name" {
                (
                    format!("($4::text is null or o.name collate \"C\" {cmp} $4) and $5::text is not null"),
                    format!("o.name collate \"C\" {order}"),
                )
            } else {
                (
                    format!(
                        "($4::text is null or (date_trunc('milliseconds', o.{col}), o.name collate \"C\") {cmp} \
                         ($5::text::timestamptz, $4 collate \"C\"))"
                    ),
                    format!("date_trunc('milliseconds', o.{col}) {order}, o.name collate \"C\" {order}"),
                )
            };
            let sql = format!(
                "select o.name, false, {obj}::text from storage.objects o \
                 where o.bucket_id = $1 and o.name like $2 and {cursor_cond} and $3::int > 0 \
                 and o.name collate \"C\" >= $6 and ($7::text is null or o.name collate \"C\" < $7) \
                 order by {order_by} limit $3",
                obj = v2_object("o")
            );
            tx.query_and_commit(
                &sql,
                &[&bucket, &pattern, &fetch, &start_after, &after, &prefix, &upper],
            )
            .await
        }
    }
    .map_err(Error::db)?;

    let mut entries: Vec<Entry> = rows
        .iter()
        .map(|r| Entry {
            cursor_name: r.get(0),
            folder: r.get(1),
            obj: r
                .get::<_, Option<String>>(2)
                .and_then(|o| serde_json::from_str(&o).ok())
                .unwrap_or(Value::Null),
        })
        .collect();
    let has_next = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let mut folders = Vec::new();
    let mut objects = Vec::new();
    for e in &entries {
        if e.folder {
            let name = e.cursor_name.trim_end_matches('/');
            let mut folder = match &e.obj {
                Value::Object(_) => e.obj.clone(),
                _ => {
                    json!({"id": null, "updated_at": null, "created_at": null, "last_accessed_at": null, "metadata": null})
                }
            };
            folder["name"] = json!(format!("{name}/"));
            folder["key"] = json!(level_key(name, levels));
            folders.push(folder);
        } else {
            let mut obj = e.obj.clone();
            if delimiter {
                obj["key"] = json!(level_key(&e.cursor_name, levels));
            }
            objects.push(obj);
        }
    }
    let mut out = json!({"hasNext": has_next, "folders": folders, "objects": objects});
    if has_next {
        if let Some(last) = entries.last() {
            let after = (col != "name")
                .then(|| {
                    last.obj
                        .get(col)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .flatten();
            out["nextCursor"] = json!(encode_cursor(&Cursor {
                start_after: last.cursor_name.clone(),
                order: Some(order.to_string()),
                column: Some(column.clone()),
                after,
            }));
            out["nextCursorKey"] = json!(last.cursor_name.trim_end_matches('/'));
        }
    }
    Ok(Json(out).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            start_after: "a/b:c".into(),
            order: Some("asc".into()),
            column: Some("name".into()),
            after: None,
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)).ok(), Some(c));
        assert!(decode_cursor("!!").is_err());
    }
}
