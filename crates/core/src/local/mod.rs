//! The local layer: one Server Monitor installation on this machine (its
//! layout, catalog, ledger, lock, snapshots) and every operation on it
//! (backup, verify, restore, prune, rotation, health). Uses `format`.

pub mod activity_history;
pub mod activity_log;
pub mod backup;
pub mod catalog;
pub mod demo;
pub mod drill;
pub mod encryption_policy;
pub(crate) mod gnupg_agent;
pub mod health;
pub mod keyring;
pub mod layout;
pub mod ledger;
pub mod lock;
pub mod notify;
pub mod page_cache;
pub mod restore;
pub mod retention;
pub mod rolling;
pub mod rotation;
pub mod schedule;
pub mod snapshot;
pub mod staging;
pub mod surgery;
pub mod verify;
