//! An S3 location: its address as `offsite.toml` keeps it, how it is
//! named (`s3://BUCKET/PREFIX`), where its keys come from (the keychain,
//! `$AWS_ACCESS_KEY_ID`/`$AWS_SECRET_ACCESS_KEY`, the AWS credentials
//! file), and what a scheduled job would lack.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::context::SecretStore;
use crate::keychain::SecretKind;
use crate::offsite::kind::{StoreKind, keychain_scope};
use crate::offsite::store::CopyStore;
use crate::offsite::{OffsiteError, OffsiteKeys};

/// An S3-compatible bucket (AWS, MinIO, Ceph, Garage, B2, Wasabi…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`; may be
    /// empty).
    pub prefix: String,
    /// Another endpoint than AWS's (`https://minio.example.org:9000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub region: String,
    /// Path-style addressing (`endpoint/bucket/key`), which most
    /// self-hosted stores want.
    #[serde(default)]
    pub path_style: bool,
}

impl S3Location {
    /// The location `s3://BUCKET/PREFIX` names (region `us-east-1` unless
    /// given).
    ///
    /// # Errors
    /// [`OffsiteError::BadUrl`].
    pub fn parse(
        url: &str,
        endpoint: Option<String>,
        region: Option<String>,
        path_style: bool,
    ) -> Result<Self, OffsiteError> {
        let (bucket, prefix) = parse_s3_url(url)?;
        Ok(S3Location {
            bucket,
            prefix,
            endpoint,
            region: region.unwrap_or_else(|| "us-east-1".to_owned()),
            path_style,
        })
    }
}

