//! The `Upload-Metadata` header as @tus/server's `Metadata.parse` and `Metadata.stringify`
//! read and write it (`packages/utils/src/models/Metadata.ts`): comma-separated pairs of an
//! ASCII key without spaces or commas and an optional standard-base64 value; keys unique.
//! Supabase reads `bucketName`, `objectName`, `contentType`, `cacheControl` and `metadata`
//! (the user metadata, as JSON) from it.

use base64::Engine;
use serde_json::{Map, Value};

/// The pairs of an `Upload-Metadata` header, in order; `None` for a key without a value.
pub(crate) type Pairs = Vec<(String, Option<String>)>;

/// The pairs of `header`, or `None` when it is not valid `Upload-Metadata`.
pub(crate) fn parse(header: &str) -> Option<Pairs> {
    if header.trim().is_empty() {
        return None;
    }
    let mut pairs: Pairs = Vec::new();
    for pair in header.split(',') {
        let tokens: Vec<&str> = pair.split(' ').collect();
        let (key, value) = match tokens.as_slice() {
            [key] => (*key, None),
            [key, value] => (*key, Some(*value)),
            _ => return None,
        };
        if !valid_key(key) || pairs.iter().any(|(k, _)| k == key) {
            return None;
        }
        let value = match value {
            None => None,
            Some(v) if valid_value(v) => Some(
                String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(v).ok()?)
                    .into_owned(),
            ),
            Some(_) => return None,
        };
        pairs.push((key.to_string(), value));
    }
    Some(pairs)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii() && c != ' ' && c != ',')
}

fn valid_value(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    value.len() % 4 == 0
        && value.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The value of `key`, if it has one.
pub(crate) fn get<'a>(pairs: &'a Pairs, key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_deref())
}

/// Sets `key` to `value`, keeping its place when present.
pub(crate) fn set(pairs: &mut Pairs, key: &str, value: String) {
    match pairs.iter_mut().find(|(k, _)| k == key) {
        Some(pair) => pair.1 = Some(value),
        None => pairs.push((key.to_string(), Some(value))),
    }
}

/// The pairs as a JSON object (`null` for a key without a value), for the upload's row.
pub(crate) fn to_json(pairs: &Pairs) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
            .collect::<Map<String, Value>>(),
    )
}

/// The header value for the pairs of a row's JSON object, as HEAD echoes it.
pub(crate) fn stringify(json: &Value) -> String {
    let Some(object) = json.as_object() else {
        return String::new();
    };
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            ),
            None => k.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_as_tus_js_client_writes_them() {
        // tus-js-client: `${key} ${Base64.encode(value)}` joined with commas.
        let pairs = parse("bucketName ZG9jcw==,objectName YS9iLnR4dA==,flag").expect("valid");
        assert_eq!(get(&pairs, "bucketName"), Some("docs"));
        assert_eq!(get(&pairs, "objectName"), Some("a/b.txt"));
        assert_eq!(get(&pairs, "flag"), None);
        let json = to_json(&pairs);
        assert_eq!(
            parse(&stringify(&json)).expect("round trip"),
            pairs,
            "{json}"
        );
    }

    #[test]
    fn invalid_headers_as_tus_server_refuses_them() {
        for bad in [
            "",
            " ",
            "key a b",
            "key notbase64!",
            "key abc",
            "a ZG9jcw==,a ZG9jcw==",
            ",",
            "k\u{e9}y ZG9jcw==",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
