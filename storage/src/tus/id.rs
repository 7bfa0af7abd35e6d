//! The id of a TUS upload, as upstream's `UploadId` (`src/storage/protocols/tus/upload-id.ts`)
//! and `generateUrl` / `getFileIdFromRequest` (`src/http/routes/tus/lifecycle.ts`) make it:
//! `<bucket>/<object name>/<version>` with a fresh UUID as the version, sent in the upload's
//! URL as unpadded base64url (so it is one URL-safe path segment). Upstream prefixes the
//! tenant inside and strips it for the URL; there is one tenant here, so the URL's id is the
//! whole id.

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::Error;

/// Unpadded base64url out, padded or not in (Node's `Buffer` reads both).
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The object a TUS upload writes, and the version key it will be published at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadId {
    /// The bucket id.
    pub(crate) bucket: String,
    /// The object name.
    pub(crate) name: String,
    /// The version (a UUID): the object's key is `<bucket>/<name>/<version>` once complete,
    /// and its parts live under the version until then.
    pub(crate) version: String,
}

impl UploadId {
    /// A new upload of `name` in `bucket`, both checked as upstream's `mustBeValidBucketName`
    /// and `mustBeValidKey` do.
    pub(crate) fn new(bucket: &str, name: &str) -> Result<Self, Error> {
        if !crate::bucket::valid_bucket_name(bucket) {
            return Err(Error::InvalidBucketName);
        }
        let name = crate::key::object_name(name)?;
        Ok(Self {
            bucket: bucket.to_string(),
            name: name.to_string(),
            version: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// The id as the upload's URL carries it.
    pub(crate) fn encode(&self) -> String {
        BASE64URL.encode(format!("{}/{}/{}", self.bucket, self.name, self.version))
    }

    /// The id of a URL, or `InvalidUploadId`. The version must be a UUID (it names the
    /// directory of the upload's parts, so nothing else may get there).
    pub(crate) fn decode(id: &str) -> Result<Self, Error> {
        let bytes = BASE64URL
            .decode(id.as_bytes())
            .map_err(|_| Error::InvalidUploadId)?;
        let text = String::from_utf8(bytes).map_err(|_| Error::InvalidUploadId)?;
        let (bucket, rest) = text.split_once('/').ok_or(Error::InvalidUploadId)?;
        let (name, version) = rest.rsplit_once('/').ok_or(Error::InvalidUploadId)?;
        let version = uuid::Uuid::parse_str(version).map_err(|_| Error::InvalidUploadId)?;
        if !crate::bucket::valid_bucket_name(bucket) || crate::key::object_name(name).is_err() {
            return Err(Error::InvalidUploadId);
        }
        Ok(Self {
            bucket: bucket.to_string(),
            name: name.to_string(),
            version: version.hyphenated().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_base64url_of_bucket_name_version() {
        let id = UploadId {
            bucket: "docs".into(),
            name: "a/b c?.txt".into(),
            version: "0b5e6d2c-7b44-4b2a-9d0e-2f6f0c8f1a11".into(),
        };
        let encoded = id.encode();
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{encoded}"
        );
        assert_eq!(UploadId::decode(&encoded).expect("decodes"), id);
        // Node's base64url has no padding, but a padded id is read too.
        let padded = base64::engine::general_purpose::URL_SAFE
            .encode("docs/a/0b5e6d2c-7b44-4b2a-9d0e-2f6f0c8f1a11");
        assert_eq!(UploadId::decode(&padded).expect("padded").name, "a");
    }

    #[test]
    fn malformed_ids_are_invalid() {
        let enc = |s: &str| BASE64URL.encode(s);
        for bad in [
            "not base64!".to_string(),
            enc("docs"),
            enc("docs/a.txt"),
            enc("docs/a.txt/not-a-uuid"),
            enc("docs/../x/0b5e6d2c-7b44-4b2a-9d0e-2f6f0c8f1a11"),
            enc("/a.txt/0b5e6d2c-7b44-4b2a-9d0e-2f6f0c8f1a11"),
        ] {
            assert!(
                matches!(UploadId::decode(&bad), Err(Error::InvalidUploadId)),
                "{bad}"
            );
        }
        assert!(matches!(
            UploadId::new("a/b", "x"),
            Err(Error::InvalidBucketName)
        ));
        assert!(matches!(
            UploadId::new("docs", "../x"),
            Err(Error::InvalidKey(_))
        ));
    }
}
