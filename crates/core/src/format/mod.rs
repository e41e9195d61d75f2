//! The format layer: what a backup *is*, with no data directory in sight:
//! names, `.meta`, OpenPGP encryption, hashing, parallel deflate, sizes in
//! words. Pure or stream-in/stream-out; depends on nothing else of core
//! but the foundation (`clock`, `progress`, `model`).

pub mod crypto;
pub mod hashing;
pub mod human;
pub mod key_packets;
pub mod meta;
pub mod name;
pub mod parallel_deflate;
pub mod secret_frame;
