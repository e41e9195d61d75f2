//! Backup file names: validation of user input and recognition of the kinds
//! of files the server's scripts and Backup Desk leave in `data/backups/`.

use chrono::NaiveDateTime;

/// Why a name given by a user was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// Empty, or containing `/`, `\`, NUL, or a `..` component, or absolute.
    #[error("'{0}' is not a backup name: names are plain file names without '/', '..' or NUL")]
    InvalidName(String),
    /// A plain file name that does not look like any backup.
    #[error("'{0}' is not a backup file name (expected e.g. servers_db_20260110_012354.db.gpg)")]
    NotABackupName(String),
}

impl crate::KindedError for NameError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            NameError::InvalidName(_) => crate::ErrorKind::InvalidName,
            NameError::NotABackupName(_) => crate::ErrorKind::NotABackupName,
        }
    }
}
pub use crate::model::BackupKind;

/// A recognised backup file name: its kind, its timestamp and the name of
/// the `.meta` that may sit beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName {
    file_name: String,
    kind: BackupKind,
    taken_at: NaiveDateTime,
}

const TIME_FORMAT: &str = "%Y%m%d_%H%M%S";

impl BackupName {
    /// Parses a file name from the backup folder or from a user.
    ///
    /// # Errors
    /// [`NameError::InvalidName`] for anything that could escape the folder,
    /// [`NameError::NotABackupName`] for a plain name of another shape.
    pub fn parse(file_name: &str) -> Result<Self, NameError> {
        check_plain_file_name(file_name)?;
        let not_backup = || NameError::NotABackupName(file_name.to_owned());
        let (stem, kind) = if let Some(rest) = file_name.strip_prefix("servers_db_") {
            if let Some(stem) = rest.strip_suffix(".db.gpg") {
                (stem, BackupKind::Encrypted)
            } else if let Some(stem) = rest.strip_suffix(".db.bak") {
                (stem, BackupKind::LegacyPlain)
            } else {
                return Err(not_backup());
            }
        } else if let Some(rest) = file_name.strip_prefix("prerestore_rows_") {
            match rest.strip_suffix(".db.gpg") {
                Some(stem) => (stem, BackupKind::PreRestoreRows),
                None => return Err(not_backup()),
            }
        } else if let Some(rest) = file_name.strip_prefix("prerestore_") {
            if let Some(stem) = rest.strip_suffix(".db.gpg") {
                (stem, BackupKind::PreRestoreEncrypted)
            } else if let Some(stem) = rest.strip_suffix(".db") {
                (stem, BackupKind::PreRestorePlain)
            } else {
                return Err(not_backup());
            }
        } else {
            return Err(not_backup());
        };
        if stem.len() != 15 {
            return Err(not_backup());
        }
        let taken_at =
            NaiveDateTime::parse_from_str(stem, TIME_FORMAT).map_err(|_| not_backup())?;
        Ok(BackupName {
            file_name: file_name.to_owned(),
            kind,
            taken_at,
        })
    }

    /// The name of a new encrypted backup taken at `local` time.
    pub fn new_encrypted(local: NaiveDateTime) -> Self {
        Self::build("servers_db_", ".db.gpg", BackupKind::Encrypted, local)
    }

    /// The name of a new encrypted pre-restore safety backup.
    pub(crate) fn new_pre_restore(local: NaiveDateTime) -> Self {
        Self::build(
            "prerestore_",
            ".db.gpg",
            BackupKind::PreRestoreEncrypted,
            local,
        )
    }

    /// The name of a new partial restore's undo (the rows it changed).
    pub(crate) fn new_pre_restore_rows(local: NaiveDateTime) -> Self {
        Self::build(
            "prerestore_rows_",
            ".db.gpg",
            BackupKind::PreRestoreRows,
            local,
        )
    }

    fn build(prefix: &str, suffix: &str, kind: BackupKind, local: NaiveDateTime) -> Self {
        BackupName {
            file_name: format!("{prefix}{}{suffix}", local.format(TIME_FORMAT)),
            kind,
            taken_at: local.with_nanosecond(0).unwrap_or(local),
        }
    }

    /// The file name, e.g. `servers_db_20260110_012354.db.gpg`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// What kind of backup this is.
    pub fn kind(&self) -> BackupKind {
        self.kind
    }

    /// The local time written in the name.
    pub fn taken_at(&self) -> NaiveDateTime {
        self.taken_at
    }

    /// The SQLite file name inside: the file name with `.gpg`/`.bak` dropped
    /// (`servers_db_20260110_012354.db`). Used for the literal packet and as
    /// `backup_name` in `.meta`.
    pub fn db_name(&self) -> &str {
        self.file_name
            .strip_suffix(".gpg")
            .or_else(|| self.file_name.strip_suffix(".bak"))
            .unwrap_or(&self.file_name)
    }

