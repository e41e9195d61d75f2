//! The commands, one file per area. Each is one delegating call into core
//! (through the helpers of [`crate::state`]); none holds logic of its own.

pub mod backups;
pub mod demo;
pub mod encryption;
pub mod fleet;
pub mod inside;
pub mod inspect;
pub mod offsite;
pub mod operations;
pub mod pick;
pub mod profiles;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod secrets;
