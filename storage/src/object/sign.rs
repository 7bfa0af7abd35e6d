//! Signed URLs, as upstream's `signObjectUrl`, `signObjectUrls`, `signUploadObjectUrl` and
//! `verifyObjectSignature` (`src/storage/object.ts`): a JWT signed with the server's HS256
//! secret, `{url: "<bucket>/<name>", scope: "download"|"upload", iat, exp}` (upload tokens add
//! `owner` and `upsert`). Creating one needs the caller to see the object (download) or to be
//! allowed to write it (upload); using one needs no token but this one. A bad or expired token
//! is `InvalidJWT`, a token for another object or purpose `InvalidSignature`.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bucketbase_sql::request_tx::Access;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

use super::upload::{self, Target};
use super::{find_object, object_path};
use crate::request::{StorageRequest, Unauthenticated};
use crate::{Error, State};

/// The claims of a valid token for `bucket/name` and `scope`.
pub(crate) fn verify(
    state: &State,
    token: &str,
    bucket: &str,
    name: &str,
    scope: &str,
) -> Result<Value, Error> {
    let claims = state
        .keys
        .verify(token, bucketbase_caller::now())
        .map_err(|e| Error::InvalidJwt(crate::error::jose_message(&e).to_string()))?;
    let token_scope = claims.get("scope").and_then(Value::as_str);
    let scoped = match scope {
        // Tokens from before scopes existed carry none and are download tokens.
        "download" => {
            token_scope.is_none_or(|s| s == "download")
                && claims.get("owner").is_none()
                && claims.get("upsert").is_none()
        }
        _ => token_scope == Some(scope),
    };
    if !scoped {
        return Err(Error::InvalidSignature(format!(
            "Token is not scoped for {scope}"
        )));
    }
    if claims.get("url").and_then(Value::as_str) != Some(&format!("{bucket}/{name}")) {
        return Err(Error::InvalidSignature("Invalid signature".into()));
    }
    if claims.get("exp").and_then(Value::as_i64).is_none() {
        return Err(Error::InvalidJwt("\"exp\" claim must be a number".into()));
    }
    Ok(claims)
}

fn sign(state: &State, mut claims: Value, expires_in: i64) -> String {
    let now = bucketbase_caller::now();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + expires_in);
    state.keys.sign(&claims)
}

/// The body of `POST /object/sign/…`.
#[derive(Debug, Deserialize)]
pub(crate) struct SignBody {
    #[serde(rename = "expiresIn")]
    expires_in: Option<Value>,
    paths: Option<Vec<String>>,
    transform: Option<Value>,
}

fn expires_in(value: &Option<Value>) -> Result<i64, Error> {
    match value {
        None | Some(Value::Null) => Err(Error::InvalidRequest(
            "body must have required property 'expiresIn'".into(),
        )),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::InvalidRequest("body/expiresIn must be >= 1".into())),
    }
}

/// `POST /object/sign/{bucket}/{path}`: `{"signedURL": "/object/sign/<bucket>/<name>?token=…"}`.
pub(crate) async fn create(
    req: StorageRequest,
    Path((bucket, path)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let name = object_path(&path)?;
    let body: SignBody = crate::request::json_body(&bytes)?;
    let expires = expires_in(&body.expires_in)?;
    find_object(&req, &bucket, &name, false).await?;
    let mut claims = json!({"url": format!("{bucket}/{name}"), "scope": "download"});
    let base = match body
        .transform
        .filter(|t| t.as_object().is_some_and(|o| !o.is_empty()))
    {
        Some(t) => {
            claims["transformations"] = t;
            "/render/image/sign"
        }
        None => "/object/sign",
    };
    let token = sign(&req.state, claims, expires);
    Ok(Json(json!({"signedURL": format!("{base}/{bucket}/{name}?token={token}")})).into_response())
}

/// `POST /object/sign/{bucket}` with `{expiresIn, paths}`: one entry per path, with an error
/// for each the caller cannot see.
pub(crate) async fn create_many(
    req: StorageRequest,
    Path(bucket): Path<String>,
    bytes: Bytes,
) -> Result<Response, Error> {
    let body: SignBody = crate::request::json_body(&bytes)?;
    let expires = expires_in(&body.expires_in)?;
    let paths = body
        .paths
        .ok_or_else(|| Error::InvalidRequest("body must have required property 'paths'".into()))?;
    if paths.is_empty() || paths.len() > 1000 {
        return Err(Error::InvalidRequest(
            "body/paths must have between 1 and 1000 items".into(),
        ));
    }
    let tx = req.begin(Access::ReadOnly).await?;
    let rows = tx
        .query_and_commit(
            "select name from storage.objects where bucket_id = $1 and name = any($2)",
            &[&bucket, &paths],
        )
        .await
        .map_err(Error::db)?;
    let found: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let out: Vec<Value> = paths
        .into_iter()
        .map(|path| {
            if found.contains(&path) {
                let claims = json!({"url": format!("{bucket}/{path}"), "scope": "download"});
                let token = sign(&req.state, claims, expires);
                json!({"error": null, "path": path, "signedURL": format!("/object/sign/{bucket}/{path}?token={token}")})
            } else {
                json!({"error": "Either the object does not exist or you do not have access to it", "path": path, "signedURL": null})
            }
        })
        .collect();
    Ok(Json(out).into_response())
}

/// `POST /object/upload/sign/{bucket}/{path}`: a token to upload this one object (with
/// `x-upsert: true`, to replace it), after checking the caller may write it.
pub(crate) async fn create_upload(
    req: StorageRequest,
    Path((bucket, path)): Path<(String, String)>,
    body: Body,
) -> Result<Response, Error> {
    bucketbase_kit::drain_body(body).await;
    let name = object_path(&path)?;
    let upsert = req.upsert();
    super::bucket_limits(&req, &bucket).await?;
    let owner = req.caller.user_id().map(str::to_string);
    let target = Target {
        bucket: bucket.clone(),
        name: name.clone(),
        upsert,
        owner: owner.clone(),
    };
    let mut tx = req.begin(Access::ReadWrite).await?;
    upload::write_row(&mut tx, &target, "probe", &json!({}), &None).await?;
    tx.rollback().await.map_err(Error::db)?;
    let claims = json!({"owner": owner, "url": format!("{bucket}/{name}"), "upsert": upsert, "scope": "upload"});
    let token = sign(
        &req.state,
        claims,
        req.state.config.upload_signed_url_expiry,
    );
    Ok(Json(json!({
        "url": format!("/object/upload/sign/{bucket}/{name}?token={token}"),
        "token": token,
    }))
    .into_response())
}

/// `PUT /object/upload/sign/{bucket}/{path}?token=`: the upload a signed upload token allows,
/// owned by whoever created the token; `{"Key": "<bucket>/<name>"}`.
pub(crate) async fn upload_signed(
    Unauthenticated(req): Unauthenticated,
    Path((bucket, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, Error> {
    let name = object_path(&path)?;
    let token = query.get("token").ok_or_else(|| {
        Error::InvalidRequest("querystring must have required property 'token'".into())
    })?;
    let claims = verify(&req.state, token, &bucket, &name, "upload")?;
    let target = Target {
        bucket,
        name,
        upsert: claims
            .get("upsert")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        owner: claims
            .get("owner")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let incoming = upload::incoming(req.headers(), body).await?;
    let done = upload::upload(&req, target, incoming).await?;
    Ok(Json(json!({"Key": done.key})).into_response())
}
