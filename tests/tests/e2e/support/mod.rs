//! Shared fixtures of the end-to-end tests, one file per concern.

mod contract;
mod cron;
mod gpg;
mod history;
mod installation;
mod limits;
mod moto;
mod sessions;
mod sink;
mod sqlite;
mod sshd;

pub use backupdesk_e2e::scan::{files_holding, files_holding_below};
pub use contract::*;
pub use cron::*;
pub use gpg::*;
pub use history::*;
pub use installation::*;
pub use limits::*;
pub use moto::*;
pub use sessions::*;
pub use sink::*;
pub use sqlite::*;
pub use sshd::*;
