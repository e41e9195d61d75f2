//! The backups of a data directory: every file in `data/backups/` that is a
//! backup, with its `.meta` and its verification record, newest first.

use std::path::PathBuf;
use std::time::SystemTime;

use chrono::{DateTime, Local};

use crate::format::human::size_human;
use crate::format::meta::BackupMeta;
use crate::format::name::{BackupName, NameError, check_plain_file_name};
use crate::local::layout::DataDir;
use crate::local::ledger::{Ledger, Verification};

/// Why the catalog could not be read or a backup was not found in it.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The backup folder exists but cannot be read.
    #[error("cannot read the backup folder {path}: {source}")]
    BackupFolderUnreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The name is not a valid backup name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// No backup of that name exists.
    #[error("no backup named '{0}' in the backup folder")]
    BackupNotFound(String),
    /// Something named like a backup is there but is no regular file (a
    /// symbolic link, a folder, a FIFO): it is never read or followed.
    #[error(
        "'{name}' in the backup folder is {what}, not a regular file: Backup Desk reads only regular files there (a link could point anywhere)"
    )]
    NotARegularFile { name: String, what: &'static str },
    /// The ledger (pins, verifications) could not be written.
    #[error("cannot record it in {path}: {source}")]
    LedgerUnwritable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The ledger is damaged: what depends on its pins refuses to run.
    #[error(transparent)]
    LedgerDamaged(#[from] crate::local::ledger::LedgerDamaged),
}

impl crate::KindedError for CatalogError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            CatalogError::BackupFolderUnreadable { .. } => crate::ErrorKind::BackupFolderUnreadable,
            CatalogError::Name(e) => e.kind(),
            CatalogError::BackupNotFound(_) => crate::ErrorKind::BackupNotFound,
            CatalogError::NotARegularFile { .. } => crate::ErrorKind::NotARegularFile,
            CatalogError::LedgerUnwritable { .. } => crate::ErrorKind::Io,
            CatalogError::LedgerDamaged(_) => crate::ErrorKind::LedgerDamaged,
        }
    }
}

/// One backup in the folder.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// Its recognised name.
    pub name: BackupName,
    /// Full path of the backup file.
    pub path: PathBuf,
    /// Size of the backup file (the `.gpg` for encrypted ones).
    pub size: u64,
    /// Modification time of the backup file.
    pub modified: SystemTime,
    /// The `.meta`, when present and valid.
    pub meta: Option<BackupMeta>,
    /// Why a present `.meta` could not be used.
    pub meta_problem: Option<String>,
    /// The latest verification, if any.
    pub verification: Option<Verification>,
    /// When it last passed a deep verification, if ever.
    pub deep_passed_at: Option<String>,
    /// Pinned by the admin: retention never deletes it.
    pub pinned: bool,
    /// Its latest restore drill, if any.
    pub drill: Option<crate::model::DrillRecord>,
}

