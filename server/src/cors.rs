//! CORS as Supabase's gateway answers it by default (Kong's `cors` plugin with no settings on
//! every route): `Access-Control-Allow-Origin: *`, no credentials, the request's headers
//! echoed on preflights, and the headers the clients read exposed (`Content-Range`,
//! `X-Supabase-Api-Version`, …, as PostgREST and GoTrue expose them, and the TUS headers
//! @tus/server exposes for resumable uploads: `Upload-Offset`, `Tus-Resumable`, …).
//!
//! `BUCKETBASE_CORS_ALLOWED_ORIGINS` (or PostgREST's `PGRST_SERVER_CORS_ALLOWED_ORIGINS`)
//! narrows the origins to a comma-separated list: a listed origin is echoed back, any other
//! (the opaque `null` origin included, unless listed) gets no CORS headers.
//! `BUCKETBASE_CORS_ALLOW_CREDENTIALS=true` adds `Access-Control-Allow-Credentials: true`, and
//! only goes with such a list, never with `*`.

use std::time::Duration;

use anyhow::bail;
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsConfig {
    /// The allowed origins; empty means any (`*`).
    pub origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true` to the listed origins.
    pub allow_credentials: bool,
}

impl CorsConfig {
    /// Checks the combination: credentials need an explicit origin list.
    pub fn new(origins: Vec<String>, allow_credentials: bool) -> anyhow::Result<Self> {
        let any = origins.is_empty() || origins.iter().any(|o| o == "*");
        if any && allow_credentials {
            bail!(
                "BUCKETBASE_CORS_ALLOW_CREDENTIALS=true needs BUCKETBASE_CORS_ALLOWED_ORIGINS to \
                 list the origins: browsers refuse credentials with `*`"
            );
        }
        if let Some(bad) = origins
            .iter()
            .find(|o| *o != "*" && HeaderValue::from_str(o).is_err())
        {
            bail!("BUCKETBASE_CORS_ALLOWED_ORIGINS: {bad:?} is not a valid origin");
        }
        Ok(Self {
            origins: if any { Vec::new() } else { origins },
            allow_credentials,
        })
    }

    /// The tower layer for this configuration.
    pub fn layer(&self) -> CorsLayer {
        let expose = [
            "content-range",
            "content-location",
            "content-profile",
            "location",
            "preference-applied",
            "range-unit",
            "x-supabase-api-version",
            "x-total-count",
            "link",
            "proxy-status",
            // TUS (storage's resumable uploads), as @tus/server's EXPOSED_HEADERS plus
            // Upload-Expires and Supabase's Tus-Complete.
            "tus-extension",
            "tus-max-size",
            "tus-resumable",
            "tus-version",
            "tus-complete",
            "upload-concat",
            "upload-defer-length",
            "upload-expires",
            "upload-length",
            "upload-metadata",
            "upload-offset",
        ]
        .map(HeaderName::from_static);
        let origin = if self.origins.is_empty() {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                self.origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        CorsLayer::new()
            .allow_origin(origin)
            .allow_credentials(self.allow_credentials)
            .allow_headers(AllowHeaders::mirror_request())
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .expose_headers(expose)
            .max_age(Duration::from_secs(86400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_need_a_list() {
        assert!(CorsConfig::new(Vec::new(), true).is_err());
        assert!(CorsConfig::new(vec!["*".into()], true).is_err());
        let c = CorsConfig::new(vec!["https://app.example".into()], true).expect("list");
        assert_eq!(c.origins, vec!["https://app.example"]);
        assert_eq!(
            CorsConfig::new(vec!["*".into()], false).expect("any"),
            CorsConfig::default()
        );
        assert!(CorsConfig::new(vec!["bad\norigin".into()], false).is_err());
    }
}
