//! Fuzzes PostgREST's query-string grammar: any UTF-8 input, as a table query and as an RPC
//! GET, must parse or fail with a `ParseError`, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        let _ = bucketbase_grammar::parse_query_string(query, false);
        let _ = bucketbase_grammar::parse_query_string(query, true);
    }
});
