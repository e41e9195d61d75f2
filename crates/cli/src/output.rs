//! Printing: one JSON document on stdout with `--json`, short human lines otherwise.

use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("output serializes")
    );
}

/// Shortens a SHA-256 for human output.
pub fn short_hash(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
