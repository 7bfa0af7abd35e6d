//! The storage service's settings, read by Supabase Storage's self-hosting names
//! (`src/config.ts` upstream): `STORAGE_BACKEND` (`file`, the default, or `s3`),
//! `FILE_STORAGE_BACKEND_PATH`, `GLOBAL_S3_BUCKET`, `GLOBAL_S3_ENDPOINT`,
//! `GLOBAL_S3_FORCE_PATH_STYLE`, `REGION`, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//! `AWS_SESSION_TOKEN`, `FILE_SIZE_LIMIT` (bytes, default 50 MiB as the self-hosting `.env`) and
//! `UPLOAD_SIGNED_URL_EXPIRATION_TIME` (seconds, default 7200); and ours for the sweeper,
//! `BUCKETBASE_STORAGE_SWEEP_INTERVAL` / `_GRACE`, and for resumable uploads,
//! `BUCKETBASE_STORAGE_TUS_EXPIRY` (how long an unfinished TUS upload lives, default 24 h).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bucketbase_kit::{Env, EnvError};

/// Where object bytes live.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// A local directory (`STORAGE_BACKEND=file`).
    File {
        /// `FILE_STORAGE_BACKEND_PATH`, default `<data dir>/storage`.
        root: PathBuf,
    },
    /// An S3 or S3-compatible bucket (`STORAGE_BACKEND=s3`).
    S3 {
        /// `GLOBAL_S3_BUCKET`.
        bucket: String,
        /// `GLOBAL_S3_ENDPOINT` (none: AWS itself).
        endpoint: Option<String>,
        /// `GLOBAL_S3_FORCE_PATH_STYLE` (default false; true for most S3-compatible servers).
        path_style: bool,
        /// `REGION` / `AWS_DEFAULT_REGION` (default `us-east-1`).
        region: String,
        /// `AWS_ACCESS_KEY_ID`.
        access_key_id: Option<String>,
        /// `AWS_SECRET_ACCESS_KEY`.
        secret_access_key: Option<String>,
        /// `AWS_SESSION_TOKEN`.
        session_token: Option<String>,
    },
}

impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendConfig::File { root } => f.debug_struct("File").field("root", root).finish(),
            // Credentials are never printed.
            BackendConfig::S3 {
                bucket,
                endpoint,
                path_style,
                region,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .field("path_style", path_style)
                .field("region", region)
                .finish_non_exhaustive(),
        }
    }
}

/// Configuration of the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// The object store.
    pub backend: BackendConfig,
    /// `FILE_SIZE_LIMIT`: the largest object any bucket accepts, in bytes.
    pub file_size_limit: u64,
    /// `UPLOAD_SIGNED_URL_EXPIRATION_TIME`: how long a signed upload URL lives, in seconds.
    pub upload_signed_url_expiry: i64,
    /// `BUCKETBASE_STORAGE_SWEEP_INTERVAL`: how often unreferenced bytes are looked for
    /// (default 1 h).
    pub sweep_interval: Duration,
    /// `BUCKETBASE_STORAGE_SWEEP_GRACE`: how old unreferenced bytes must be before they are
    /// removed (default 1 h; younger ones may belong to a write in flight).
    pub sweep_grace: Duration,
    /// `BUCKETBASE_STORAGE_TUS_EXPIRY`: how long after its creation a TUS upload expires
    /// (`Upload-Expires`); the sweeper then removes its row and bytes (default 24 h).
    pub tus_expiry: Duration,
}

impl Config {
    /// Reads the service's variables; the file backend defaults to `data_dir/storage`.
    pub fn from_env(env: &Env, data_dir: &Path) -> Result<Self, EnvError> {
        // Every name is read whichever backend is chosen, so the documented list of variables
        // is checked against all of them.
        let kind = env.get(&["STORAGE_BACKEND"]).unwrap_or("file");
        let root = env.get(&["FILE_STORAGE_BACKEND_PATH"]).map(PathBuf::from);
        let bucket = env.get(&["GLOBAL_S3_BUCKET"]).map(str::to_string);
        let endpoint = env.get(&["GLOBAL_S3_ENDPOINT"]).map(str::to_string);
        let path_style = env.flag(&["GLOBAL_S3_FORCE_PATH_STYLE"])?.unwrap_or(false);
        let region = env
            .get(&["REGION", "AWS_DEFAULT_REGION"])
            .unwrap_or("us-east-1")
            .to_string();
        let access_key_id = env.get(&["AWS_ACCESS_KEY_ID"]).map(str::to_string);
        let secret_access_key = env.get(&["AWS_SECRET_ACCESS_KEY"]).map(str::to_string);
        let session_token = env.get(&["AWS_SESSION_TOKEN"]).map(str::to_string);
        let backend = match kind {
            "file" => BackendConfig::File {
                root: root.unwrap_or_else(|| data_dir.join("storage")),
            },
            "s3" => BackendConfig::S3 {
                bucket: bucket.ok_or_else(|| EnvError {
                    name: "GLOBAL_S3_BUCKET".into(),
                    value: String::new(),
                    expected: "set when STORAGE_BACKEND=s3 (the bucket holding the objects)".into(),
                })?,
                endpoint,
                path_style,
                region,
                access_key_id,
                secret_access_key,
                session_token,
            },
            other => {
                return Err(EnvError {
                    name: "STORAGE_BACKEND".into(),
                    value: other.into(),
                    expected: "file or s3".into(),
                })
            }
        };
        Ok(Self {
            backend,
            file_size_limit: env.number(&["FILE_SIZE_LIMIT"], 52_428_800u64)?,
            upload_signed_url_expiry: env
                .number(&["UPLOAD_SIGNED_URL_EXPIRATION_TIME"], 7200i64)?,
            sweep_interval: env
                .duration(&["BUCKETBASE_STORAGE_SWEEP_INTERVAL"])?
                .unwrap_or(Duration::from_secs(3600)),
            sweep_grace: env
                .duration(&["BUCKETBASE_STORAGE_SWEEP_GRACE"])?
                .unwrap_or(Duration::from_secs(3600)),
            tus_expiry: env
                .duration(&["BUCKETBASE_STORAGE_TUS_EXPIRY"])?
                .unwrap_or(Duration::from_secs(24 * 3600)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_files_under_the_data_dir() {
        let c = Config::from_env(&Env::from_pairs(&[]), Path::new("/data")).expect("config");
        assert_eq!(
            c.backend,
            BackendConfig::File {
                root: "/data/storage".into()
            }
        );
        assert_eq!(c.file_size_limit, 52_428_800);
        assert_eq!(c.tus_expiry, Duration::from_secs(24 * 3600));
    }

    #[test]
    fn s3_needs_a_bucket_and_reads_supabase_names() {
        let env = Env::from_pairs(&[("STORAGE_BACKEND", "s3")]);
        assert!(Config::from_env(&env, Path::new("/d")).is_err());
        let env = Env::from_pairs(&[
            ("STORAGE_BACKEND", "s3"),
            ("GLOBAL_S3_BUCKET", "media"),
            ("GLOBAL_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("GLOBAL_S3_FORCE_PATH_STYLE", "true"),
            ("REGION", "eu-west-1"),
            ("AWS_SECRET_ACCESS_KEY", "hidden"),
        ]);
        let c = Config::from_env(&env, Path::new("/d")).expect("config");
        let shown = format!("{c:?}");
        assert!(
            shown.contains("eu-west-1") && !shown.contains("hidden"),
            "{shown}"
        );
        assert!(matches!(
            c.backend,
            BackendConfig::S3 {
                path_style: true,
                ..
            }
        ));
    }
}
