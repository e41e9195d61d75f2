//! Alerts from the installation itself (issue 31), so an admin is told
//! when it matters even with the laptop shut: notifiers ([`book`]) hear of
//! each change of what they watch ([`watch`]) once, and of its recovery
//! once; a ping check hears when a scheduled job starts and whether the
//! whole proof holds ([`deliver`]). Every delivery is bounded in time and
//! logged in `logs/notify.log`; none changes a job's outcome.

pub mod book;
pub mod deliver;
pub mod metrics;
pub mod watch;

pub use book::{KeptIn, Notifier, NotifierKind, NotifyBookError, NotifyOn};
pub use deliver::{Delivery, Event, Ping};
pub use watch::{Change, Observed, Watch, WatchState};
