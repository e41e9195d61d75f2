//! End-to-end tests of Backup Desk: the `backupdesk` binary on real data
//! directories, with the real `gpg` and real SQLite files. One test binary;
//! modules group tests by behaviour.

mod support;

mod activity;
mod cancel;
mod cli;
mod drill;
mod encryption;
mod fleet;
mod gpg_interop;
mod gui;
mod health;
mod hostile;
mod keychain;
mod no_secret_server;
mod notify;
mod offsite;
mod offsite_sftp;
mod remote;
mod remote_restore;
mod restore;
mod retention;
mod rewrap;
mod rotation;
mod schedule;
mod snapshot_load;
mod ssh;
mod surgery;