/// All backups of a data directory, newest first (by the time in the name,
/// then by name, as the server lists them).
#[derive(Debug, Clone, Default)]
pub struct BackupCatalog {
    entries: Vec<CatalogEntry>,
    /// Names of backups that are not regular files, with what they are.
    not_regular: Vec<(String, &'static str)>,
}

impl BackupCatalog {
    /// Reads the backup folder. A missing folder is an empty catalog.
    /// Files that are not backups (and dot files: our temporaries) are skipped.
    ///
    /// # Errors
    /// [`CatalogError::BackupFolderUnreadable`].
    pub fn scan(data: &DataDir) -> Result<Self, CatalogError> {
        let dir = data.backups();
        let unreadable = |source| CatalogError::BackupFolderUnreadable {
            path: dir.display().to_string(),
            source,
        };
        let read = match std::fs::read_dir(&dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(unreadable(e)),
        };
        let ledger = Ledger::load(data);
        let mut entries = Vec::new();
        let mut not_regular = Vec::new();
        for entry in read {
            let entry = entry.map_err(unreadable)?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            let Ok(name) = BackupName::parse(file_name) else {
                continue;
            };
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if !metadata.is_file() {
                not_regular.push((file_name.to_owned(), file_kind(&metadata.file_type())));
                continue;
            }
            let (meta, meta_problem) = match name.meta_name() {
                Some(meta_name) => {
                    let meta_path = dir.join(&meta_name);
                    if meta_path.exists() {
                        match BackupMeta::read(&meta_path) {
                            Ok(meta) => (Some(meta), None),
                            Err(e) => (None, Some(e.to_string())),
                        }
                    } else {
                        (None, None)
                    }
                }
                None => (None, None),
            };
            entries.push(CatalogEntry {
                path: entry.path(),
                size: metadata.len(),
                modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta,
                meta_problem,
                verification: ledger.verifications.get(file_name).cloned(),
                deep_passed_at: ledger.deep_passed.get(file_name).cloned(),
                pinned: ledger.pinned.contains(file_name),
                drill: ledger.drills.get(file_name).cloned(),
                name,
            });
        }
        entries.sort_by(|a, b| {
            (b.name.taken_at(), b.name.file_name()).cmp(&(a.name.taken_at(), a.name.file_name()))
        });
        Ok(BackupCatalog {
            entries,
            not_regular,
        })
    }

    /// Every backup, newest first.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// Pins (or unpins) backup `file_name` of `data`: retention never
    /// deletes a pinned backup.
    ///
    /// # Errors
    /// An unknown or invalid name; a ledger that cannot be written.
    pub fn set_pinned(data: &DataDir, file_name: &str, pinned: bool) -> Result<(), CatalogError> {
        Self::scan(data)?.find(file_name)?;
        Ledger::set_pinned(data, file_name, pinned).map_err(|source| {
            CatalogError::LedgerUnwritable {
                path: data.state().display().to_string(),
                source,
            }
        })
    }

    /// The backup called `file_name`.
    ///
    /// # Errors
    /// [`CatalogError::Name`] for names that could escape the folder or are
    /// not backup names, [`CatalogError::BackupNotFound`] otherwise.
    pub fn find(&self, file_name: &str) -> Result<&CatalogEntry, CatalogError> {
        check_plain_file_name(file_name)?;
        BackupName::parse(file_name)?;
        self.entries
            .iter()
            .find(|e| e.name.file_name() == file_name)
            .ok_or_else(
                || match self.not_regular.iter().find(|(n, _)| n == file_name) {
                    Some((name, what)) => CatalogError::NotARegularFile {
                        name: name.clone(),
                        what,
                    },
                    None => CatalogError::BackupNotFound(file_name.to_owned()),
                },
            )
    }
}

/// What a directory entry that is no regular file is, in words.
fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a device"
    }
}

pub use crate::model::{ListItem, VerificationStatus, VerifiedState};

