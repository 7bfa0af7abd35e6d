//! The body of a write as PostgREST's `ApiRequest.hs` reads it (`getPayload`): JSON (an
//! object or an array of objects), `text/csv` (`csvToJson`) or
//! `application/x-www-form-urlencoded` (`parseSimpleQuery`); other types are `PGRST102`.

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::plan::mutate::Write;

/// The rows of a write's body, by its `Content-Type` (`PGRST102` for what cannot be read).
/// Arrays are rows only for inserts and upserts.
pub(crate) fn payload_rows(
    body: &[u8],
    headers: &HeaderMap,
    write: Write,
) -> Result<Vec<Map<String, Value>>, Error> {
    let essence = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            (
                ct,
                ct.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase(),
            )
        });
    let text = std::str::from_utf8(body).map_err(|_| Error::body("Empty or invalid json"))?;
    let value: Value = match essence {
        Some((_, e)) if e == "text/csv" => csv_rows(text)?,
        Some((_, e)) if e == "application/x-www-form-urlencoded" => {
            // `parseSimpleQuery`: one object of text values, a repeated key's last value wins.
            let mut object = serde_json::Map::new();
            for (k, v) in form_urlencoded::parse(text.as_bytes()) {
                object.insert(k.into_owned(), Value::String(v.into_owned()));
            }
            Value::Object(object)
        }
        Some((ct, e)) if !e.is_empty() && e != "application/json" && e != "*/*" => {
            return Err(Error::body(format!("Content-Type not acceptable: {ct}")));
        }
        // PostgREST's `getPayload`: an empty body is "Empty or invalid json" for writes; `{}`
        // and `[{}]` are rows of column defaults.
        _ => serde_json::from_str(text).map_err(|_| Error::body("Empty or invalid json"))?,
    };
    let rows: Vec<Map<String, Value>> = match value {
        Value::Object(o) => vec![o],
        Value::Array(items) if matches!(write, Write::Insert | Write::Upsert) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o),
                _ => Err(Error::body("All object keys must match")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(Error::body("Empty or invalid json")),
    };
    Ok(rows)
}

/// A `text/csv` body as PostgREST's `csvToJson`: the header line names the keys, every value
/// is text except an unquoted `NULL`, which is null.
fn csv_rows(text: &str) -> Result<Value, Error> {
    let records = csv_records(text);
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Ok(Value::Array(Vec::new()));
    };
    let mut rows = Vec::new();
    for record in records {
        if record.len() != header.len() {
            return Err(Error::body("All lines must have same number of fields"));
        }
        let object = header
            .iter()
            .zip(record)
            .map(|((key, _), (value, quoted))| {
                let value = if value == "NULL" && !quoted {
                    Value::Null
                } else {
                    Value::String(value)
                };
                (key.clone(), value)
            })
            .collect();
        rows.push(Value::Object(object));
    }
    Ok(Value::Array(rows))
}

/// RFC 4180 records: fields split on `,`, records on `\n` or `\r\n`, `"…"` quoting with `""`
/// for a quote; each field with whether it was quoted. Blank lines are skipped.
fn csv_records(text: &str) -> Vec<Vec<(String, bool)>> {
    let mut records = Vec::new();
    let mut record: Vec<(String, bool)> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
            }
            ',' => record.push((std::mem::take(&mut field), std::mem::take(&mut quoted))),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push((std::mem::take(&mut field), std::mem::take(&mut quoted)));
                if !(record.len() == 1 && record[0].0.is_empty() && !record[0].1) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || quoted || !record.is_empty() {
        record.push((field, quoted));
        records.push(record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_bodies() {
        assert_eq!(
            csv_rows("a,b\n1,\"x,\"\"y\"\"\"\r\n2,NULL\n3,\"NULL\"\n\n").expect("csv"),
            serde_json::json!([
                {"a": "1", "b": "x,\"y\""},
                {"a": "2", "b": null},
                {"a": "3", "b": "NULL"}
            ])
        );
        assert_eq!(csv_rows("").expect("empty"), serde_json::json!([]));
        assert_eq!(csv_rows("a\n").expect("header only"), serde_json::json!([]));
        assert!(csv_rows("a,b\n1\n").is_err());
        // Unterminated quotes do not panic.
        assert!(csv_rows("a\n\"open").is_ok());
    }
}
