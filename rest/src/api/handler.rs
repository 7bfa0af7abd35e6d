//! The axum handlers of `/rest/v1`: route by path shape and method as PostgREST's `App.hs`
//! does (`PGRST117`, `PGRST101`, `PGRST125`, `PGRST205`), then hand over to the read, write and
//! RPC plans.

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State as AxumState};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use super::request::ApiRequest;
use super::write::write;
use super::{call, read};
use crate::error::fuzzy::{FuzzySet, NAME_MIN_SCORE};
use crate::error::{Error, ErrorCode};
use crate::plan::mutate::Write;
use crate::State;

async fn body_bytes(state: &State, body: Body) -> Result<bytes::Bytes, Error> {
    to_bytes(body, state.0.config.max_body_bytes)
        .await
        .map_err(|_| {
            Error::new(ErrorCode::PayloadTooLarge, "Payload Too Large").details(format!(
                "The request body exceeds the limit of {} bytes",
                state.0.config.max_body_bytes
            ))
        })
}

/// `/{relation}`.
pub(crate) async fn relation(
    AxumState(state): AxumState<State>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    relation_inner(state, name, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn relation_inner(state: State, name: String, request: Request) -> Result<Response, Error> {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    if !matches!(
        method,
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PATCH
            | Method::PUT
            | Method::DELETE
            | Method::OPTIONS
    ) {
        return Err(Error::new(
            ErrorCode::UnsupportedMethod,
            format!("Unsupported HTTP method: {method}"),
        ));
    }
    let req = ApiRequest::parse(&state, &method, &parts.uri, &parts.headers, false, false).await?;
    let Some(table) = req.cache.table(&req.schema, &name).cloned() else {
        return Err(table_not_found(&req, &name));
    };
    match method {
        Method::GET => read::read(&state, req, &table, false).await,
        Method::HEAD => read::read(&state, req, &table, true).await,
        Method::POST => {
            let bytes = body_bytes(&state, body).await?;
            write(&state, req, &table, Write::Insert, &parts.headers, &bytes).await
        }
        Method::PATCH => {
            let bytes = body_bytes(&state, body).await?;
            write(&state, req, &table, Write::Update, &parts.headers, &bytes).await
        }
        Method::PUT => {
            let bytes = body_bytes(&state, body).await?;
            write(&state, req, &table, Write::Upsert, &parts.headers, &bytes).await
        }
        Method::DELETE => write(&state, req, &table, Write::Delete, &parts.headers, &[]).await,
        Method::OPTIONS => {
            let mut allow = vec!["OPTIONS", "GET", "HEAD"];
            if table.insertable {
                allow.push("POST");
            }
            if table.insertable && table.updatable && !table.primary_key.is_empty() {
                allow.push("PUT");
            }
            if table.updatable {
                allow.push("PATCH");
            }
            if table.deletable {
                allow.push("DELETE");
            }
            let mut res = axum::http::StatusCode::OK.into_response();
            if let Ok(v) = allow.join(",").parse() {
                res.headers_mut().insert("allow", v);
            }
            Ok(res)
        }
        _ => Err(Error::new(
            ErrorCode::UnsupportedMethod,
            format!("Unsupported HTTP method: {method}"),
        )),
    }
}

fn table_not_found(req: &ApiRequest, name: &str) -> Error {
    let mut err = Error::new(
        ErrorCode::TableNotFound,
        format!(
            "Could not find the table '{}.{}' in the schema cache",
            req.schema, name
        ),
    );
    // `tableNotFoundHint`: a fuzzy search among the schema's relations (none for schemas of 500
    // relations or more, PostgREST's `maxDbTablesForFuzzySearch`).
    let names: Vec<&str> = req
        .cache
        .tables
        .keys()
        .filter(|k| k.schema == req.schema)
        .map(|k| k.name.as_str())
        .collect();
    if names.len() < 500 {
        let set = FuzzySet::new(names);
        if let Some(best) = set.get_one(name, NAME_MIN_SCORE) {
            err = err.hint(format!(
                "Perhaps you meant the table '{}.{}'",
                req.schema, best
            ));
        }
    }
    err
}

/// `/rpc/{function}`.
pub(crate) async fn rpc(
    AxumState(state): AxumState<State>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    rpc_inner(state, name, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn rpc_inner(state: State, name: String, request: Request) -> Result<Response, Error> {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let is_get = matches!(method, Method::GET | Method::HEAD);
    if method == Method::OPTIONS {
        let mut res = axum::http::StatusCode::OK.into_response();
        res.headers_mut().insert(
            "allow",
            axum::http::HeaderValue::from_static("OPTIONS,GET,HEAD,POST"),
        );
        return Ok(res);
    }
    if !is_get && method != Method::POST {
        return Err(Error::new(
            ErrorCode::RpcMethod,
            format!("Cannot use the {method} method on RPC"),
        ));
    }
    let req = ApiRequest::parse(&state, &method, &parts.uri, &parts.headers, is_get, false).await?;
    let bytes = if is_get {
        bytes::Bytes::new()
    } else {
        body_bytes(&state, body).await?
    };
    call::call(&state, req, &name, &parts.headers, &bytes).await
}

/// `/` (the OpenAPI document).
pub(crate) async fn root(AxumState(state): AxumState<State>, request: Request) -> Response {
    openapi_document(state, request, false).await
}

/// `/openapi.json`: the same description as OpenAPI 3.1 (beyond PostgREST).
pub(crate) async fn openapi_v3(AxumState(state): AxumState<State>, request: Request) -> Response {
    openapi_document(state, request, true).await
}

async fn openapi_document(state: State, request: Request, v3: bool) -> Response {
    let (parts, _) = request.into_parts();
    let result = async {
        let method = parts.method.clone();
        if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Err(Error::new(
                ErrorCode::UnsupportedMethod,
                format!("Unsupported HTTP method: {method}"),
            ));
        }
        let req =
            ApiRequest::parse(&state, &method, &parts.uri, &parts.headers, false, true).await?;
        let host = parts
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_string();
        let mut doc = crate::api::openapi::document(&req.cache, &req.schema, &host);
        if v3 {
            doc = crate::api::openapi::document_v3(&doc);
        }
        Ok(super::response::response(
            200,
            crate::api::media::Media::OpenApi,
            &req.schema,
            (method == Method::GET).then(|| doc.to_string()),
            vec![],
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Any other path shape: `PGRST125`.
pub(crate) async fn invalid_path(request: Request) -> Response {
    Error::new(
        ErrorCode::InvalidPath,
        format!(
            "Invalid path specified in request URL: {}",
            request.uri().path()
        ),
    )
    .into_response()
}
