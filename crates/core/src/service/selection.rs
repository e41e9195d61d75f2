//! What an operation acts on, as a shell names it: a data folder (the
//! CLI's bare `--data-dir`) or a saved profile (`--profile NAME`, every app
//! command), opened once with what belongs to it: the target with its
//! secrets, the keychain scope of its passphrase, its retention policy.
//!
//! Both shells build a [`Selection`] and hand it to the service functions
//! (`service::backups`, `service::restore`, `service::retention`) with a
//! [`PassphraseSource`] of their own: the CLI reads a file, the
//! environment, the keychain or the terminal; the app the keychain. The
//! service decides *whether* a passphrase is needed (never for a server,
//! which uses its own; not for a dry run whose `.meta` has the counts).

use std::path::Path;

use crate::context::{OperationContext, SecretStore};
use crate::format::crypto::Passphrase;
use crate::local::layout::DataDir;
use crate::local::retention::RetentionPolicy;
use crate::model::PassphraseUse;
use crate::service::error::ServiceError;
use crate::service::secrets::{self, PassphraseScope};
use crate::service::session::SessionPassphrases;
use crate::targets::profile::{ProfileBook, config_dir};
use crate::targets::{LocalTarget, OpenedTarget, Target};

/// An installation or server, opened for the operations of one command.
pub struct Selection {
    /// How the admin named it: the profile name, or the data folder.
    label: String,
    target: OpenedTarget,
    scope: PassphraseScope,
    retention: Option<RetentionPolicy>,
}

impl Selection {
    /// The installation at `root` (no profile).
    pub fn data_dir(root: &Path) -> Selection {
        Selection {
            label: root.display().to_string(),
            target: OpenedTarget::Local(LocalTarget::new(DataDir::new(root))),
            scope: PassphraseScope::for_data_dir(root),
            retention: None,
        }
    }

    /// Profile `name` from the profile book, opened with its secrets (a
    /// server's token and, if kept, password).
    ///
    /// # Errors
    /// No such profile, a damaged book, a server profile that cannot be
    /// opened (URL, CA certificate).
    pub fn profile(name: &str, ctx: &OperationContext<'_>) -> Result<Selection, ServiceError> {
        let book = ProfileBook::load(&config_dir())?;
        Selection::of_profile(name, book.get(name)?, ctx)
    }

    /// [`Selection::profile`] of a profile the shell already read from
    /// the book (the book is read once per run).
    ///
    /// # Errors
    /// As [`Selection::profile`], the book aside.
    pub fn of_profile(
        name: &str,
        profile: &crate::targets::profile::Profile,
        ctx: &OperationContext<'_>,
    ) -> Result<Selection, ServiceError> {
        Ok(Selection {
            label: name.to_owned(),
            target: OpenedTarget::open(name, profile, ctx)?,
            scope: PassphraseScope::for_profile(name, profile),
            retention: profile.retention,
        })
    }

    /// The target, whichever side it is on.
    pub fn target(&self) -> &dyn Target {
        self.target.get()
    }

    /// Whether this is a server reached over its API.
    pub(crate) fn is_remote(&self) -> bool {
        self.target.is_remote()
    }

    /// The server reached over SSH, when this is one.
    pub(crate) fn ssh(&self) -> Option<&crate::targets::over_ssh::SshTarget> {
        match &self.target {
            OpenedTarget::Ssh(target) => Some(target),
            _ => None,
        }
    }

    /// Whether this is a server reached over SSH (its own engine works on
    /// its files).
    pub fn is_ssh(&self) -> bool {
        matches!(self.target, OpenedTarget::Ssh(_))
    }

