//! Printing: one JSON document on stdout with `--json`, short human lines otherwise.

use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("output serializes")
    );
}

/// `--json`'s envelope: `ok` beside the fields of a core type (flattened),
/// so the shape inside is exactly what the app's command returns.
#[derive(Serialize)]
pub struct Flat<'a, T: Serialize> {
    pub ok: bool,
    #[serde(flatten)]
    pub body: &'a T,
}

/// `--json`'s envelope around one core value under a name of its own
/// (`{"ok", "report": …}`).
#[derive(Serialize)]
pub struct Named<'a, T: Serialize> {
    pub ok: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    #[serde(flatten)]
    pub body: std::collections::BTreeMap<&'static str, &'a T>,
}

/// Prints `{"ok": true, …value's fields}`.
pub fn print_ok<T: Serialize>(value: &T) {
    print_json(&Flat {
        ok: true,
        body: value,
    });
}

/// Prints `value` as the JSON answer with `--json`, else in words with
/// `words`.
pub fn present<T: Serialize>(json: bool, value: &T, words: fn(&T)) {
    if json { print_ok(value) } else { words(value) }
}

/// Prints `{"ok": ok, "<name>": value}`.
pub fn print_named<T: Serialize>(ok: bool, name: &'static str, value: &T) {
    print_json(&Named {
        ok,
        dry_run: false,
        body: [(name, value)].into_iter().collect(),
    });
}

/// Prints `{"ok": true, "dry_run": true, "plan": value}`.
pub fn print_dry_run<T: Serialize>(plan: &T) {
    print_json(&Named {
        ok: true,
        dry_run: true,
        body: [("plan", plan)].into_iter().collect(),
    });
}

/// `--json` of any failure: `{"ok": false, "error": {"kind", "message"}}`.
#[derive(Serialize)]
pub struct FailedJson {
    pub ok: bool,
    pub error: backupdesk_core::model::KindedMessage,
}

/// Shortens a SHA-256 for human output.
pub fn short_hash(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// `println!` for a line that may hold text from elsewhere (a hand-edited
/// profile book, names a store lists): its control characters escaped, so
/// it can neither drive the terminal nor forge a line.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", backupdesk_core::printable::escaped(&format!($($arg)*)))
    };
}
pub(crate) use say;
