//! The render layer: plans to SQL text with bound parameters, as PostgREST's `Query.hs`,
//! `Query/QueryBuilder.hs` and `Query/SqlFragment.hs`. Every statement returns one row:
//! total count, page count, body, an optional extra text column, then [`GUC_COLUMNS`].

pub(crate) mod call;
mod filter;
pub(crate) mod mutate;
pub(crate) mod read;
pub(crate) mod sql_text;

/// The two columns every generated statement ends with, read after the statement's work so
/// that functions and the pre-request function can set them.
pub(crate) const GUC_COLUMNS: &str = "nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status";
