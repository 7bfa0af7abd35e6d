//! The HTTP layer of `/rest/v1`, as PostgREST's `App.hs`, `ApiRequest.hs` and `Response.hs`:
//! the axum handlers, what a request is parsed into (schema, query string, `Prefer`, media
//! type), the bodies of writes and calls, running the rendered statement, and the response
//! headers; plus the OpenAPI description of the root.

pub(crate) mod call;
pub(crate) mod execute;
pub(crate) mod handler;
pub(crate) mod media;
pub(crate) mod openapi;
pub(crate) mod payload;
pub(crate) mod prefer;
pub(crate) mod read;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod write;
