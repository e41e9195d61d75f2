//! The encryption policy of an installation and the admin's own keys, for
//! both shells: show and set the policy (public certificates from files or
//! from the admin's GnuPG keyring), and make a key for an admin who has
//! none (its secret part kept in the keychain, its certificate and a
//! printable recovery sheet written out).

use std::path::{Path, PathBuf};

use serde::Serialize;

mod over_ssh;

use crate::context::OperationContext;
use crate::format::crypto::{self, Recipient};
use crate::format::key_packets::SERVER_RESTORE_NEEDS_A_PASSPHRASE;
use crate::local::encryption_policy::EncryptionPolicy;
use crate::local::keyring::KeychainKeys;
use crate::local::rotation::{self, RewrapReport, RewrapRequest};
use crate::service::{PassphraseSource, Selection, ServiceError};

/// Where a recipient's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// A certificate file (armored or binary).
    File(PathBuf),
    /// The fingerprint of a recipient of the policy in force (kept as it
    /// is), else a fingerprint (or key id, or e-mail) found in the admin's
    /// GnuPG keyring; only its public certificate is exported.
    GnupgKeyring(String),
}

impl CertSource {
    /// A path that exists is a file; anything else is looked up in GnuPG.
    pub fn parse(text: &str) -> Self {
        let path = Path::new(text);
        if path.is_file() {
            CertSource::File(path.to_path_buf())
        } else {
            CertSource::GnupgKeyring(text.to_owned())
        }
    }
}

/// A policy to set.
#[derive(Debug, Clone, Default)]
pub struct PolicyRequest {
    /// The recipients, in order.
    pub recipients: Vec<CertSource>,
    /// Keep the installation's passphrase as a further way in.
    pub passphrase: bool,
    /// A recovery passphrase as a further way in that the server never
    /// holds.
    pub recovery: Option<RecoveryRequest>,
}

/// A policy as the app's form gives it ([`PolicySetting::request`]).
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PolicySetting {
    /// Each recipient: a certificate file, the fingerprint of a recipient
    /// of the policy in force, or a key in the admin's GnuPG keyring.
    pub recipients: Vec<String>,
    /// Keep the installation's passphrase as a further way in.
    pub keep_passphrase: bool,
    /// A recovery passphrase (the form asked for it twice), if wanted.
    pub recovery_passphrase: Option<String>,
    /// Where the recovery sheet goes, with a recovery passphrase.
    pub sheet_folder: String,
}

impl PolicySetting {
    /// The request this form makes (blank lines left out).
    pub fn request(self) -> PolicyRequest {
        PolicyRequest {
            recipients: self
                .recipients
                .iter()
                .map(|r| r.trim())
                .filter(|r| !r.is_empty())
                .map(CertSource::parse)
                .collect(),
            passphrase: self.keep_passphrase,
            recovery: self
                .recovery_passphrase
                .filter(|p| !p.is_empty())
                .map(|p| RecoveryRequest {
                    passphrase: crypto::Passphrase::new(p),
                    sheet_dir: PathBuf::from(self.sheet_folder.trim()),
                }),
        }
    }
}

/// A recovery passphrase: a recovery key is made, its public part added
/// to the policy's recipients, its secret part (encrypted by the
/// passphrase, as `gpg --import` understands) written to a recovery sheet
/// in `sheet_dir`. Neither the passphrase nor the secret key stays with
/// the installation; `gpg --import` of the sheet and the passphrase read
/// every backup made under the policy.
#[derive(Debug, Clone)]
pub struct RecoveryRequest {
    /// The recovery passphrase (not empty, not the scripts' default).
    pub passphrase: crypto::Passphrase,
    /// Where the sheet is written (`recovery-YYYYMMDD-HHMMSS.recovery.txt`).
    pub sheet_dir: PathBuf,
}

/// One recipient as shells show it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecipientView {
    /// The certificate's fingerprint.
    pub fingerprint: String,
    /// Its primary user ID.
    pub user_id: Option<String>,
    /// The key ids its public-key packets name.
    pub key_ids: Vec<String>,
}

/// An installation's policy as shells show it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PolicyView {
    /// `false`: no policy, backups are sealed with the passphrase alone.
    pub has_policy: bool,
    /// The recipients new backups are encrypted to.
    pub recipients: Vec<RecipientView>,
    /// Whether the passphrase is a way in.
    pub passphrase: bool,
    /// How many independent ways in a new backup has.
    pub ways_in: usize,
    /// Whether the server holds any secret for making backups.
    pub server_holds_a_secret: bool,
    /// Present when new backups have no passphrase: the server's own
    /// restore cannot read them, and what to use instead.
    pub server_restore_note: Option<String>,
    /// The recovery sheet written by this change, if it made a recovery
    /// key.
    pub recovery_sheet: Option<String>,
    /// Older copies the off-site stores keep locked after a rewrap
    /// replaced them: the ways in they need are still needed until then.
    pub still_needed: Vec<StillNeeded>,
}

