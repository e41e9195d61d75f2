//! What happened to an installation: its activity log, the same entries
//! for the CLI's `activity` and the app's Activity screen.

use crate::model::{ActivityPage, ActivityQuery};
use crate::service::{Selection, ServiceError};

/// The selection's activity that `query` asks for, newest first: read
/// from the folder's logs, or by the engine over SSH.
///
/// # Errors
/// A missing data folder; a server reached through its API only (it keeps
/// no log it hands out: `remote_unsupported`); SSH failures.
pub fn read(selection: &Selection, query: &ActivityQuery) -> Result<ActivityPage, ServiceError> {
    selection.require_existing()?;
    Ok(selection.target().activity(query)?)
}
