//! A bounded memo of successful parses, keyed by the parameter's text. Not in PostgREST
//! (which parses every value of every request); here because a client sends the same
//! `select` and `order` text on every call of one code path, and parsing a three-column
//! `select` through the parsec engine costs more than the rest of the query string together.
//!
//! Only successes are kept (an error is re-parsed, so its rendering never depends on the
//! memo), only short texts are kept, and the memo empties itself when full: a stream of
//! distinct texts costs one extra hash lookup each, never unbounded memory.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::error::ParseError;

/// Distinct texts kept before the memo starts over.
const CAPACITY: usize = 1024;

/// Longest text (in bytes) that is memoised.
const MAX_KEY_LEN: usize = 2048;

/// Parsed values by their source text.
pub(crate) struct Memo<T: Clone> {
    map: LazyLock<Mutex<HashMap<String, T>>>,
}

impl<T: Clone> Memo<T> {
    /// An empty memo, usable in a `static`.
    pub(crate) const fn new() -> Self {
        Self {
            map: LazyLock::new(|| Mutex::new(HashMap::new())),
        }
    }

    /// The parse of `text`: from the memo when seen before, otherwise from `parse` (and
    /// remembered when it succeeded).
    pub(crate) fn get_or_parse(
        &self,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if text.len() > MAX_KEY_LEN {
            return parse(text);
        }
        if let Some(hit) = self.map.lock().ok().and_then(|m| m.get(text).cloned()) {
            return Ok(hit);
        }
        let parsed = parse(text)?;
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(text.to_string(), parsed.clone());
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_successes_only_and_stays_bounded() {
        let memo: Memo<usize> = Memo::new();
        let mut calls = 0;
        for _ in 0..3 {
            let n = memo
                .get_or_parse("abc", |s| {
                    calls += 1;
                    Ok(s.len())
                })
                .ok();
            assert_eq!(n, Some(3));
        }
        assert_eq!(calls, 1, "second and third lookups are hits");

        let mut failures = 0;
        for _ in 0..2 {
            let r = memo.get_or_parse("bad", |_| {
                failures += 1;
                Err(ParseError {
                    message: "nope".into(),
                    details: None,
                })
            });
            assert!(r.is_err());
        }
        assert_eq!(failures, 2, "errors are parsed again every time");

        for i in 0..(CAPACITY * 2) {
            let key = format!("k{i}");
            assert_eq!(
                memo.get_or_parse(&key, |s| Ok(s.len())).ok(),
                Some(key.len())
            );
        }
        let size = memo.map.lock().map(|m| m.len()).unwrap_or(usize::MAX);
        assert!(size <= CAPACITY, "memo holds {size} entries");
    }

    #[test]
    fn long_texts_are_not_kept() {
        let memo: Memo<usize> = Memo::new();
        let long = "x".repeat(MAX_KEY_LEN + 1);
        assert_eq!(
            memo.get_or_parse(&long, |s| Ok(s.len())).ok(),
            Some(long.len())
        );
        assert_eq!(memo.map.lock().map(|m| m.len()).unwrap_or(usize::MAX), 0);
    }
}
