//! The server's answers as types (contract §4): every field Backup Desk
//! reads from a server is named here, so no answer is read by
//! `value["…"]`. Health and storage deserialize straight into their
//! [`crate::model`] shapes.
//!
//! The server is loose in what it sends (fields missing, `null`, another
//! type than documented), so this is too: a [`Lenient`] field of the wrong
//! type reads as absent and never fails the whole answer. What a decision
//! needs (a list's `backups` array, a login's `token`, an item's
//! `filename`) is required by the code that reads it, which says so.

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::format::human::size_human;
use crate::format::name::BackupName;
use crate::model::{ListItem, VerifiedState};

/// A field that may be missing, `null` or of another type: `None` then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(Lenient(T::deserialize(value).ok()))
    }
}

/// Reads `value` as `T`, leniently: every `T` here has only [`Lenient`]
/// fields, so this cannot fail on a JSON value.
fn read<T: DeserializeOwned + Default>(value: &Value) -> T {
    T::deserialize(value).unwrap_or_default()
}

/// The error fields any answer may carry: `{"error"}` or `{"message"}`,
/// and `{"retry_after"}` on a 429.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct ErrorAnswer {
    pub error: Lenient<String>,
    pub message: Lenient<String>,
    pub retry_after: Lenient<u64>,
}

impl ErrorAnswer {
    /// The error fields of `value` (none when it is no object).
    pub fn of(value: &Value) -> Self {
        read(value)
    }

    /// What the server said went wrong: `error`, else `message`, else the
    /// status line.
    pub fn text(self, status: reqwest::StatusCode) -> String {
        self.error
            .0
            .or(self.message.0)
            .unwrap_or_else(|| status.to_string())
    }
}

/// `POST /api/auth/login`, 200: `{"token", …}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct LoginAnswer {
    pub token: Lenient<String>,
}

impl LoginAnswer {
    /// The login answer in `value`.
    pub fn of(value: &Value) -> Self {
        read(value)
    }
}

/// `GET /api/database/backups`: `{"backups": [item…], "count"}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct BackupListAnswer {
    /// `None` when `backups` is missing or no array (a broken answer);
    /// items that are no list item read as `None`.
    pub backups: Lenient<Vec<Lenient<ListItemAnswer>>>,
}

impl BackupListAnswer {
    /// The list answer in `value`.
    pub fn of(value: &Value) -> Self {
        read(value)
    }
}

/// One item of the list: `{"filename", "path", "size", "size_human",
/// "created_at", "encrypted", "checksum", "timestamp"}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct ListItemAnswer {
    pub filename: Lenient<String>,
    pub path: Lenient<String>,
    pub size: Lenient<u64>,
    pub size_human: Lenient<String>,
    pub created_at: Lenient<String>,
    pub encrypted: Lenient<bool>,
    pub checksum: Lenient<String>,
    pub timestamp: Lenient<String>,
}

impl ListItemAnswer {
    /// The item as Backup Desk lists it; `None` without a `filename` that
    /// is a backup name (names that could escape a folder are dropped).
    pub(crate) fn into_list_item(self) -> Option<ListItem> {
        let filename = self.filename.0?;
        let name = BackupName::parse(&filename).ok()?;
        let kind = name.kind();
        let size = self.size.0.unwrap_or(0);
        let checksum = self.checksum.0;
        Some(ListItem {
            path: self.path.0.unwrap_or_default(),
            taken_at: name.taken_at(),
            size,
            size_human: self.size_human.0.unwrap_or_else(|| size_human(size)),
            created_at: self.created_at.0.unwrap_or_default(),
            encrypted: self.encrypted.0.unwrap_or(kind.is_encrypted()),
            has_meta: checksum.is_some(),
            checksum,
            timestamp: self.timestamp.0,
            kind,
            meta_problem: None,
            db_size: None,
            verified: VerifiedState::never(),
            pinned: false,
            drill: None,
            states: Vec::new(),
            filename,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_of_another_type_reads_as_absent() {
        let item: ListItemAnswer = serde_json::from_value(json!({
            "filename": "servers_db_20260110_012354.db.gpg",
            "size": "large", "encrypted": "yes", "checksum": null
        }))
        .unwrap();
        let item = item.into_list_item().unwrap();
        assert_eq!((item.size, item.encrypted, item.has_meta), (0, true, false));
        assert_eq!(item.size_human, "0.00 B");
    }

    #[test]
    fn items_without_a_backup_name_are_dropped() {
        let list = BackupListAnswer::of(&json!({"backups": [
            {"filename": "../etc/passwd"}, {"size": 3}, 7,
            {"filename": "servers_db_20260110_012354.db.gpg", "size": 5}
        ]}));
        let items: Vec<ListItem> = list
            .backups
            .0
            .unwrap()
            .into_iter()
            .filter_map(|i| i.0.and_then(ListItemAnswer::into_list_item))
            .collect();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].size, 5);
    }

    #[test]
    fn a_list_without_an_array_is_no_list() {
        for broken in [json!({}), json!({"backups": "x"}), json!([]), json!(null)] {
            assert!(
                BackupListAnswer::of(&broken).backups.0.is_none(),
                "{broken}"
            );
        }
    }

    #[test]
    fn error_text_prefers_error_then_message_then_status() {
        let status = reqwest::StatusCode::INTERNAL_SERVER_ERROR;
        let text = |v| ErrorAnswer::of(&v).text(status);
        assert_eq!(text(json!({"error": "e", "message": "m"})), "e");
        assert_eq!(text(json!({"error": 3, "message": "m"})), "m");
        assert_eq!(text(json!("html")), "500 Internal Server Error");
        assert_eq!(
            ErrorAnswer::of(&json!({"retry_after": 60})).retry_after.0,
            Some(60)
        );
    }
}