impl CatalogEntry {
    /// The `list --json` item for this backup.
    pub fn list_item(&self) -> ListItem {
        let verified = match &self.verification {
            None => VerifiedState {
                deep_passed_at: self.deep_passed_at.clone(),
                ..VerifiedState::never()
            },
            Some(v) => VerifiedState {
                state: if v.ok {
                    VerificationStatus::Passed
                } else {
                    VerificationStatus::Failed
                },
                depth: Some(v.depth),
                at: Some(v.at.clone()),
                error_kind: v.error_kind.as_ref().and_then(|k| {
                    serde_json::from_value(serde_json::Value::String(k.clone())).ok()
                }),
                deep_passed_at: self.deep_passed_at.clone(),
                by: v.by.clone(),
            },
        };
        ListItem {
            filename: self.name.file_name().to_owned(),
            path: self.path.display().to_string(),
            taken_at: self.name.taken_at(),
            size: self.size,
            size_human: size_human(self.size),
            created_at: DateTime::<Local>::from(self.modified)
                .naive_local()
                .format("%Y-%m-%dT%H:%M:%S%.6f")
                .to_string(),
            encrypted: self.name.kind().is_encrypted(),
            checksum: self.meta.as_ref().map(|m| m.checksum_sha256.clone()),
            timestamp: self.meta.as_ref().map(|m| m.timestamp.clone()),
            kind: self.name.kind(),
            has_meta: self.meta.is_some(),
            meta_problem: self.meta_problem.clone(),
            db_size: self.meta.as_ref().map(|m| m.size_bytes),
            verified,
            pinned: self.pinned,
            drill: self.drill.clone(),
            states: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KindedError;

    const OLD: &str = "servers_db_20260110_012354.db.gpg";
    const NEW: &str = "servers_db_20260111_012354.db.gpg";

    fn folder() -> (tempfile::TempDir, DataDir) {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        std::fs::create_dir_all(data.backups()).unwrap();
        (dir, data)
    }

    fn names(catalog: &BackupCatalog) -> Vec<&str> {
        catalog
            .entries()
            .iter()
            .map(|e| e.name.file_name())
            .collect()
    }

    #[test]
    fn a_missing_backup_folder_is_an_empty_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = BackupCatalog::scan(&DataDir::new(dir.path())).unwrap();
        assert!(catalog.entries().is_empty());
    }

    #[test]
    fn backups_are_listed_newest_first_and_other_files_skipped() {
        let (_dir, data) = folder();
        for name in [
            OLD,
            NEW,
            "notes.txt",
            ".servers_db_x.part",
            "servers_db_2026.db.gpg",
        ] {
            std::fs::write(data.backups().join(name), b"x").unwrap();
        }
        let catalog = BackupCatalog::scan(&data).unwrap();
        assert_eq!(names(&catalog), [NEW, OLD]);
        assert_eq!(catalog.entries()[0].size, 1);
    }

    #[test]
    fn an_unknown_backup_and_a_name_that_escapes_are_told_apart() {
        let (_dir, data) = folder();
        std::fs::write(data.backups().join(OLD), b"x").unwrap();
        let catalog = BackupCatalog::scan(&data).unwrap();
        assert!(catalog.find(OLD).is_ok());
        assert_eq!(catalog.find(NEW).unwrap_err().kind(), "backup_not_found");
        let escaping = format!("../{OLD}");
        let err = catalog.find(&escaping).unwrap_err();
        assert_ne!(err.kind(), "backup_not_found", "{err}");
    }

    #[test]
    fn a_folder_named_like_a_backup_is_said_to_be_no_regular_file() {
        let (_dir, data) = folder();
        std::fs::create_dir(data.backups().join(NEW)).unwrap();
        let catalog = BackupCatalog::scan(&data).unwrap();
        assert!(catalog.entries().is_empty());
        let err = catalog.find(NEW).unwrap_err();
        assert_eq!(err.kind(), "not_a_regular_file", "{err}");
    }

    #[test]
    fn a_damaged_meta_is_reported_with_its_backup_not_hidden() {
        let (_dir, data) = folder();
        std::fs::write(data.backups().join(OLD), b"x").unwrap();
        std::fs::write(
            data.backups().join("servers_db_20260110_012354.db.meta"),
            b"{ not json",
        )
        .unwrap();
        let catalog = BackupCatalog::scan(&data).unwrap();
        let entry = catalog.find(OLD).unwrap();
        assert!(entry.meta.is_none());
        assert!(entry.meta_problem.is_some());
    }

    #[test]
    fn a_pin_is_kept_in_the_ledger_and_seen_by_the_next_scan() {
        let (_dir, data) = folder();
        std::fs::write(data.backups().join(OLD), b"x").unwrap();
        BackupCatalog::set_pinned(&data, OLD, true).unwrap();
        assert!(
            BackupCatalog::scan(&data)
                .unwrap()
                .find(OLD)
                .unwrap()
                .pinned
        );
        BackupCatalog::set_pinned(&data, OLD, false).unwrap();
        assert!(
            !BackupCatalog::scan(&data)
                .unwrap()
                .find(OLD)
                .unwrap()
                .pinned
        );
        let err = BackupCatalog::set_pinned(&data, NEW, true).unwrap_err();
        assert_eq!(err.kind(), "backup_not_found");
    }
}
