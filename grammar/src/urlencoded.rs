//! Splitting and decoding of the raw query string, mirroring `parseQueryReplacePlus True`
//! from http-types' `Network.HTTP.Types.URI`, which PostgREST's `QueryParams.parse` uses:
//! an optional leading `?` is dropped, pairs are separated by `&` or `;`, the key ends at the
//! first `=`, `+` decodes to a space and `%XX` to a byte; a `%` not followed by two hex
//! digits is kept literally. Bytes that are not UTF-8 become U+FFFD (PostgREST's strict
//! `decodeUtf8` would fail the request instead).

/// One `key[=value]` pair; `None` when the pair had no `=`.
pub(crate) type RawPair = (String, Option<String>);

/// Split and decode `raw` into pairs, in order, empty segments skipped.
pub(crate) fn query_pairs(raw: &str) -> Vec<RawPair> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    raw.split(['&', ';'])
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((k, v)) => (form_decode(k), Some(form_decode(v))),
            None => (form_decode(segment), None),
        })
        .collect()
}

/// `urlDecode True`: `+` is a space, `%XX` a byte, anything else itself.
pub(crate) fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                bytes.get(i + 1).and_then(|h| hex_val(*h)),
                bytes.get(i + 2).and_then(|l| hex_val(*l)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_components() {
        let cases: &[(&str, &str)] = &[
            ("a+b", "a b"),
            ("a%20b", "a b"),
            ("%2B", "+"),
            ("%2b", "+"),
            ("%", "%"),
            ("%2", "%2"),
            ("%zz", "%zz"),
            ("%%41", "%A"),
            ("100%", "100%"),
            ("%C3%A9", "é"),
            ("%E2%82%AC", "€"),
            ("%FF", "\u{FFFD}"),
            ("é", "é"),
            ("a%2Cb%28c%29", "a,b(c)"),
            ("%22full+name%22", "\"full name\""),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(form_decode(input), *want, "decode {input:?}");
        }
    }

    #[test]
    fn splits_pairs() {
        let p = |k: &str, v: Option<&str>| (k.to_string(), v.map(String::from));
        let cases: Vec<(&str, Vec<RawPair>)> = vec![
            ("", vec![]),
            ("?", vec![]),
            ("a=1", vec![p("a", Some("1"))]),
            ("?a=1&b=2", vec![p("a", Some("1")), p("b", Some("2"))]),
            ("a=1;b=2", vec![p("a", Some("1")), p("b", Some("2"))]),
            ("a&b=", vec![p("a", None), p("b", Some(""))]),
            ("a=b=c", vec![p("a", Some("b=c"))]),
            ("&&a=1&", vec![p("a", Some("1"))]),
            ("=x", vec![p("", Some("x"))]),
            ("a%3D=1", vec![p("a=", Some("1"))]),
            ("a%26b=1%262", vec![p("a&b", Some("1&2"))]),
            ("x+y=a+b", vec![p("x y", Some("a b"))]),
        ];
        for (input, want) in cases {
            assert_eq!(query_pairs(input), want, "pairs {input:?}");
        }
    }
}
