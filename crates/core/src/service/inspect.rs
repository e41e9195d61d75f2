//! What an installation is made of: its database's health and its storage,
//! in Server Monitor's answer shapes (`GET /api/database/health`,
//! `/storage`), read where the installation is (a folder, the engine over
//! SSH, the server's API). The CLI's `health` and `storage` and the app's
//! Health and Storage screens call these.

use crate::context::OperationContext;
use crate::model::{HealthReport, StorageReport};
use crate::service::{Selection, ServiceError};

/// The database's integrity, foreign-key errors and tables with their
/// rows. A database that cannot be checked is a report that says so
/// (`HealthReport::Failed`), not an error.
///
/// # Errors
/// The target cannot be reached (a server, SSH).
pub fn health(
    selection: &Selection,
    ctx: &OperationContext<'_>,
) -> Result<HealthReport, ServiceError> {
    Ok(selection.target().health(ctx)?)
}

/// The sizes of the database, the backups and the data folder.
///
/// # Errors
/// The target cannot be reached or measured.
pub fn storage(selection: &Selection) -> Result<StorageReport, ServiceError> {
    Ok(selection.target().storage()?)
}
