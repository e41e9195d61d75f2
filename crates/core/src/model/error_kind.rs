//! Every error kind Backup Desk emits, core, CLI and app alike: the `kind`
//! of `{kind, message}` over IPC and in `--json`. The UI's advice map is a
//! `Record<ErrorKind, string>`, so a kind added here without advice (or
//! advice left for a kind that is gone) fails `tsc`.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error name (`snake_case` on the wire). The UI
/// branches on it, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ErrorKind {
    AuthenticationRequired,
    BackupAltered,
    BackupExists,
    BackupFolderFull,
    BackupFolderNotWritable,
    BackupFolderUnreadable,
    BackupNameRequired,
    BackupNotFound,
    BadCaCertificate,
    BadResponse,
    Busy,
    Cancelled,
    ChecksumMismatch,
    CommandFailed,
    ConfirmationMismatch,
    ConfirmationRequired,
    CorruptBackup,
    DatabaseBusy,
    DatabaseExists,
    DatabaseMissing,
    DefaultPassphraseRefused,
    DeleteFailed,
    DrillMismatch,
    EmptyPassphrase,
    Error,
    IntegrityCheckFailed,
    Internal,
    InvalidName,
    InvalidRate,
    InvalidProfileName,
    InvalidTime,
    InvalidUrl,
    Io,
    Keychain,
    KeychainDenied,
    KeychainLocked,
    KeychainUnavailable,
    LedgerDamaged,
    LoginFailed,
    MalformedConfig,
    MalformedMeta,
    MetaTooLarge,
    NoBackups,
    NoPassphraseStored,
    NotABackupName,
    NotARegularFile,
    NotASqliteDatabase,
    NotAdmin,
    NotAnInstallation,
    NotConfirmed,
    NotOpenpgp,
    NotRemote,
    OffsiteCredentialsMissing,
    OffsiteDenied,
    OffsiteExists,
    OffsiteFailed,
    OffsiteFull,
    OffsiteNotFound,
    OffsiteReadOnly,
    PassphraseFileMissing,
    PassphraseFileNotPrivate,
    PassphraseFileNotText,
    PassphraseFileRequired,
    PassphraseFileTooLong,
    PassphraseFileUnreadable,
    PassphraseMismatch,
    PassphraseRequired,
    PasswordRequired,
    PreRestoreBackupFailed,
    ProfileExists,
    ProfileNotFound,
    RateLimited,
    Redirected,
    RemoteRestoreFailed,
    RemoteRestoreNotDone,
    RemoteUnsupported,
    RestoreUnverified,
    RollbackFailed,
    RolledBack,
    SafetyBackupFailed,
    SamePassphrase,
    ServerError,
    SizeMismatch,
    Sqlite,
    StopCommandFailed,
    SwapFailedUnchanged,
    TamperedBackup,
    Timeout,
    TruncatedBackup,
    Unexpected,
    Unreachable,
    UnsafePath,
    UnsupportedFormat,
    VerificationFailed,
    EngineIncompatible,
    EngineMissing,
    HostKeyChanged,
    HostKeyUnknown,
    SshFailed,
    WrongPassphrase,
}