/// `s3://BUCKET/PREFIX` split into bucket and prefix.
///
/// # Errors
/// [`OffsiteError::BadUrl`] for anything else.
pub fn parse_s3_url(url: &str) -> Result<(String, String), OffsiteError> {
    let bad = |why: &str| OffsiteError::BadUrl(url.to_owned(), why.to_owned());
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("it does not start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if !valid_bucket {
        return Err(bad(
            "a bucket name is 3 to 63 lowercase letters, digits, '-' and '.'",
        ));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == ".." || p == ".") {
        return Err(bad("the prefix may not hold '.' or '..' segments"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// The keys of location `name`: from `secrets` (the keychain), else (a server
/// without one) from `$AWS_ACCESS_KEY_ID` and `$AWS_SECRET_ACCESS_KEY`,
/// else from the AWS credentials file ([`crate::offsite::credentials`]:
/// what a scheduled job, which carries no such variables, finds).
///
/// # Errors
/// [`OffsiteError::NoKeys`] when none has them; a credentials file open to
/// others.
pub fn keys(name: &str, secrets: &dyn SecretStore) -> Result<OffsiteKeys, OffsiteError> {
    let from_env = || {
        Some(OffsiteKeys {
            key_id: std::env::var("AWS_ACCESS_KEY_ID").ok()?,
            secret: std::env::var("AWS_SECRET_ACCESS_KEY").ok()?,
        })
    };
    match stored_keys(name, secrets).or_else(from_env) {
        Some(keys) => Ok(keys),
        None => crate::offsite::credentials::keys_for(name)?
            .ok_or_else(|| OffsiteError::NoKeys(name.to_owned())),
    }
}

/// Keeps `keys` for location `name` in `secrets`.
///
/// # Errors
/// The store's refusal.
pub fn keep_keys(
    name: &str,
    keys: &OffsiteKeys,
    secrets: &dyn SecretStore,
) -> Result<(), crate::keychain::KeychainError> {
    let scope = keychain_scope(name);
    secrets.set(&scope, SecretKind::OffsiteKeyId, &keys.key_id)?;
    secrets.set(&scope, SecretKind::OffsiteSecret, &keys.secret)
}

/// The keys of location `name` kept in `secrets`, when both halves are.
fn stored_keys(name: &str, secrets: &dyn SecretStore) -> Option<OffsiteKeys> {
    let scope = keychain_scope(name);
    let key_id = secrets
        .get(&scope, SecretKind::OffsiteKeyId)
        .ok()
        .flatten()?;
    let secret = secrets
        .get(&scope, SecretKind::OffsiteSecret)
        .ok()
        .flatten()?;
    Some(OffsiteKeys {
        key_id: key_id.to_string(),
        secret: secret.to_string(),
    })
}

impl StoreKind for S3Location {
    fn describe(&self) -> String {
        let url = format!("s3://{}/{}", self.bucket, self.prefix);
        match &self.endpoint {
            Some(e) => format!("{url} at {e}"),
            None => url,
        }
    }

    fn open(
        &self,
        name: &str,
        _config_dir: &Path,
        secrets: &dyn SecretStore,
    ) -> Result<Box<dyn CopyStore>, OffsiteError> {
        let keys = keys(name, secrets)?;
        Ok(Box::new(super::S3Bucket::new(
            &self.bucket,
            &self.prefix,
            self.endpoint.as_deref(),
            &self.region,
            self.path_style,
            &keys,
        )?))
    }

    fn unattended_gap(&self, name: &str, secrets: &dyn SecretStore) -> Option<String> {
        if stored_keys(name, secrets).is_some() {
            return None;
        }
        match crate::offsite::credentials::keys_for(name) {
            Ok(Some(_)) => None,
            Ok(None) => Some(format!(
                "the scheduled backup cannot push to {name}: its keys are in no keychain here and \
                 in no AWS credentials file ({files}); add a [backupdesk-{name}] profile with \
                 aws_access_key_id and aws_secret_access_key there (mode 600)",
                files = crate::offsite::credentials::candidates()
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            )),
            Err(e) => Some(format!("the scheduled backup cannot push to {name}: {e}")),
        }
    }

    fn secret_kinds(&self) -> &'static [SecretKind] {
        &[SecretKind::OffsiteKeyId, SecretKind::OffsiteSecret]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::MemorySecrets;

    fn s3(endpoint: Option<&str>) -> S3Location {
        S3Location::parse(
            "s3://backups/monitor-1/",
            endpoint.map(Into::into),
            None,
            true,
        )
        .unwrap()
    }

    #[test]
    fn an_s3_location_is_parsed_named_and_defaults_to_us_east_1() {
        let l = s3(Some("http://127.0.0.1:9000"));
        assert_eq!(l.region, "us-east-1");
        assert_eq!(l.prefix, "monitor-1");
        assert_eq!(
            l.describe(),
            "s3://backups/monitor-1 at http://127.0.0.1:9000"
        );
        assert_eq!(s3(None).describe(), "s3://backups/monitor-1");
    }

    #[test]
    fn kept_keys_are_found_and_both_halves_are_needed() {
        let secrets = MemorySecrets::new();
        assert!(stored_keys("cold", &secrets).is_none());
        secrets
            .set(&keychain_scope("cold"), SecretKind::OffsiteKeyId, "AKIA")
            .unwrap();
        assert!(
            stored_keys("cold", &secrets).is_none(),
            "half a key is none"
        );
        keep_keys(
            "cold",
            &OffsiteKeys {
                key_id: "AKIA2".into(),
                secret: "s3cret".into(),
            },
            &secrets,
        )
        .unwrap();
        let found = stored_keys("cold", &secrets).unwrap();
        assert_eq!(
            (found.key_id.as_str(), found.secret.as_str()),
            ("AKIA2", "s3cret")
        );
        assert!(s3(None).unattended_gap("cold", &secrets).is_none());
        assert_eq!(s3(None).secret_kinds().len(), 2);
    }

    #[test]
    fn s3_urls_are_split_and_checked() {
        assert_eq!(
            parse_s3_url("s3://backups/monitor-1/").unwrap(),
            ("backups".into(), "monitor-1".into())
        );
        assert_eq!(
            parse_s3_url("s3://my.bucket-2").unwrap(),
            ("my.bucket-2".into(), String::new())
        );
        for bad in [
            "backups/x",
            "s3://B/x",
            "s3://ab/x",
            "s3://ok-bucket/../x",
            "s3://-x-y/z",
        ] {
            assert!(parse_s3_url(bad).is_err(), "{bad}");
        }
    }
}
