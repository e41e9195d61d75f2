//! Test support for Backup Desk's end-to-end tests: a stand-in for the real
//! Server Monitor HTTP API, written from the contract document.

pub mod bench_args;
pub mod bench_timing;
pub mod scan;
pub mod standin;
