//! Object Lock on an S3 bucket: whether the bucket has it, a copy's
//! retain-until date set (the store refuses to shorten one in compliance
//! mode, and Backup Desk never asks it to), and the deletion of one
//! version once its date has passed.
//!
//! moto differs from AWS here: a bucket's default retention is not applied
//! to multipart objects, so every copy's date is set explicitly after its
//! upload (which is what Backup Desk does on AWS too: the date comes from
//! the retention rule, not from a bucket-wide default).

use aws_sdk_s3::primitives::DateTime as AwsDateTime;
use aws_sdk_s3::types::{ObjectLockRetention, ObjectLockRetentionMode};
use chrono::{DateTime, Utc};

use super::{S3Bucket, classify};
use crate::offsite::OffsiteError;
use crate::offsite::store::LockMode;

impl S3Bucket {
    /// The bucket's Object Lock: `None` when it has none; else the mode of
    /// its default rule, or governance when it has no default rule (an
    /// admin who must undo a mistake can, with the bypass permission).
    ///
    /// # Errors
    /// The store's refusals.
    pub fn object_lock(&self) -> Result<Option<LockMode>, OffsiteError> {
        let answer = self.runtime.block_on(
            self.client
                .get_object_lock_configuration()
                .bucket(&self.bucket)
                .send(),
        );
        let answer = match answer {
            Ok(answer) => answer,
            Err(e)
                if aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                    == Some("ObjectLockConfigurationNotFoundError") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(classify("read the lock settings", &self.bucket, e)),
        };
        let Some(config) = answer.object_lock_configuration() else {
            return Ok(None);
        };
        if config.object_lock_enabled().map(|e| e.as_str()) != Some("Enabled") {
            return Ok(None);
        }
        let mode = config
            .rule()
            .and_then(|r| r.default_retention())
            .and_then(|d| d.mode());
        Ok(Some(match mode {
            Some(ObjectLockRetentionMode::Compliance) => LockMode::Compliance,
            _ => LockMode::Governance,
        }))
    }

    /// Keeps the current version of `name` from deletion until `until`.
    ///
    /// # Errors
    /// The store's refusals (a shorter date on a compliance lock among them).
    pub fn retain_until(
        &self,
        name: &str,
        mode: LockMode,
        until: DateTime<Utc>,
    ) -> Result<(), OffsiteError> {
        let mode = match mode {
            LockMode::Governance => ObjectLockRetentionMode::Governance,
            LockMode::Compliance => ObjectLockRetentionMode::Compliance,
        };
        self.call(
            "lock",
            self.client
                .put_object_retention()
                .bucket(&self.bucket)
                .key(self.key(name))
                .retention(
                    ObjectLockRetention::builder()
                        .mode(mode)
                        .retain_until_date(AwsDateTime::from_secs(until.timestamp()))
                        .build(),
                )
                .send(),
        )?;
        Ok(())
    }

    /// Deletes `name` for good: its version `version_id` on a versioned
    /// bucket (a plain delete there only hides it behind a delete marker,
    /// and the storage stays billed), else the object.
    ///
    /// # Errors
    /// The store's refusals (a locked version among them).
    pub(crate) fn delete_version(
        &self,
        name: &str,
        version_id: Option<&str>,
    ) -> Result<(), OffsiteError> {
        self.call(
            "delete",
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(self.key(name))
                .set_version_id(version_id.map(str::to_owned))
                .send(),
        )?;
        Ok(())
    }
}