    /// The installation's files when they are on this machine (`None`
    /// for an SSH profile, whose engine reads them there).
    ///
    /// # Errors
    /// As [`Selection::installation`], except for an SSH profile.
    pub(crate) fn files_here(&self) -> Result<Option<&DataDir>, ServiceError> {
        match self.installation() {
            Ok(data) => Ok(Some(data)),
            Err(ServiceError::RemoteUnsupported { .. }) if self.is_ssh() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The profile name or the data folder.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The keychain entry of its backup passphrase.
    pub fn scope(&self) -> &PassphraseScope {
        &self.scope
    }

    /// The profile's own retention policy, if it has one.
    pub fn retention(&self) -> Option<RetentionPolicy> {
        self.retention
    }

    /// The data folder of a local selection, whether or not it exists.
    pub(crate) fn data_dir_unchecked(&self) -> Option<&DataDir> {
        self.target.local().map(LocalTarget::data)
    }

    /// The local installation, for the operations that need its files
    /// (verify, prune, pin, rotate).
    ///
    /// # Errors
    /// [`ServiceError::RemoteUnsupported`] for a server;
    /// [`ServiceError::NotAnInstallation`] when the folder does not exist
    /// (nothing is created there).
    pub fn installation(&self) -> Result<&DataDir, ServiceError> {
        match &self.target {
            OpenedTarget::Local(local) if local.data().root().is_dir() => Ok(local.data()),
            OpenedTarget::Local(local) => Err(ServiceError::NotAnInstallation(
                local.data().root().display().to_string(),
            )),
            OpenedTarget::Ssh(target) => Err(ServiceError::RemoteUnsupported {
                name: self.label.clone(),
                base_url: target.describe(),
            }),
            OpenedTarget::Remote { target, .. } => Err(ServiceError::RemoteUnsupported {
                name: self.label.clone(),
                base_url: target.server().base_url().to_owned(),
            }),
        }
    }

    /// The installation for operations that work on either side but need
    /// an existing folder when local (list, backup, restore, delete).
    ///
    /// # Errors
    /// [`ServiceError::NotAnInstallation`].
    pub(crate) fn require_existing(&self) -> Result<(), ServiceError> {
        match self.installation() {
            Err(ServiceError::RemoteUnsupported { .. }) => Ok(()),
            other => other.map(drop),
        }
    }
}

/// Where a shell gets the backup passphrase from. Asked only when the
/// operation needs it, at most once per operation.
pub trait PassphraseSource {
    /// The passphrase for `usage`.
    ///
    /// # Errors
    /// Whatever keeps the shell from giving one (as
    /// [`ServiceError::Passphrase`] with the shell's kind, or a keychain
    /// error).
    fn passphrase(&self, usage: PassphraseUse) -> Result<Passphrase, ServiceError>;
}

/// The passphrase kept for a selection (the app's source): this session's
/// memory first (when no keychain could keep it), then the operation's
/// secret store (the keychain).
pub struct StoredPassphrase<'a> {
    selection: &'a Selection,
    secrets: &'a dyn SecretStore,
    session: Option<&'a SessionPassphrases>,
}

impl<'a> StoredPassphrase<'a> {
    /// The passphrase `ctx`'s secret store keeps for `selection`.
    pub fn new(selection: &'a Selection, ctx: &OperationContext<'a>) -> Self {
        StoredPassphrase {
            selection,
            secrets: ctx.secrets(),
            session: None,
        }
    }

    /// Also looks in `session` (first).
    pub fn with_session(self, session: &'a SessionPassphrases) -> Self {
        StoredPassphrase {
            session: Some(session),
            ..self
        }
    }
}

impl PassphraseSource for StoredPassphrase<'_> {
    fn passphrase(&self, _usage: PassphraseUse) -> Result<Passphrase, ServiceError> {
        // This session's memory first (kept when no keychain could), then
        // the keychain: both read by the one rule.
        let session = self.session.map(|s| s as &dyn SecretStore);
        for store in session.into_iter().chain([self.secrets]) {
            if let Some(kept) = secrets::stored_passphrase(store, self.selection.scope())? {
                return Ok(kept);
            }
        }
        Err(ServiceError::NoPassphraseStored(
            self.selection.label().to_owned(),
        ))
    }
}

