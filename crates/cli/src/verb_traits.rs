//! What each verb does to an installation, declared once per verb and
//! matched exhaustively (no wildcard): a new verb does not compile until it
//! says whether it only reads, whether it destroys, and which passphrase it
//! needs. The SSH relay runs by these.

use crate::args::{PassphraseVerb, ScheduleVerb, Verb};
use crate::passphrase::Purpose;

/// How a verb touches the installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only: over SSH it runs attached (nothing to resume).
    ReadsOnly,
    /// Changes something: over SSH it runs detached and is recorded here
    /// until its answer arrived.
    Changes,
    /// Deletes or overwrites what cannot be had back: confirmed first.
    Destroys,
}

/// A verb's effect and the passphrase it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerbTraits {
    pub effect: Effect,
    /// `None`: no passphrase is read or sent.
    pub passphrase: Option<Purpose>,
}

impl VerbTraits {
    const fn new(effect: Effect, passphrase: Option<Purpose>) -> Self {
        VerbTraits { effect, passphrase }
    }
}

/// The traits of `verb` (a dry run only reads what its real run destroys,
/// but runs as a change over SSH, as it always did).
pub fn of(verb: &Verb) -> VerbTraits {
    use Effect::*;
    use Purpose::*;
    let destroys_unless = |dry_run: bool| if dry_run { Changes } else { Destroys };
    match verb {
        Verb::Backup(_) => VerbTraits::new(Changes, Some(Encrypt)),
        Verb::List | Verb::Activity(_) | Verb::Health | Verb::Storage => {
            VerbTraits::new(ReadsOnly, None)
        }
        Verb::Verify(_) | Verb::Drill(_) => VerbTraits::new(Changes, Some(Decrypt)),
        Verb::Fleet(_) => VerbTraits::new(ReadsOnly, None),
        Verb::Restore(args) => VerbTraits::new(destroys_unless(args.dry_run), Some(Decrypt)),
        Verb::Prune(args) => VerbTraits::new(destroys_unless(args.dry_run), None),
        Verb::Delete(_) => VerbTraits::new(Destroys, None),
        Verb::Pin(_) | Verb::Unpin(_) => VerbTraits::new(Changes, None),
        Verb::Demo(_) | Verb::Profile(_) | Verb::Login(_) => VerbTraits::new(Changes, None),
        Verb::Passphrase(p) => match p {
            PassphraseVerb::Set | PassphraseVerb::Forget => VerbTraits::new(Changes, None),
            PassphraseVerb::Test | PassphraseVerb::Rotate(_) => {
                VerbTraits::new(Changes, Some(Decrypt))
            }
        },
        Verb::Schedule(s) => match s {
            ScheduleVerb::Install(_) | ScheduleVerb::Remove => VerbTraits::new(Changes, None),
            ScheduleVerb::Status => VerbTraits::new(ReadsOnly, None),
        },
        Verb::Offsite(_) => VerbTraits::new(Changes, None),
    }
}