    /// The `.meta` file name beside it, when this kind can have one
    /// (`servers_db_20260110_012354.db.meta`).
    pub fn meta_name(&self) -> Option<String> {
        match self.kind {
            BackupKind::Encrypted
            | BackupKind::PreRestoreEncrypted
            | BackupKind::PreRestoreRows => Some(format!("{}.meta", self.db_name())),
            BackupKind::LegacyPlain | BackupKind::PreRestorePlain => None,
        }
    }
}

use chrono::Timelike;

/// Refuses anything but a plain, single-component file name.
///
/// # Errors
/// [`NameError::InvalidName`] for an empty name, `.`/`..`, or one containing
/// `/`, `\` or NUL (which also rules out absolute paths).
pub(crate) fn check_plain_file_name(name: &str) -> Result<(), NameError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.contains("..");
    if bad {
        Err(NameError::InvalidName(name.to_owned()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_every_kind() {
        let cases = [
            ("servers_db_20260110_012354.db.gpg", BackupKind::Encrypted),
            ("servers_db_20260110_012354.db.bak", BackupKind::LegacyPlain),
            ("prerestore_20260110_015530.db", BackupKind::PreRestorePlain),
            (
                "prerestore_20260110_015530.db.gpg",
                BackupKind::PreRestoreEncrypted,
            ),
            (
                "prerestore_rows_20260110_015530.db.gpg",
                BackupKind::PreRestoreRows,
            ),
        ];
        for (name, kind) in cases {
            let parsed = BackupName::parse(name).unwrap();
            assert_eq!(parsed.kind(), kind, "{name}");
        }
        let n = BackupName::parse("servers_db_20260110_012354.db.gpg").unwrap();
        assert_eq!(n.db_name(), "servers_db_20260110_012354.db");
        assert_eq!(n.meta_name().unwrap(), "servers_db_20260110_012354.db.meta");
        assert_eq!(n.taken_at().to_string(), "2026-01-10 01:23:54");
    }

    #[test]
    fn refuses_escapes_and_other_files() {
        for bad in [
            "",
            "..",
            "../servers_db_20260110_012354.db.gpg",
            "/etc/passwd",
            "a\0b",
            "a/b",
            "x..y",
        ] {
            assert!(
                matches!(BackupName::parse(bad), Err(NameError::InvalidName(_))),
                "{bad:?}"
            );
        }
        for other in [
            "servers.db",
            "servers_db_2026.db.gpg",
            "servers_db_20261310_012354.db.gpg",
            "x.meta",
        ] {
            assert!(
                matches!(BackupName::parse(other), Err(NameError::NotABackupName(_))),
                "{other:?}"
            );
        }
    }

    #[test]
    fn a_new_name_reads_back_as_itself_to_the_second() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 4)
            .and_then(|d| d.and_hms_nano_opt(2, 0, 7, 123_456_789))
            .unwrap();
        let backup = BackupName::new_encrypted(at);
        assert_eq!(backup.file_name(), "servers_db_20261204_020007.db.gpg");
        let again = BackupName::parse(backup.file_name()).unwrap();
        assert_eq!(
            (again.kind(), again.taken_at()),
            (BackupKind::Encrypted, backup.taken_at())
        );
        assert_eq!(backup.taken_at().nanosecond(), 0);
        let safety = BackupName::new_pre_restore(at);
        assert_eq!(safety.file_name(), "prerestore_20261204_020007.db.gpg");
        assert_eq!(
            safety.meta_name().as_deref(),
            Some("prerestore_20261204_020007.db.meta")
        );
    }

    #[test]
    fn plain_backups_have_no_meta_and_keep_their_db_name() {
        let legacy = BackupName::parse("servers_db_20260110_012354.db.bak").unwrap();
        assert_eq!(
            (legacy.db_name(), legacy.meta_name()),
            ("servers_db_20260110_012354.db", None)
        );
        let plain = BackupName::parse("prerestore_20260110_015530.db").unwrap();
        assert_eq!(
            (plain.db_name(), plain.meta_name()),
            ("prerestore_20260110_015530.db", None)
        );
    }

    #[test]
    fn a_plain_file_name_is_one_component() {
        for good in ["offsite.toml", "a.b", "servers_db_20260110_012354.db.gpg"] {
            assert!(check_plain_file_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", ".", "..", "a/b", "a\\b", "a\0b", "..hidden", "x..y", "/abs",
        ] {
            assert!(check_plain_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
