//! Every error kind Backup Desk emits, core, CLI and app alike: the `kind`
//! of `{kind, message}` over IPC and in `--json`. The UI's advice map is a
//! `Record<ErrorKind, string>`, so a kind added here without advice (or
//! advice left for a kind that is gone) fails `tsc`.

use serde::{Deserialize, Serialize};

/// Declares [`ErrorKind`] once: each variant with its wire name, from which
/// the enum, [`ErrorKind::as_str`] and [`ErrorKind::ALL`] are made (a test
/// checks every wire name against serde's).
macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)*) => {
        /// A stable, machine-readable error name (`snake_case` on the wire). The UI
        /// branches on it, never on the message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(rename_all = "snake_case")]
        #[allow(missing_docs)]
        pub enum ErrorKind {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The wire name, such as `wrong_passphrase`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $wire,)*
                }
            }
        }
    };
}

error_kinds! {
    AuthenticationRequired => "authentication_required",
    BackupAltered => "backup_altered",
    BackupExists => "backup_exists",
    BackupFolderFull => "backup_folder_full",
    BackupFolderNotWritable => "backup_folder_not_writable",
    BackupFolderUnreadable => "backup_folder_unreadable",
    BackupNameRequired => "backup_name_required",
    BackupNotFound => "backup_not_found",
    BadCaCertificate => "bad_ca_certificate",
    BadResponse => "bad_response",
    Busy => "busy",
    Cancelled => "cancelled",
    ChecksumMismatch => "checksum_mismatch",
    CommandFailed => "command_failed",
    ConfirmationMismatch => "confirmation_mismatch",
    ConfirmationRequired => "confirmation_required",
    CorruptBackup => "corrupt_backup",
    DatabaseBusy => "database_busy",
    DatabaseExists => "database_exists",
    DatabaseMissing => "database_missing",
    DefaultPassphraseRefused => "default_passphrase_refused",
    DeleteFailed => "delete_failed",
    DrillMismatch => "drill_mismatch",
    EmptyPassphrase => "empty_passphrase",
    Error => "error",
    IntegrityCheckFailed => "integrity_check_failed",
    Internal => "internal",
    InvalidName => "invalid_name",
    InvalidRate => "invalid_rate",
    InvalidProfileName => "invalid_profile_name",
    InvalidTime => "invalid_time",
    InvalidUrl => "invalid_url",
    Io => "io",
    Keychain => "keychain",
    KeychainDenied => "keychain_denied",
    KeychainLocked => "keychain_locked",
    KeychainUnavailable => "keychain_unavailable",
    LedgerDamaged => "ledger_damaged",
    LoginFailed => "login_failed",
    MalformedConfig => "malformed_config",
    MalformedMeta => "malformed_meta",
    MetaTooLarge => "meta_too_large",
    NoBackups => "no_backups",
    NoPassphraseStored => "no_passphrase_stored",
    NotABackupName => "not_a_backup_name",
    NotARegularFile => "not_a_regular_file",
    NotASqliteDatabase => "not_a_sqlite_database",
    NotAdmin => "not_admin",
    NotAnInstallation => "not_an_installation",
    NotConfirmed => "not_confirmed",
    NotOpenpgp => "not_openpgp",
    NotRemote => "not_remote",
    OffsiteCredentialsMissing => "offsite_credentials_missing",
    OffsiteDenied => "offsite_denied",
    OffsiteExists => "offsite_exists",
    OffsiteFailed => "offsite_failed",
    OffsiteFull => "offsite_full",
    OffsiteNotFound => "offsite_not_found",
    OffsiteReadOnly => "offsite_read_only",
    PassphraseFileMissing => "passphrase_file_missing",
    PassphraseFileNotPrivate => "passphrase_file_not_private",
    PassphraseFileNotText => "passphrase_file_not_text",
    PassphraseFileRequired => "passphrase_file_required",
    PassphraseFileTooLong => "passphrase_file_too_long",
    PassphraseFileUnreadable => "passphrase_file_unreadable",
    PassphraseMismatch => "passphrase_mismatch",
    PassphraseRequired => "passphrase_required",
    PasswordRequired => "password_required",
    PreRestoreBackupFailed => "pre_restore_backup_failed",
    ProfileExists => "profile_exists",
    ProfileNotFound => "profile_not_found",
    RateLimited => "rate_limited",
    Redirected => "redirected",
    RemoteRestoreFailed => "remote_restore_failed",
    RemoteRestoreNotDone => "remote_restore_not_done",
    RemoteUnsupported => "remote_unsupported",
    RestoreUnverified => "restore_unverified",
    RollbackFailed => "rollback_failed",
    RolledBack => "rolled_back",
    SafetyBackupFailed => "safety_backup_failed",
    SamePassphrase => "same_passphrase",
    ScheduleOfAnotherFolder => "schedule_of_another_folder",
    ServerError => "server_error",
    SizeMismatch => "size_mismatch",
    Sqlite => "sqlite",
    StopCommandFailed => "stop_command_failed",
    SwapFailedUnchanged => "swap_failed_unchanged",
    TamperedBackup => "tampered_backup",
    Timeout => "timeout",
    TruncatedBackup => "truncated_backup",
    Unexpected => "unexpected",
    Unreachable => "unreachable",
    UnsafePath => "unsafe_path",
    UnsupportedFormat => "unsupported_format",
    VerificationFailed => "verification_failed",
    EngineIncompatible => "engine_incompatible",
    EngineMissing => "engine_missing",
    HostKeyChanged => "host_key_changed",
    HostKeyUnknown => "host_key_unknown",
    SshFailed => "ssh_failed",
    WrongPassphrase => "wrong_passphrase",
    ReadOnlyQuery => "read_only_query",
    QueryStopped => "query_stopped",
    NoSuchTable => "no_such_table",
    SchemaDiffers => "schema_differs",
    DanglingReferences => "dangling_references",
    BadWhere => "bad_where",
    RowsBackup => "rows_backup",
    RemoteNoContent => "remote_no_content",
    /// A backup opened in the app is no longer open (closed, or the app
    /// restarted): open it again.
    NotOpen => "not_open",
    /// A certificate or key that cannot be used (not OpenPGP, no valid
    /// encryption key, could not be made).
    InvalidKey => "invalid_key",
    /// A backup encrypted to public keys none of whose secret keys is
    /// reachable here (keychain, gpg-agent), and no passphrase opens it.
    NoDecryptionKey => "no_decryption_key",
    /// An encryption policy refused (fewer than two ways in) or unreadable
    /// (a policy file edited into nonsense): no backup is made under it.
    EncryptionPolicyInvalid => "encryption_policy_invalid",
    /// The installation holds no secret (its policy has no passphrase):
    /// what needs one runs where a key is, such as the laptop.
    NoSecretHere => "no_secret_here",
    /// A notifier of that name exists already.
    NotifierExists => "notifier_exists",
    /// No notifier of that name.
    NotifierNotFound => "notifier_not_found",
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
        for &kind in ErrorKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
