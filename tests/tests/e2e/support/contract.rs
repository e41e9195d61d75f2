//! The server's contract fixtures and JSON shape comparison.

use std::path::Path;

#[allow(unused_imports)]
use super::*;

/// Whether `ours` has exactly the keys of `fixture`, recursively, with the
/// same JSON types (arrays compared by their first element).
pub fn same_shape(
    ours: &serde_json::Value,
    fixture: &serde_json::Value,
    path: &str,
) -> Result<(), String> {
    use serde_json::Value;
    match (ours, fixture) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: std::collections::BTreeSet<_> = a.keys().collect();
            let kb: std::collections::BTreeSet<_> = b.keys().collect();
            if ka != kb {
                return Err(format!("{path}: keys {ka:?} but the contract has {kb:?}"));
            }
            for key in kb {
                same_shape(&a[key], &b[key], &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => same_shape(x, y, &format!("{path}[0]")),
            _ => Ok(()),
        },
        // Unknown on one side (null) is compatible with any type.
        (Value::Null, _) | (_, Value::Null) => Ok(()),
        (Value::Number(a), Value::Number(b)) if a.is_f64() == b.is_f64() => Ok(()),
        (Value::String(_), Value::String(_)) | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        _ => Err(format!(
            "{path}: {ours} has another type than the contract's {fixture}"
        )),
    }
}

/// A contract fixture from `tests/fixtures/contract/`.
pub fn contract(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/contract")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}
