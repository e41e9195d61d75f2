//! The record of an unfinished rotation: `data/.backupdesk/rotation.json`,
//! written before each backup is rewritten and after, removed when the
//! rotation is finished; what every screen reads to say "rotation in
//! progress: N of M".

use serde::{Deserialize, Serialize};

use crate::local::layout::DataDir;
use crate::publish::write_atomic;

/// Where an unfinished rotation stands, kept in
/// `data/.backupdesk/rotation.json` from its first change to its last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RotationState {
    pub stage: RotationStage,
    /// Backups done in this stage.
    pub done: u32,
    /// Backups this stage has to do.
    pub total: u32,
    /// The backup being rewritten (its `.meta` is repaired from this if a
    /// run was killed between its two renames).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
}

/// The stage of an unfinished rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RotationStage {
    /// The new passphrase is being added: both are needed.
    Adding,
    /// Every backup opens with the new passphrase; the old one is being
    /// removed.
    Removing,
    /// The backups' key packets are being rewritten to the encryption
    /// policy; each opens under the old ways in or the new.
    Rewrapping,
}

impl RotationState {
    /// In words: "rotation in progress: the new passphrase added to 3 of
    /// 6 backups".
    pub fn words(&self) -> String {
        match self.stage {
            RotationStage::Adding => format!(
                "rotation in progress: the new passphrase added to {} of {} backups (both \
                 passphrases stay stored until all open with the new one)",
                self.done, self.total
            ),
            RotationStage::Removing => format!(
                "rotation in progress: the old passphrase removed from {} of {} backups",
                self.done, self.total
            ),
            RotationStage::Rewrapping => format!(
                "rewrap in progress: {} of {} backups given the encryption policy's ways in \
                 (each opens under its old ways in or the new)",
                self.done, self.total
            ),
        }
    }
}

/// The state of an unfinished rotation of `data`, if there is one (an
/// unreadable record counts as one, at 0 of 0).
pub fn in_progress(data: &DataDir) -> Option<RotationState> {
    let path = state_path(data);
    let text = crate::publish::read_config_text(&path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or(RotationState {
        stage: RotationStage::Adding,
        done: 0,
        total: 0,
        current: None,
    }))
}

pub(super) fn state_path(data: &DataDir) -> std::path::PathBuf {
    data.state().join("rotation.json")
}

pub(super) fn record(data: &DataDir, state: &RotationState) -> Result<(), std::io::Error> {
    crate::publish::ensure_private_dir(&data.state())?;
    let json = serde_json::to_string(state).map_err(std::io::Error::other)?;
    write_atomic(&state_path(data), json.as_bytes())
}

pub(super) fn finish_record(data: &DataDir) {
    let _ = std::fs::remove_file(state_path(data));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_rotation_is_in_progress_until_its_record_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        assert_eq!(in_progress(&data), None);
        let state = RotationState {
            stage: RotationStage::Adding,
            done: 3,
            total: 6,
            current: Some("servers_db_20261203_020000.db.gpg".into()),
        };
        record(&data, &state).unwrap();
        assert_eq!(in_progress(&data), Some(state.clone()));
        assert!(
            state
                .words()
                .contains("the new passphrase added to 3 of 6 backups")
        );
        std::fs::write(state_path(&data), b"{not json").unwrap();
        let damaged =
            in_progress(&data).expect("a damaged record still says a rotation is under way");
        assert_eq!((damaged.done, damaged.total), (0, 0));
        finish_record(&data);
        assert_eq!(in_progress(&data), None);
    }
}
