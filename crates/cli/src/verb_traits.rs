//! Each CLI verb as one of core's [`VerbKind`]s, matched exhaustively (no
//! wildcard): a new verb does not compile until it names its kind, and
//! core's one table says what that kind does (reads, changes, destroys;
//! which passphrase). The SSH relay runs by these.

use backupdesk_core::model::{VerbKind, VerbTraits};

use crate::args::{EncryptionVerb, PassphraseVerb, ScheduleVerb, Verb};

/// The kind of `verb` (a dry run is a kind of its own: it only reads).
pub fn kind_of(verb: &Verb) -> VerbKind {
    match verb {
        Verb::Backup(_) => VerbKind::Backup,
        Verb::List => VerbKind::List,
        Verb::Activity(_) => VerbKind::Activity,
        Verb::Health => VerbKind::Health,
        Verb::Storage => VerbKind::Storage,
        Verb::Verify(_) => VerbKind::Verify,
        Verb::Drill(_) => VerbKind::Drill,
        Verb::Fleet(_) => VerbKind::Fleet,
        Verb::Restore(args) if args.dry_run => VerbKind::RestorePlan,
        Verb::Restore(_) => VerbKind::Restore,
        Verb::Prune(args) if args.dry_run => VerbKind::PrunePlan,
        Verb::Prune(_) => VerbKind::Prune,
        Verb::Delete(_) => VerbKind::Delete,
        Verb::Pin(_) => VerbKind::Pin,
        Verb::Unpin(_) => VerbKind::Unpin,
        Verb::Demo(_) => VerbKind::Demo,
        Verb::Profile(_) => VerbKind::Profile,
        Verb::Login(_) => VerbKind::Login,
        Verb::Passphrase(p) => match p {
            PassphraseVerb::Set => VerbKind::PassphraseSet,
            PassphraseVerb::Forget => VerbKind::PassphraseForget,
            PassphraseVerb::Test => VerbKind::PassphraseTest,
            PassphraseVerb::Rotate(_) => VerbKind::PassphraseRotate,
        },
        Verb::Schedule(s) => match s {
            ScheduleVerb::Install(_) => VerbKind::ScheduleInstall,
            ScheduleVerb::Remove => VerbKind::ScheduleRemove,
            ScheduleVerb::Status => VerbKind::ScheduleStatus,
            ScheduleVerb::Prove(_) => VerbKind::ScheduleProve,
        },
        Verb::Offsite(_) => VerbKind::Offsite,
        Verb::Encryption(EncryptionVerb::Show) => VerbKind::EncryptionShow,
        Verb::Encryption(EncryptionVerb::Set(_)) => VerbKind::EncryptionSet,
        Verb::Encryption(EncryptionVerb::Rewrap(_)) => VerbKind::EncryptionRewrap,
        Verb::Key(_) => VerbKind::Key,
        Verb::Notify(_) => VerbKind::Notify,
        Verb::Tables(args) if args.live => VerbKind::InspectLive,
        Verb::Query(args) if args.live => VerbKind::InspectLive,
        Verb::Tables(_) | Verb::Query(_) | Verb::Diff(_) | Verb::Changes(_) => VerbKind::Inspect,
    }
}

/// The traits of `verb`, from core's table.
pub fn of(verb: &Verb) -> VerbTraits {
    kind_of(verb).traits()
}
