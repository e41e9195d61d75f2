//! The ways in a rewrap took away from each backup, kept in
//! `data/.backupdesk/retired-ways.json`. Copies of a backup made before
//! its rewrap (off-site, locked for their retention) still open only by
//! the ways in it had then, so a key removed from the policy is reported
//! as still needed for as long as such a copy lasts.
//!
//! Written before the rewrap changes anything (a kill afterwards cannot
//! lose it; a backup whose rewrap then failed is only reported as needing
//! a key it still needs anyway).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::local::layout::DataDir;

/// The ways in one backup lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Retired {
    /// Key ids of public-key packets it no longer has (upper-case hex).
    pub key_ids: Vec<String>,
    /// Whether it no longer has the passphrase's packet.
    pub passphrase: bool,
}

impl Retired {
    /// Whether it lost nothing.
    pub fn is_empty(&self) -> bool {
        self.key_ids.is_empty() && !self.passphrase
    }

    fn merge(&mut self, other: &Retired) {
        for id in &other.key_ids {
            if !self.key_ids.contains(id) {
                self.key_ids.push(id.clone());
            }
        }
        self.key_ids.sort();
        self.passphrase |= other.passphrase;
    }
}

/// Every backup's retired ways in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RetiredWays {
    #[serde(default)]
    pub backups: BTreeMap<String, Retired>,
}

fn path(data: &DataDir) -> std::path::PathBuf {
    data.state().join("retired-ways.json")
}

impl RetiredWays {
    /// The record; a missing or unreadable one reads as empty (it only
    /// adds warnings).
    pub fn load(data: &DataDir) -> Self {
        crate::publish::read_config_text(&path(data))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Adds what each named backup lost (merged with what it lost before).
    ///
    /// # Errors
    /// When the record cannot be written.
    pub(crate) fn note(data: &DataDir, lost: &[(String, Retired)]) -> std::io::Result<()> {
        if lost.iter().all(|(_, r)| r.is_empty()) {
            return Ok(());
        }
        let mut ways = Self::load(data);
        for (name, retired) in lost.iter().filter(|(_, r)| !r.is_empty()) {
            ways.backups.entry(name.clone()).or_default().merge(retired);
        }
        crate::publish::ensure_private_dir(&data.state())?;
        let text = serde_json::to_vec_pretty(&ways).map_err(std::io::Error::other)?;
        crate::publish::write_atomic(&path(data), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_backups_lost_is_merged_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let lost = |ids: &[&str], passphrase| Retired {
            key_ids: ids.iter().map(|s| s.to_string()).collect(),
            passphrase,
        };
        RetiredWays::note(
            &data,
            &[
                ("a.gpg".into(), lost(&["B2"], false)),
                ("b.gpg".into(), lost(&[], false)),
            ],
        )
        .unwrap();
        RetiredWays::note(&data, &[("a.gpg".into(), lost(&["A1", "B2"], true))]).unwrap();
        let ways = RetiredWays::load(&data);
        assert_eq!(ways.backups["a.gpg"], lost(&["A1", "B2"], true));
        assert!(
            !ways.backups.contains_key("b.gpg"),
            "nothing lost, nothing kept"
        );
    }
}
