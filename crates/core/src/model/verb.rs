//! What each verb does to an installation, declared once and matched
//! exhaustively (no wildcard): a new verb does not compile until it says
//! whether it only reads, whether it destroys, and which passphrase it
//! needs. The CLI (its verbs, its SSH relay) and the SSH target the app's
//! commands run through all read this one table.

/// What a passphrase is for: a new backup's (a prompt asks twice), or
/// reading existing ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphraseUse {
    /// Encrypting a new backup.
    NewBackup,
    /// Decrypting existing backups.
    Reading,
}

/// How a verb touches the installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only: over SSH it runs attached (nothing to resume).
    ReadsOnly,
    /// Changes something: over SSH it runs detached and is recorded on the
    /// admin's machine until its answer arrived.
    Changes,
    /// Deletes or overwrites what cannot be had back: confirmed first,
    /// and run like a change.
    Destroys,
}

impl Effect {
    /// Whether it runs detached over SSH (everything but a read).
    pub const fn runs_detached(self) -> bool {
        !matches!(self, Effect::ReadsOnly)
    }
}

/// A verb's effect and the passphrase it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerbTraits {
    pub effect: Effect,
    /// `None`: no passphrase is read or sent.
    pub passphrase: Option<PassphraseUse>,
}

/// Every verb an installation answers, as a closed set (a dry run is a
/// verb of its own: it only reads what its real run destroys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerbKind {
    Backup,
    List,
    Activity,
    Health,
    Storage,
    Verify,
    Drill,
    Fleet,
    RestorePlan,
    Restore,
    PrunePlan,
    Prune,
    Delete,
    Pin,
    Unpin,
    Demo,
    Profile,
    Login,
    PassphraseSet,
    PassphraseForget,
    PassphraseTest,
    PassphraseRotate,
    ScheduleInstall,
    ScheduleRemove,
    ScheduleStatus,
    /// This machine's jobs that prove an SSH profile's backups.
    ScheduleProve,
    Offsite,
    /// The installation's notifiers.
    Notify,
    /// Looking inside a backup (tables, query, diff).
    Inspect,
    /// Looking inside the live database only.
    InspectLive,
    /// The installation's encryption policy, shown.
    EncryptionShow,
    /// The installation's encryption policy, set.
    EncryptionSet,
    /// Backups given the encryption policy's ways in (key packets only).
    EncryptionRewrap,
    /// The admin's own keys (made and kept on this machine).
    Key,
}

impl VerbKind {
    /// The verb's traits: the one table.
    pub const fn traits(self) -> VerbTraits {
        use Effect::*;
        use PassphraseUse::*;
        let (effect, passphrase) = match self {
            VerbKind::Backup => (Changes, Some(NewBackup)),
            VerbKind::List | VerbKind::Activity | VerbKind::Health | VerbKind::Storage => {
                (ReadsOnly, None)
            }
            VerbKind::Verify | VerbKind::Drill => (Changes, Some(Reading)),
            VerbKind::Fleet => (ReadsOnly, None),
            VerbKind::RestorePlan => (ReadsOnly, Some(Reading)),
            VerbKind::Restore => (Destroys, Some(Reading)),
            VerbKind::PrunePlan => (ReadsOnly, None),
            VerbKind::Prune | VerbKind::Delete => (Destroys, None),
            VerbKind::Pin | VerbKind::Unpin => (Changes, None),
            VerbKind::Demo | VerbKind::Profile | VerbKind::Login => (Changes, None),
            VerbKind::PassphraseSet | VerbKind::PassphraseForget => (Changes, None),
            VerbKind::PassphraseTest | VerbKind::PassphraseRotate => (Changes, Some(Reading)),
            VerbKind::ScheduleInstall | VerbKind::ScheduleRemove | VerbKind::ScheduleProve => {
                (Changes, None)
            }
            VerbKind::ScheduleStatus => (ReadsOnly, None),
            VerbKind::Offsite | VerbKind::Notify => (Changes, None),
            VerbKind::Inspect => (ReadsOnly, Some(Reading)),
            VerbKind::InspectLive => (ReadsOnly, None),
            VerbKind::EncryptionShow => (ReadsOnly, None),
            VerbKind::EncryptionSet | VerbKind::Key => (Changes, None),
            VerbKind::EncryptionRewrap => (Changes, Some(Reading)),
        };
        VerbTraits { effect, passphrase }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_destroys_is_never_read_only_and_decrypting_verbs_need_the_passphrase() {
        assert_eq!(VerbKind::Restore.traits().effect, Effect::Destroys);
        assert_eq!(VerbKind::RestorePlan.traits().effect, Effect::ReadsOnly);
        assert!(Effect::Destroys.runs_detached() && !Effect::ReadsOnly.runs_detached());
        for verb in [VerbKind::Verify, VerbKind::Drill, VerbKind::Restore] {
            assert_eq!(verb.traits().passphrase, Some(PassphraseUse::Reading));
        }
        assert_eq!(
            VerbKind::Backup.traits().passphrase,
            Some(PassphraseUse::NewBackup)
        );
        assert_eq!(VerbKind::Delete.traits().passphrase, None);
    }
}
