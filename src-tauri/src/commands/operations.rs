//! Cancelling a running operation.

use tauri::State;

use crate::state::Operations;

/// Asks operation `id` to stop; false when it is not running (any more).
/// A backup stops and leaves nothing behind; a restore stops only before
/// its swap begins.
#[tauri::command]
pub fn cancel_operation(id: String, operations: State<'_, Operations>) -> bool {
    operations.cancel(&id)
}
