//! The types the shells and the UI see (exported to TypeScript with the
//! `ts` feature).

mod error_kind;

pub use error_kind::ErrorKind;
