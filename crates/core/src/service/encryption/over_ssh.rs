//! An SSH profile's encryption policy, set from this machine (issue 30):
//! the server is where the policy lives, but the admin's certificates and
//! GnuPG keyring are here. Each recipient is read here (a certificate
//! file, a key in this machine's GnuPG keyring) and its public certificate
//! put on the server for the engine's `encryption set`; a name found in
//! neither goes as typed (the engine finds it among the policy in force,
//! or in the server's own keyring). A recovery key is made here and only
//! its public part goes; its sheet is written here, before the policy is
//! set, and removed again when the engine refuses it.

use super::{CertSource, PolicyRequest, PolicyView, RecoveryKey, export_from_gnupg};
use crate::format::crypto::Recipient;
use crate::local::encryption_policy::PolicyError;
use crate::service::ServiceError;
use crate::targets::over_ssh::SshTarget;

/// Sets the policy of `target`'s installation as `request` says.
///
/// # Errors
/// Fewer than two ways in (before anything is sent or written); a
/// certificate that cannot be read here; the connection's errors; the
/// engine's refusals (its kinds, unchanged). Nothing changes on the server
/// on any error, and no recovery sheet is left.
pub(super) fn set(target: &SshTarget, request: &PolicyRequest) -> Result<PolicyView, ServiceError> {
    let ways_in = request.recipients.len()
        + usize::from(request.passphrase)
        + usize::from(request.recovery.is_some());
    if ways_in < 2 {
        return Err(PolicyError::TooFewWaysIn { ways_in }.into());
    }
    let mut certificates: Vec<Option<Recipient>> = request
        .recipients
        .iter()
        .map(read_here)
        .collect::<Result<_, _>>()?;
    let recovery = match &request.recovery {
        Some(wanted) => Some(RecoveryKey::make(wanted, target.location())?),
        None => None,
    };
    certificates.extend(recovery.as_ref().map(|key| Some(key.public.clone())));
    let mut words = vec!["encryption".to_owned(), "set".to_owned()];
    let typed = request
        .recipients
        .iter()
        .map(Some)
        .chain(recovery.iter().map(|_| None));
    for (certificate, typed) in certificates.iter().zip(typed) {
        let on_server = match (certificate, typed) {
            (Some(cert), _) => {
                target.put_certificate(&cert.fingerprint(), cert.armored().as_bytes())?
            }
            (None, Some(CertSource::GnupgKeyring(query))) => query.clone(),
            (None, _) => unreachable!("a file is read here or refused"),
        };
        words.extend(["--recipient".to_owned(), on_server]);
    }
    if !request.passphrase {
        words.push("--no-passphrase".to_owned());
    }
    let sheet = match &recovery {
        Some(key) => Some(key.write_sheet()?),
        None => None,
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match target.encryption_set::<PolicyView>(&words) {
        Ok(view) => Ok(PolicyView {
            recovery_sheet: sheet.map(|p| p.display().to_string()),
            ..view
        }),
        Err(e) => {
            // Nothing is encrypted to that recovery key: its sheet goes.
            if let Some(sheet) = sheet {
                let _ = std::fs::remove_file(sheet);
            }
            Err(e.into())
        }
    }
}

/// A recipient's certificate read on this machine; `None` for a name this
/// machine's GnuPG keyring does not know (the engine looks it up there).
fn read_here(source: &CertSource) -> Result<Option<Recipient>, ServiceError> {
    match source {
        CertSource::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| ServiceError::Io {
                what: format!("reading the certificate {}", path.display()),
                source: e,
            })?;
            Ok(Some(Recipient::from_bytes(&bytes)?))
        }
        CertSource::GnupgKeyring(query) => match export_from_gnupg(query) {
            Ok(bytes) => Ok(Some(Recipient::from_bytes(&bytes)?)),
            Err(_) => Ok(None),
        },
    }
}
