//! Backup Desk's desktop shell: thin Tauri commands over `backupdesk-core`,
//! one file per area under [`commands`]. Long operations stream progress
//! over a `tauri::ipc::Channel` and can be cancelled; every error reaches
//! the UI as `{kind, message}` ([`error::IpcError`]).

pub mod commands;
pub mod error;
mod logging;
pub mod progress;
pub mod state;
mod window_place;

#[cfg(test)]
mod bindings;

/// Declares the commands once: the handler Tauri registers and
/// [`COMMANDS`], the names the UI may invoke (exported to TypeScript as the
/// `Command` type, so a call to a command that does not exist fails `tsc`).
macro_rules! commands {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// Every command the UI may invoke, by name.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            use commands::*;
            tauri::generate_handler![$($module::$name),*]
        }
    };
}

commands!(
    profiles::list_profiles,
    profiles::add_local_profile,
    profiles::add_remote_profile,
    profiles::add_ssh_profile,
    profiles::install_engine,
    profiles::remove_profile,
    demo::demo_defaults,
    demo::create_demo,
    pick::pick_folder,
    pick::pick_file,
    fleet::fleet_cached,
    fleet::fleet_refresh,
    fleet::fleet_refresh_profile,
    fleet::known_backups,
    backups::list_backups,
    backups::backup_now,
    backups::verify_backup,
    backups::drill_backup,
    backups::set_pinned,
    backups::delete_backup,
    restore::plan_restore,
    restore::restore_backup,
    inside::open_inside,
    inside::inside_page,
    inside::inside_query,
    inside::compare_inside,
    inside::close_inside,
    inside::restore_rows,
    inspect::database_health,
    inspect::storage_report,
    inspect::activity,
    retention::retention_policy,
    retention::preview_retention,
    retention::apply_retention,
    secrets::secret_status,
    secrets::kept_in_session,
    secrets::set_passphrase,
    secrets::test_passphrase,
    secrets::forget_passphrase,
    secrets::recovery_sheet,
    secrets::rotate_passphrase,
    secrets::login,
    secrets::logout,
    encryption::encryption_policy,
    encryption::rewrap_backups,
    encryption::set_encryption_policy,
    encryption::create_key,
    schedule::schedule_status,
    schedule::install_schedule,
    schedule::remove_schedule,
    offsite::offsite_overview,
    offsite::add_offsite_location,
    offsite::remove_offsite_location,
    offsite::test_offsite_location,
    offsite::push_offsite,
    offsite::verify_offsite,
    offsite::offsite_copies,
    offsite::fetch_offsite,
    operations::cancel_operation,
);

/// Registers the plugins, state and commands on `builder` (the real
/// runtime in [`run`], the mock runtime in tests).
pub fn app<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .manage(state::Operations::default())
        .manage(state::Fleet::default())
        .manage(state::Session::default())
        .manage(state::Inside::default())
        .invoke_handler(handler())
}

/// Starts the app.
pub fn run() {
    logging::init_stderr_logging();
    // A backup opened for looking inside when the app was killed left its
    // checked copy in staging: removed now, beside the window's start.
    std::thread::spawn(|| {
        match backupdesk_core::service::profile_book::remove_staged_leftovers() {
            Ok(0) => {}
            Ok(n) => tracing::info!("removed {n} staged copies left by an earlier run"),
            Err(e) => tracing::warn!("staged copies of an earlier run not removed: {e}"),
        }
    });
    app(tauri::Builder::default())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(window_place::plugin())
        .on_window_event(window_place::on_window_event)
        .run(tauri::generate_context!())
        .expect("error while running Backup Desk");
}