/// An older off-site copy, kept locked, that needs ways in a rewrap took
/// from its backup.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StillNeeded {
    /// The off-site location holding it.
    pub location: String,
    /// The copy, its lock's end, what it needs.
    pub copy: crate::offsite::ledger::SupersededCopy,
    /// In words.
    pub words: String,
}

impl PolicyView {
    fn of(policy: Option<&EncryptionPolicy>) -> Self {
        match policy {
            None => PolicyView {
                has_policy: false,
                recipients: Vec::new(),
                passphrase: true,
                ways_in: 1,
                server_holds_a_secret: true,
                server_restore_note: None,
                recovery_sheet: None,
                still_needed: Vec::new(),
            },
            Some(policy) => PolicyView {
                has_policy: true,
                recipients: policy
                    .recipients
                    .iter()
                    .map(|r| RecipientView {
                        fingerprint: r.fingerprint(),
                        user_id: r.user_id(),
                        key_ids: r.encryption_key_ids(),
                    })
                    .collect(),
                passphrase: policy.passphrase,
                ways_in: policy.ways_in(),
                server_holds_a_secret: policy.passphrase,
                server_restore_note: (!policy.passphrase).then(|| {
                    format!(
                        "{SERVER_RESTORE_NEEDS_A_PASSPHRASE}: backups made under this policy are restored with Backup Desk (backupdesk restore here, or over SSH with its engine on the server), never with the server's own restore"
                    )
                }),
                recovery_sheet: None,
                still_needed: Vec::new(),
            },
        }
    }
}

/// The installation's policy.
///
/// # Errors
/// Not a local installation; a policy file that cannot be used.
pub fn show(selection: &Selection, ctx: &OperationContext<'_>) -> Result<PolicyView, ServiceError> {
    if let Some(target) = selection.ssh() {
        return Ok(target.encryption_show::<PolicyView>()?);
    }
    let data = selection.installation()?;
    let policy = EncryptionPolicy::read(data)?;
    let still_needed = crate::service::offsite::superseded_copies(selection, ctx)
        .into_iter()
        .filter(|(_, copy)| !copy.retired.is_empty())
        .map(|(location, copy)| StillNeeded {
            words: format!("at {location}, {}", copy.words()),
            location,
            copy,
        })
        .collect();
    Ok(PolicyView {
        still_needed,
        ..PolicyView::of(policy.as_ref())
    })
}

