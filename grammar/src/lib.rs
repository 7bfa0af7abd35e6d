//! Bucketbase's parser for the PostgREST query-string grammar: `select`, horizontal
//! filters, logic trees, `order`, `limit`/`offset`, `columns` and `on_conflict`.
//!
//! It mirrors PostgREST v13/v14's `src/PostgREST/ApiRequest/QueryParams.hs` (the grammar,
//! ported combinator by combinator onto a small parsec engine so that error positions and
//! `expecting …` details match upstream) and the request types of `ApiRequest/Types.hs`.
//! It is pure: no web framework, no database. Every error is a [`ParseError`] that the
//! caller answers with HTTP 400 `PGRST100` (or 416 `PGRST103` for
//! [`ParseError::is_range_error`]).
//!
//! ```
//! use bucketbase_grammar::{parse_query_string, CompareOp, Operation};
//!
//! let q = parse_query_string("select=id,name&id=eq.1&order=name.desc&limit=10", false)?;
//! assert_eq!(q.select.map(|s| s.len()), Some(2));
//! let (path, filter) = &q.filters[0];
//! assert!(path.is_empty());
//! assert_eq!(
//!     filter.operation,
//!     Operation::Compare { op: CompareOp::Eq, quantifier: None, value: "1".into() }
//! );
//! assert_eq!(q.limit, vec![(vec![], 10)]);
//! # Ok::<(), bucketbase_grammar::ParseError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ast;
mod error;
mod filter;
mod lexical;
mod logic;
mod memo;
mod message;
mod order;
mod parsec;
mod query;
mod select;
mod show;
mod urlencoded;

pub use ast::*;
pub use error::{ParseError, RANGE_NOT_SATISFIABLE};
pub use query::{
    parse_columns, parse_filter, parse_logic, parse_on_conflict, parse_order, parse_query_string,
    parse_select,
};

/// Deepest nesting accepted for select embeds and for logic trees; deeper input is a
/// [`ParseError`] rather than unbounded recursion.
pub const MAX_NESTING_DEPTH: usize = 64;

/// Longest input (in bytes) any parse function accepts: the whole raw query string, or
/// one parameter value. Callers normally cap URLs well below this.
pub const MAX_INPUT_LEN: usize = 1 << 20;

#[cfg(test)]
mod testing;
