//! The passphrase's recovery sheet: the one way a stored backup passphrase
//! leaves the keychain (or this session's memory), for its owner, after
//! the profile's name was typed as confirmation. It says what the
//! passphrase opens, where, and how to decrypt a backup with standard
//! tools, so the admin can keep it on paper or in a password manager (the
//! demo's random passphrase included). Showing it is recorded in the
//! installation's log, without the passphrase; nothing else ever writes
//! it anywhere.

use serde::Serialize;

use crate::context::OperationContext;
use crate::service::error::ServiceError;
use crate::service::profiles;
use crate::service::session::SessionPassphrases;

type Result<T> = std::result::Result<T, ServiceError>;

/// What the recovery sheet shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecoverySheet {
    pub profile: String,
    /// The data folder, or the server.
    pub location: String,
    /// The backup passphrase itself.
    pub passphrase: String,
    /// Where Backup Desk keeps it: `keychain` or `session`.
    pub kept_in: String,
    /// The newest backup it opens (local installations), to try it on.
    pub newest_backup: Option<String>,
    /// When the sheet was made (RFC 3339).
    pub made_at: String,
    /// How to get the database back with standard tools only.
    pub how_to_decrypt: Vec<String>,
}

/// The recovery sheet of profile `name`, once `confirmation` is its name.
///
/// # Errors
/// [`ServiceError::ConfirmationMismatch`] (nothing read then),
/// [`ServiceError::NoPassphraseStored`], keychain failures.
pub fn recovery_sheet(
    name: &str,
    confirmation: &str,
    session: &SessionPassphrases,
    ctx: &OperationContext<'_>,
) -> Result<RecoverySheet> {
    if confirmation != name {
        return Err(ServiceError::ConfirmationMismatch(name.to_owned()));
    }
    let scope = profiles::passphrase_scope(name)?;
    let kept_in = if session.get(&scope).is_some() {
        "session"
    } else {
        "keychain"
    };
    let passphrase = profiles::passphrase(name, session, ctx)?;
    let location = profiles::profile(name)?.target.location();
    let data = profiles::local_data(name).ok();
    let newest_backup = data.as_ref().and_then(|data| {
        let catalog = crate::local::catalog::BackupCatalog::scan(data).ok()?;
        catalog
            .entries()
            .iter()
            .filter(|e| e.name.kind().is_encrypted())
            .map(|e| e.name.file_name().to_owned())
            .max()
    });
    if let Some(data) = &data {
        crate::local::activity_log::ActivityLog::backup(data).append(
            ctx,
            crate::local::activity_log::Level::Info,
            &format!(
                "The backup passphrase's recovery sheet was shown for profile {} (typed \
                 confirmation)",
                crate::printable::escaped(name)
            ),
        );
    }
    let example = newest_backup
        .clone()
        .unwrap_or_else(|| "servers_db_YYYYmmdd_HHMMSS.db.gpg".to_owned());
    Ok(RecoverySheet {
        profile: name.to_owned(),
        location,
        passphrase: passphrase.expose().to_owned(),
        kept_in: kept_in.to_owned(),
        newest_backup,
        made_at: ctx
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        how_to_decrypt: vec![
            format!("gpg --decrypt --output servers.db {example}"),
            "type the passphrase above when gpg asks for it".to_owned(),
            "sqlite3 servers.db 'PRAGMA integrity_check'   (says: ok)".to_owned(),
            "or restore it with Backup Desk: backupdesk restore NAME".to_owned(),
        ],
    })
}