/// Sets the installation's policy: every certificate read (and checked for
/// a valid encryption key) first, the policy checked (two ways in), then
/// written atomically. Backups made before keep their ways in.
///
/// # Errors
/// A certificate that cannot be read or used; fewer than two ways in;
/// the file cannot be written. Nothing changes on any error.
pub fn set(selection: &Selection, request: &PolicyRequest) -> Result<PolicyView, ServiceError> {
    if let Some(target) = selection.ssh() {
        return over_ssh::set(target, request);
    }
    let data = selection.installation()?;
    // A recipient of the policy in force may be named by its fingerprint
    // alone (kept as it is: no certificate file, no GnuPG needed); a
    // policy file that cannot be read is no reason to refuse a new one.
    let current = EncryptionPolicy::read(data).ok().flatten();
    let mut recipients = request
        .recipients
        .iter()
        .map(|source| read_cert(source, current.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let recovery = match &request.recovery {
        Some(wanted) => Some(RecoveryKey::make(
            wanted,
            &data.root().display().to_string(),
        )?),
        None => None,
    };
    recipients.extend(recovery.as_ref().map(|key| key.public.clone()));
    let policy = EncryptionPolicy {
        recipients,
        passphrase: request.passphrase,
    };
    // Checked before the sheet is written: a refused policy leaves no
    // sheet of a key nothing is encrypted to.
    policy.check()?;
    let sheet = match &recovery {
        Some(key) => Some(key.write_sheet()?),
        None => None,
    };
    policy.write(data)?;
    Ok(PolicyView {
        recovery_sheet: sheet.map(|p| p.display().to_string()),
        ..PolicyView::of(Some(&policy))
    })
}

/// A recovery key made for a policy, not yet written out.
pub(super) struct RecoveryKey {
    pub(super) public: Recipient,
    /// The sheet's text: the secret key, encrypted by the passphrase.
    sheet: zeroize::Zeroizing<String>,
    path: PathBuf,
}

impl RecoveryKey {
    /// Makes the key (its secret parts encrypted by the passphrase) and
    /// its sheet's text; nothing is written.
    ///
    /// # Errors
    /// An empty or default passphrase; a sheet that exists already.
    pub(super) fn make(wanted: &RecoveryRequest, installation: &str) -> Result<Self, ServiceError> {
        crypto::check_new_passphrase(&wanted.passphrase)?;
        let made = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let path = wanted
            .sheet_dir
            .join(format!("recovery-{made}.recovery.txt"));
        if path.exists() {
            return Err(ServiceError::Io {
                what: format!("{} exists; not overwritten", path.display()),
                source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            });
        }
        let name = format!("Backup Desk recovery key ({installation})");
        let cert = crypto::generate_protected_key(&name, &wanted.passphrase)?;
        let public = Recipient::from_bytes(crypto::armored_secret(&cert).as_bytes())?;
        let sheet = zeroize::Zeroizing::new(format!(
            "BACKUP DESK RECOVERY SHEET: {name}\n\
             Fingerprint: {fpr}\n\
             \n\
             With the recovery passphrase, this sheet opens every backup made under the\n\
             installation's encryption policy. Keep it apart from the passphrase (a safe),\n\
             then delete this file.\n\
             \n\
             To read a backup without Backup Desk:\n\
             1. Type or scan the key block below into a file, key.asc.\n\
             2. gpg --import key.asc   (gpg asks for the recovery passphrase)\n\
             3. gpg -o servers.db -d servers_db_YYYYMMDD_HHMMSS.db.gpg\n\
             \n\
             {secret}",
            fpr = public.fingerprint(),
            secret = crypto::armored_secret(&cert),
        ));
        Ok(RecoveryKey {
            public,
            sheet,
            path,
        })
    }

    /// Writes the sheet (0600, never over a file); returns its path.
    pub(super) fn write_sheet(&self) -> Result<PathBuf, ServiceError> {
        write_new(&self.path, self.sheet.as_bytes(), 0o600)?;
        Ok(self.path.clone())
    }
}

/// Rewraps the selected backups to the installation's policy by their key
/// packets alone ([`rotation::rewrap`]): each opened here by its
/// passphrase (the stored one, or the script's old default) or a keychain
/// key, given one public-key packet per recipient key and the passphrase's
/// packet where the policy keeps it, its body unchanged. An installation
/// without a policy is rewrapped to its passphrase alone.
///
/// # Errors
/// Not a local installation; a policy that cannot be used; the passphrase
/// the policy keeps not at hand; the rewrap could not start (nothing
/// changed then). Per-backup problems are in the report.
pub fn rewrap(
    selection: &Selection,
    request: &RewrapRequest,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<RewrapReport, ServiceError> {
    if let Some(target) = selection.ssh() {
        // The server's engine rewraps; a server that keeps no secret gets
        // the session keys of the backups it rewraps from here.
        let which = crate::targets::ssh::BackupsRead::Named(&request.backups);
        let way = crate::service::selection::reading_way(selection, which, passphrases, ctx)?;
        return Ok(target.encryption_rewrap(request, &way.passphrase, &way.context(ctx))?);
    }
    let data = selection.installation()?;
    let policy = EncryptionPolicy::read(data)?;
    let passphrase = crate::service::selection::reading_passphrase(selection, passphrases)?;
    let sealing = match &policy {
        Some(policy) => policy.sealing(&passphrase),
        None => crypto::Sealing::passphrase(passphrase.clone()),
    };
    let legacy = crypto::Passphrase::legacy_default();
    let mut candidates = vec![&legacy];
    if !passphrase.is_empty() && !passphrase.is_legacy_default() {
        candidates.insert(0, &passphrase);
    }
    let keys = KeychainKeys::new(ctx.secrets());
    let openers = crypto::Openers {
        passphrases: &candidates,
        keys: Some(&keys),
        session: None,
    };
    Ok(rotation::rewrap(data, &sealing, &openers, request, ctx)?)
}

/// A recipient's certificate, from its file or from GnuPG.
fn read_cert(
    source: &CertSource,
    current: Option<&EncryptionPolicy>,
) -> Result<Recipient, ServiceError> {
    if let CertSource::GnupgKeyring(query) = source {
        let wanted = query.replace(' ', "").to_ascii_uppercase();
        let kept = current
            .into_iter()
            .flat_map(|policy| &policy.recipients)
            .find(|r| r.fingerprint().eq_ignore_ascii_case(&wanted));
        if let Some(kept) = kept {
            return Ok(kept.clone());
        }
    }
    let bytes = match source {
        CertSource::File(path) => std::fs::read(path).map_err(|e| ServiceError::Io {
            what: format!("reading the certificate {}", path.display()),
            source: e,
        })?,
        CertSource::GnupgKeyring(query) => export_from_gnupg(query)?,
    };
    Ok(Recipient::from_bytes(&bytes)?)
}

/// `gpg --export QUERY`: the public certificate only (GnuPG never hands
/// out a secret key this way).
pub(super) fn export_from_gnupg(query: &str) -> Result<Vec<u8>, ServiceError> {
    let out = std::process::Command::new("gpg")
        .args(["--batch", "--export", "--", query])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| ServiceError::Io {
            what: "running gpg to export the certificate".to_owned(),
            source: e,
        })?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(crypto::KeyError::NotACertificate(format!(
            "{query} is neither a certificate file nor a key in your GnuPG keyring (gpg --list-keys {query})"
        ))
        .into());
    }
    Ok(out.stdout)
}

/// A key made by [`create_key`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyCreated {
    /// The certificate's fingerprint.
    pub fingerprint: String,
    /// Its user ID.
    pub user_id: String,
    /// The key ids kept in the keychain.
    pub key_ids: Vec<String>,
    /// The public certificate written (for `encryption set --recipient`).
    pub certificate: String,
    /// The recovery sheet written (0600): print it, keep it safe, delete it.
    pub recovery_sheet: String,
}

