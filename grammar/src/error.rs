//! The error of this crate, mirroring PostgREST's `QPError message details` from
//! `PostgREST/Error.hs` (reported as HTTP 400 `PGRST100`), plus the one range error the
//! query string alone can reveal (`InvalidRange NegativeLimit`, HTTP 416 `PGRST103`).

/// `message` of every range error; [`ParseError::is_range_error`] tests for it.
pub const RANGE_NOT_SATISFIABLE: &str = "Requested range not satisfiable";

/// A query string PostgREST would refuse.
///
/// The caller maps it to `{code, message, details, hint: null}`: normally HTTP 400 with
/// code `PGRST100`; when [`ParseError::is_range_error`] is true (a negative `limit`), HTTP
/// 416 with code `PGRST103`, as PostgREST does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display(message, details))]
pub struct ParseError {
    /// PostgREST's `message`, e.g. `"failed to parse filter (noop.0)" (line 1, column 1)`.
    pub message: String,
    /// PostgREST's `details`, e.g. `unexpected "o" expecting "not" or operator (eq, gt, ...)`.
    pub details: Option<String>,
}

fn display(message: &str, details: &Option<String>) -> String {
    match details {
        Some(d) => format!("{message}: {d}"),
        None => message.to_string(),
    }
}

impl ParseError {
    /// The range error PostgREST raises for a negative limit (`PGRST103`, HTTP 416).
    pub fn negative_limit() -> Self {
        ParseError {
            message: RANGE_NOT_SATISFIABLE.to_string(),
            details: Some("Limit should be greater than or equal to zero.".to_string()),
        }
    }

    /// True for range errors (map to `PGRST103` / 416 instead of `PGRST100` / 400).
    pub fn is_range_error(&self) -> bool {
        self.message.starts_with(RANGE_NOT_SATISFIABLE)
    }

    /// An input over [`crate::MAX_INPUT_LEN`] bytes; `what` names the parameter.
    pub(crate) fn too_long(what: &str) -> Self {
        ParseError {
            message: format!("failed to parse {what}"),
            details: Some(format!("input longer than {} bytes", crate::MAX_INPUT_LEN)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn display_and_kind() {
        let e = ParseError {
            message: "m".into(),
            details: Some("d".into()),
        };
        assert_eq!(e.to_string(), "m: d");
        assert!(!e.is_range_error());
        let e = ParseError {
            message: "m".into(),
            details: None,
        };
        assert_eq!(e.to_string(), "m");
        let r = ParseError::negative_limit();
        assert!(r.is_range_error());
        assert_eq!(
            r.details.as_deref(),
            Some("Limit should be greater than or equal to zero.")
        );
        let boxed: Box<dyn std::error::Error> = Box::new(r);
        assert!(boxed.to_string().starts_with(RANGE_NOT_SATISFIABLE));
    }
}
