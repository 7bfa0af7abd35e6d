//! The plan layer, as PostgREST's `Plan.hs`: typed read, mutate and call plans built from the
//! grammar's AST (`bucketbase_grammar`) and the [`SchemaCache`](crate::schema_cache::SchemaCache),
//! with every check PostgREST makes before SQL. Plans hold no SQL; `render` does.

pub(crate) mod call;
pub(crate) mod embed;
pub(crate) mod mutate;
pub(crate) mod read;

#[cfg(test)]
mod tests;