/// Makes a key for an admin who has none: its secret part kept in the
/// keychain (the keychain is reached first: nothing is made that could not
/// be kept), its public certificate written to `dir/NAME.pub.asc`, and a
/// printable recovery sheet (the secret key, armored, with how to use it
/// with plain `gpg`) to `dir/NAME.recovery.txt`, private (0600). Neither
/// file is overwritten.
///
/// # Errors
/// A name that is empty or not printable; the keychain unreachable; a file
/// that exists or cannot be written.
pub fn create_key(
    name: &str,
    dir: &Path,
    ctx: &OperationContext<'_>,
) -> Result<KeyCreated, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(crypto::KeyError::Generate(
            "a key's name is printable text without '/' (e.g. \"Ops team <ops@example.org>\")"
                .to_owned(),
        )
        .into());
    }
    ctx.secrets().reachable()?;
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let certificate = dir.join(format!("{stem}.pub.asc"));
    let sheet = dir.join(format!("{stem}.recovery.txt"));
    for path in [&certificate, &sheet] {
        if path.exists() {
            return Err(ServiceError::Io {
                what: format!("{} exists; not overwritten", path.display()),
                source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            });
        }
    }
    let cert = crypto::generate_key(name)?;
    let public = Recipient::from_bytes(crypto::armored_secret(&cert).as_bytes())?;
    let key_ids = KeychainKeys::new(ctx.secrets()).keep(&cert)?;
    write_new(&certificate, public.armored().as_bytes(), 0o644)?;
    let sheet_text = zeroize::Zeroizing::new(recovery_sheet(name, &public, &cert));
    write_new(&sheet, sheet_text.as_bytes(), 0o600)?;
    Ok(KeyCreated {
        fingerprint: public.fingerprint(),
        user_id: name.to_owned(),
        key_ids,
        certificate: certificate.display().to_string(),
        recovery_sheet: sheet.display().to_string(),
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ServiceError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e| ServiceError::Io {
        what: format!("writing {}", path.display()),
        source: e,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(failed)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(failed)
}

/// The printable recovery sheet: what the key is, how to read a backup
/// with it and plain `gpg`, and the secret key itself.
fn recovery_sheet(name: &str, public: &Recipient, cert: &sequoia_openpgp::Cert) -> String {
    format!(
        "BACKUP DESK RECOVERY SHEET: {name}\n\
         Fingerprint: {fpr}\n\
         \n\
         This sheet opens every backup encrypted to this key. Print it, keep the paper\n\
         somewhere safe (a safe, a sealed envelope), then delete this file.\n\
         \n\
         To read a backup without Backup Desk:\n\
         1. Type or scan the key block below into a file, key.asc.\n\
         2. gpg --import key.asc\n\
         3. gpg -o servers.db -d servers_db_YYYYMMDD_HHMMSS.db.gpg\n\
         \n\
         {secret}",
        fpr = public.fingerprint(),
        secret = crypto::armored_secret(cert),
    )
}
