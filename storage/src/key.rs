//! Object names as upstream accepts them (`src/storage/limits.ts`, `isValidKey`): S3-safe
//! ASCII characters only. Beyond upstream, which lets them through to the backend, `.` and `..`
//! segments, empty segments and names over 1024 bytes (S3's key limit) are refused too, so no
//! name can step outside its bucket's directory on the file backend.

use crate::Error;

/// S3's longest key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// `name` if it is a valid object name, else `InvalidKey`.
pub(crate) fn object_name(name: &str) -> Result<&str, Error> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_/!.*'() &$=@;:+,?-".contains(c);
    let ok = !name.is_empty()
        && name.len() <= MAX_KEY_BYTES
        && name.chars().all(safe)
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    if ok {
        Ok(name)
    } else {
        Err(Error::InvalidKey(name.to_string()))
    }
}

/// The dashboard's marker of an empty folder (exempt from size and mime checks, as upstream's
/// `isEmptyFolder`).
pub(crate) fn is_empty_folder(name: &str) -> bool {
    name.ends_with(".emptyFolderPlaceholder")
}

/// Whether `mime` is one of `allowed` (`type/*` wildcards accepted), upstream's
/// `validateMimeType`.
pub(crate) fn mime_allowed(mime: &str, allowed: &[String]) -> bool {
    let mut wanted = mime.split(';').next().unwrap_or("").trim().split('/');
    let (Some(kind), Some(sub)) = (wanted.next(), wanted.next()) else {
        return false;
    };
    allowed.iter().any(|a| {
        let mut a = a.split('/');
        match (a.next(), a.next()) {
            (Some(t), Some(s)) => {
                t.eq_ignore_ascii_case(kind) && (s == "*" || s.eq_ignore_ascii_case(sub))
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_tricks_are_invalid_keys() {
        for bad in [
            "",
            "../etc/passwd",
            "a/../../b",
            "./a",
            "a//b",
            "/abs",
            "a/",
            "nul\0byte",
            "back\\slash",
            "percent%2e",
            "ünïcode",
        ] {
            assert!(object_name(bad).is_err(), "{bad:?}");
        }
        assert!(object_name(&"x".repeat(1025)).is_err());
        for good in [
            "a.png",
            "folder/sub/a b (1).png",
            "u1/.emptyFolderPlaceholder",
            "a..b",
        ] {
            assert!(object_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn mime_types_match_with_wildcards() {
        let allowed = vec!["image/*".to_string(), "text/plain".to_string()];
        assert!(mime_allowed("image/png", &allowed));
        assert!(mime_allowed("text/plain;charset=UTF-8", &allowed));
        assert!(!mime_allowed("text/html", &allowed));
        assert!(!mime_allowed("image", &allowed));
    }
}
