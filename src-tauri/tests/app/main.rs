//! The app's commands on Tauri's mock runtime: one test binary (one link
//! of Tauri and core instead of five), modules grouped by behaviour.

mod common;

mod commands;
mod first_run;
mod remote_restore;
mod secrets;
mod shapes;