/// The passphrase an operation on `selection` needs for `usage`: none for
/// a server (it encrypts and decrypts with its own; ours is never sent).
///
/// # Errors
/// As the source's.
pub(crate) fn needed_passphrase(
    selection: &Selection,
    source: &dyn PassphraseSource,
    usage: PassphraseUse,
) -> Result<Passphrase, ServiceError> {
    if selection.is_remote() {
        return Ok(Passphrase::new(String::new()));
    }
    if !holds_passphrase(selection)? {
        // The installation keeps no passphrase: new backups need none, and
        // reading uses keys, or a passphrase only for backups made before.
        return Ok(match usage {
            PassphraseUse::NewBackup => Passphrase::new(String::new()),
            PassphraseUse::Reading => source
                .passphrase(usage)
                .unwrap_or_else(|_| Passphrase::new(String::new())),
        });
    }
    source.passphrase(usage)
}

/// The passphrase for reading backups of `selection`. An installation
/// whose policy keeps no passphrase is read with keys: a passphrase is
/// then used only when the shell has one (for backups made before).
///
/// # Errors
/// The source's, where a passphrase is needed; a policy file that cannot
/// be used.
pub(crate) fn reading_passphrase(
    selection: &Selection,
    source: &dyn PassphraseSource,
) -> Result<Passphrase, ServiceError> {
    match selection.installation() {
        Ok(data) => reading_passphrase_of(data, source),
        Err(_) => source.passphrase(PassphraseUse::Reading),
    }
}

/// [`reading_passphrase`] for the local installation at `data` (the
/// surgery verbs, which hold the folder rather than the selection).
///
/// # Errors
/// As [`reading_passphrase`].
pub(crate) fn reading_passphrase_of(
    data: &crate::local::layout::DataDir,
    source: &dyn PassphraseSource,
) -> Result<Passphrase, ServiceError> {
    let keeps_one = crate::local::encryption_policy::EncryptionPolicy::read(data)?
        .is_none_or(|policy| policy.passphrase);
    if keeps_one {
        return source.passphrase(PassphraseUse::Reading);
    }
    Ok(source
        .passphrase(PassphraseUse::Reading)
        .unwrap_or_else(|_| Passphrase::new(String::new())))
}

/// How backups of a selection are read: by session keys recovered on
/// this machine (an SSH profile whose backups a key in this keychain, or
/// the admin's GnuPG key, opens: only those keys cross to the server,
/// issue 30), else by the passphrase.
pub(crate) struct ReadingWay {
    /// The passphrase (empty when session keys are the way in).
    pub(crate) passphrase: Passphrase,
    /// The session keys of the backups read, recovered here.
    pub(crate) session: Option<crate::format::crypto::SessionKeys>,
}

impl ReadingWay {
    /// `ctx` carrying the session keys, when there are some.
    pub(crate) fn context<'c>(&'c self, ctx: &OperationContext<'c>) -> OperationContext<'c> {
        match &self.session {
            Some(keys) => ctx.with_session_keys(keys),
            None => *ctx,
        }
    }
}

/// [`reading_passphrase`], or for the backups `which` names of an SSH
/// profile that a key held here opens, their session keys (no passphrase
/// asked for).
///
/// # Errors
/// As [`reading_passphrase`].
pub(crate) fn reading_way(
    selection: &Selection,
    which: crate::targets::ssh::BackupsRead<'_>,
    source: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<ReadingWay, ServiceError> {
    let session = match &selection.target {
        OpenedTarget::Ssh(target) => target.session_keys_here(which, ctx),
        _ => None,
    };
    let passphrase = match session {
        Some(_) => Passphrase::new(String::new()),
        None => reading_passphrase(selection, source)?,
    };
    Ok(ReadingWay {
        passphrase,
        session,
    })
}

/// Whether new backups of the selected local installation carry a
/// passphrase (no policy, or a policy that keeps one).
///
/// # Errors
/// A policy file that cannot be used.
pub(crate) fn holds_passphrase(selection: &Selection) -> Result<bool, ServiceError> {
    let Ok(data) = selection.installation() else {
        return Ok(true);
    };
    Ok(
        crate::local::encryption_policy::EncryptionPolicy::read(data)?
            .is_none_or(|policy| policy.passphrase),
    )
}
