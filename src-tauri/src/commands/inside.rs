//! Looking inside a backup or the live database (tables, a page of a
//! table, a read-only query), comparing two opened sources, and restoring
//! some rows of a backup (planned first, then confirmed by typing the
//! profile name; undone the same way from its `prerestore_rows_` backup).

use backupdesk_core::local::surgery::{
    DiffOptions, DiffReport, PageRequest, PartialOptions, QueryLimits, QueryResult, TableInfo,
    TablePage,
};
use backupdesk_core::service::surgery::{self, RowsOutcome, Source};
use backupdesk_core::service::{Selection, StoredPassphrase, profiles};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CommandResult, IpcError, blocking, operation};
use crate::progress::ProgressEvent;
use crate::state::{Inside, Operations, Session};

/// A source opened for looking inside: the id later commands name it by.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct InsideOpened {
    pub id: String,
    /// The backup's name, or `live`.
    pub source: String,
    pub tables: Vec<TableInfo>,
}

/// Opens backup `name` (decrypted and checked into the private staging
/// folder, as a deep verification does; operation `op`) or, without a
/// name, the live database read-only.
#[tauri::command]
// Each parameter is a named field of the command's IPC contract or a
// state Tauri injects; grouping them would change what the UI sends.
#[allow(clippy::too_many_arguments)]
pub async fn open_inside(
    profile: String,
    name: Option<String>,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
    inside: State<'_, Inside>,
) -> CommandResult<InsideOpened> {
    let (session, inside) = (session.inner().clone(), inside.inner().clone());
    operation(&operations, op, on_progress, move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        let source = name.map_or(Source::Live, Source::Backup);
        let passphrases = StoredPassphrase::new(&selection, ctx).with_session(&session.0);
        let (opened, report) = surgery::open_source(&selection, &source, &passphrases, ctx)?;
        Ok(InsideOpened {
            id: inside.keep(opened),
            source: report.source,
            tables: report.tables,
        })
    })
    .await
}

/// One page of a table of opened source `id`: sorted, filtered, counted.
#[tauri::command]
pub async fn inside_page(
    id: String,
    request: PageRequest,
    inside: State<'_, Inside>,
) -> CommandResult<TablePage> {
    let opened = inside.get(&id)?;
    blocking(move || {
        let opened = opened.lock().unwrap_or_else(|e| e.into_inner());
        Ok(surgery::page(&opened, &request)?)
    })
    .await
}

/// One read-only statement on opened source `id` (at most 1000 rows, 30 s).
#[tauri::command]
pub async fn inside_query(
    id: String,
    sql: String,
    inside: State<'_, Inside>,
) -> CommandResult<QueryResult> {
    let opened = inside.get(&id)?;
    blocking(move || {
        let opened = opened.lock().unwrap_or_else(|e| e.into_inner());
        Ok(surgery::query_opened(
            &opened,
            &sql,
            QueryLimits::default(),
        )?)
    })
    .await
}

/// Compares opened source `old` with opened source `new`.
#[tauri::command]
pub async fn compare_inside(
    old: String,
    new: String,
    options: DiffOptions,
    inside: State<'_, Inside>,
) -> CommandResult<DiffReport> {
    if old == new {
        return Err(IpcError::new(
            backupdesk_core::ErrorKind::InvalidName,
            "a source compared with itself has no differences: choose another",
        ));
    }
    let (old, new) = (inside.get(&old)?, inside.get(&new)?);
    blocking(move || {
        let old = old.lock().unwrap_or_else(|e| e.into_inner());
        let new = new.lock().unwrap_or_else(|e| e.into_inner());
        Ok(surgery::compare(&old, &new, &options)?)
    })
    .await
}

/// Closes opened source `id` (a backup's staged copy is removed); false
/// when it was not open.
#[tauri::command]
pub async fn close_inside(id: String, inside: State<'_, Inside>) -> CommandResult<bool> {
    let inside = inside.inner().clone();
    blocking(move || Ok(inside.close(&id))).await
}

/// Restores `options` of backup `name` into the profile's live database
/// (or, `name` a `prerestore_rows_` backup and no tables, undoes that
/// restore); with `dry_run` only its plan. Done only after the admin typed
/// the profile name as `confirmation`.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn restore_rows(
    profile: String,
    name: String,
    options: PartialOptions,
    dry_run: bool,
    confirmation: String,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
) -> CommandResult<RowsOutcome> {
    let session = session.inner().clone();
    operation(&operations, op, on_progress, move |ctx| {
        Ok(profiles::restore_rows(
            &profile,
            &name,
            &options,
            dry_run,
            &confirmation,
            &session.0,
            ctx,
        )?)
    })
    .await
}
