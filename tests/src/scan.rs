//! Looking for what must never be on disk.

use std::path::{Path, PathBuf};

/// Every file under `root` whose bytes contain `secret` (a passphrase
/// that must never be written anywhere).
pub fn files_holding(root: &Path, secret: &str) -> Vec<PathBuf> {
    files_holding_below(root, secret, u64::MAX)
}

/// [`files_holding`] among the files smaller than `limit` bytes (a tree
/// that holds an executable of hundreds of MiB, which no secret is
/// written into).
pub fn files_holding_below(root: &Path, secret: &str, limit: u64) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::metadata(&path).is_ok_and(|m| m.len() < limit)
                && std::fs::read(&path)
                    .is_ok_and(|bytes| bytes.windows(secret.len()).any(|w| w == secret.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}
