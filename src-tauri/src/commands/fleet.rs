//! The fleet overview: the cached fleet at once, then every profile read
//! concurrently, each tile streamed to the UI as soon as it is ready.

use std::sync::Arc;

use backupdesk_core::service::fleet::{self, FleetOptions, FleetTile};
use backupdesk_core::service::profiles;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CommandResult, IpcError, blocking, in_context};
use crate::state::Fleet;

/// The fleet as last known (the cache), problems first: instant, offline too.
#[tauri::command]
pub async fn fleet_cached(fleet: State<'_, Fleet>) -> CommandResult<Vec<FleetTile>> {
    let book = profiles::book()?;
    Ok(fleet::cached(&book, fleet.0.cache.as_ref()))
}

/// Reads every profile at once (at most 16 in flight); each tile goes to
/// `on_tile` the moment it is ready; returns them all, problems first. A
/// call while a refresh runs joins it.
#[tauri::command]
pub async fn fleet_refresh(
    on_tile: Channel<FleetTile>,
    fleet: State<'_, Fleet>,
) -> CommandResult<Vec<FleetTile>> {
    let fleet = fleet.inner().0.clone();
    in_context(move |ctx| {
        let book = profiles::book()?;
        let sink: fleet::TileSink = Arc::new(move |tile: &FleetTile| {
            let _ = on_tile.send(tile.clone());
        });
        let (_, tiles) = fleet.refresher.refresh(
            &book,
            &FleetOptions::default(),
            fleet.cache.as_ref(),
            ctx,
            sink,
        );
        Ok(tiles)
    })
    .await
}

/// Reads one profile again (the tile's own refresh button).
#[tauri::command]
pub async fn fleet_refresh_profile(
    profile: String,
    fleet: State<'_, Fleet>,
) -> CommandResult<FleetTile> {
    let fleet = fleet.inner().0.clone();
    in_context(move |ctx| {
        let book = profiles::book()?;
        let entry = book.get(&profile).map_err(IpcError::from_core)?;
        Ok(fleet::refresh_one(
            &profile,
            entry,
            &FleetOptions::default(),
            fleet.cache.as_ref(),
            ctx,
        ))
    })
    .await
}

/// The backup list of `profile` as last read (for a server out of reach),
/// with when; `null` when it was never read.
#[tauri::command]
pub async fn known_backups(
    profile: String,
    fleet: State<'_, Fleet>,
) -> CommandResult<Option<fleet::KnownBackups>> {
    let fleet = fleet.inner().0.clone();
    blocking(move || {
        Ok(fleet
            .cache
            .as_ref()
            .and_then(|c| c.backups(&profile).ok().flatten()))
    })
    .await
}