impl ErrorKind {
    /// The wire name, such as `wrong_passphrase`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::AuthenticationRequired => "authentication_required",
            ErrorKind::BackupAltered => "backup_altered",
            ErrorKind::BackupExists => "backup_exists",
            ErrorKind::BackupFolderFull => "backup_folder_full",
            ErrorKind::BackupFolderNotWritable => "backup_folder_not_writable",
            ErrorKind::BackupFolderUnreadable => "backup_folder_unreadable",
            ErrorKind::BackupNameRequired => "backup_name_required",
            ErrorKind::BackupNotFound => "backup_not_found",
            ErrorKind::BadCaCertificate => "bad_ca_certificate",
            ErrorKind::BadResponse => "bad_response",
            ErrorKind::Busy => "busy",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::ChecksumMismatch => "checksum_mismatch",
            ErrorKind::CommandFailed => "command_failed",
            ErrorKind::ConfirmationMismatch => "confirmation_mismatch",
            ErrorKind::ConfirmationRequired => "confirmation_required",
            ErrorKind::CorruptBackup => "corrupt_backup",
            ErrorKind::DatabaseBusy => "database_busy",
            ErrorKind::DatabaseExists => "database_exists",
            ErrorKind::DatabaseMissing => "database_missing",
            ErrorKind::DefaultPassphraseRefused => "default_passphrase_refused",
            ErrorKind::DeleteFailed => "delete_failed",
            ErrorKind::DrillMismatch => "drill_mismatch",
            ErrorKind::EmptyPassphrase => "empty_passphrase",
            ErrorKind::Error => "error",
            ErrorKind::IntegrityCheckFailed => "integrity_check_failed",
            ErrorKind::Internal => "internal",
            ErrorKind::InvalidName => "invalid_name",
            ErrorKind::InvalidRate => "invalid_rate",
            ErrorKind::InvalidProfileName => "invalid_profile_name",
            ErrorKind::InvalidTime => "invalid_time",
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::Io => "io",
            ErrorKind::Keychain => "keychain",
            ErrorKind::KeychainDenied => "keychain_denied",
            ErrorKind::KeychainLocked => "keychain_locked",
            ErrorKind::KeychainUnavailable => "keychain_unavailable",
            ErrorKind::LedgerDamaged => "ledger_damaged",
            ErrorKind::LoginFailed => "login_failed",
            ErrorKind::MalformedConfig => "malformed_config",
            ErrorKind::MalformedMeta => "malformed_meta",
            ErrorKind::MetaTooLarge => "meta_too_large",
            ErrorKind::NoBackups => "no_backups",
            ErrorKind::NoPassphraseStored => "no_passphrase_stored",
            ErrorKind::NotABackupName => "not_a_backup_name",
            ErrorKind::NotARegularFile => "not_a_regular_file",
            ErrorKind::NotASqliteDatabase => "not_a_sqlite_database",
            ErrorKind::NotAdmin => "not_admin",
            ErrorKind::NotAnInstallation => "not_an_installation",
            ErrorKind::NotConfirmed => "not_confirmed",
            ErrorKind::NotOpenpgp => "not_openpgp",
            ErrorKind::NotRemote => "not_remote",
            ErrorKind::OffsiteCredentialsMissing => "offsite_credentials_missing",
            ErrorKind::OffsiteDenied => "offsite_denied",
            ErrorKind::OffsiteExists => "offsite_exists",
            ErrorKind::OffsiteFailed => "offsite_failed",
            ErrorKind::OffsiteNotFound => "offsite_not_found",
            ErrorKind::OffsiteFull => "offsite_full",
            ErrorKind::OffsiteReadOnly => "offsite_read_only",
            ErrorKind::PassphraseFileMissing => "passphrase_file_missing",
            ErrorKind::PassphraseFileNotPrivate => "passphrase_file_not_private",
            ErrorKind::PassphraseFileNotText => "passphrase_file_not_text",
            ErrorKind::PassphraseFileRequired => "passphrase_file_required",
            ErrorKind::PassphraseFileTooLong => "passphrase_file_too_long",
            ErrorKind::PassphraseFileUnreadable => "passphrase_file_unreadable",
            ErrorKind::PassphraseMismatch => "passphrase_mismatch",
            ErrorKind::PassphraseRequired => "passphrase_required",
            ErrorKind::PasswordRequired => "password_required",
            ErrorKind::PreRestoreBackupFailed => "pre_restore_backup_failed",
            ErrorKind::ProfileExists => "profile_exists",
            ErrorKind::ProfileNotFound => "profile_not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Redirected => "redirected",
            ErrorKind::RemoteRestoreFailed => "remote_restore_failed",
            ErrorKind::RemoteRestoreNotDone => "remote_restore_not_done",
            ErrorKind::RemoteUnsupported => "remote_unsupported",
            ErrorKind::RestoreUnverified => "restore_unverified",
            ErrorKind::RollbackFailed => "rollback_failed",
            ErrorKind::RolledBack => "rolled_back",
            ErrorKind::SafetyBackupFailed => "safety_backup_failed",
            ErrorKind::SamePassphrase => "same_passphrase",
            ErrorKind::ServerError => "server_error",
            ErrorKind::SizeMismatch => "size_mismatch",
            ErrorKind::Sqlite => "sqlite",
            ErrorKind::StopCommandFailed => "stop_command_failed",
            ErrorKind::SwapFailedUnchanged => "swap_failed_unchanged",
            ErrorKind::TamperedBackup => "tampered_backup",
            ErrorKind::Timeout => "timeout",
            ErrorKind::TruncatedBackup => "truncated_backup",
            ErrorKind::Unexpected => "unexpected",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::UnsafePath => "unsafe_path",
            ErrorKind::UnsupportedFormat => "unsupported_format",
            ErrorKind::VerificationFailed => "verification_failed",
            ErrorKind::EngineIncompatible => "engine_incompatible",
            ErrorKind::EngineMissing => "engine_missing",
            ErrorKind::HostKeyChanged => "host_key_changed",
            ErrorKind::HostKeyUnknown => "host_key_unknown",
            ErrorKind::SshFailed => "ssh_failed",
            ErrorKind::WrongPassphrase => "wrong_passphrase",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn the_wire_name_is_the_serde_name() {
        for kind in [ErrorKind::WrongPassphrase, ErrorKind::Busy, ErrorKind::Io] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
