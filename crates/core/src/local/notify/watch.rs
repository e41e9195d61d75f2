//! What the notifiers watch, and when they hear of it: each watched thing
//! is failing or not, as the latest job saw it; a notifier hears of a
//! change (it broke, it is back to normal) once, not at every run. The
//! state is kept in `data/.backupdesk/notify-state.json`. Pure apart from
//! reading and writing that file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::local::layout::DataDir;

/// One watched thing (the `kind` of a notification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Watch {
    /// The latest backup attempt.
    Backup,
    /// The backups' verifications (a backup that failed one).
    Verification,
    /// The latest restore drill.
    Drill,
    /// The off-site pushes and checks.
    Offsite,
    /// The newest backup older than the limit.
    Overdue,
    /// The live database's health.
    Health,
    /// The scheduled backup job (missing or disabled).
    Schedule,
}

impl Watch {
    /// In words, for a message: "backup", "off-site copies"…
    pub fn words(self) -> &'static str {
        match self {
            Watch::Backup => "backup",
            Watch::Verification => "verification",
            Watch::Drill => "restore drill",
            Watch::Offsite => "off-site copies",
            Watch::Overdue => "backup age",
            Watch::Health => "database health",
            Watch::Schedule => "scheduled backups",
        }
    }
}

/// What a job saw of one watched thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub watch: Watch,
    /// Why it is failing (`None`: fine).
    pub failing: Option<String>,
    /// The backup it is about, when one.
    pub backup: Option<String>,
}

impl Observed {
    /// `watch` fine.
    pub fn ok(watch: Watch) -> Self {
        Observed {
            watch,
            failing: None,
            backup: None,
        }
    }

    /// `watch` failing, with why.
    pub fn failing(watch: Watch, why: impl Into<String>) -> Self {
        Observed {
            watch,
            failing: Some(why.into()),
            backup: None,
        }
    }
}

/// A change a notifier hears of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub watch: Watch,
    /// `true`: it broke; `false`: it is back to normal.
    pub failing: bool,
    pub message: String,
    pub backup: Option<String>,
}

/// The last known state of each watched thing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchState {
    #[serde(default)]
    failing: BTreeMap<Watch, String>,
    /// Each job's latest run, by its word (`backup`, `verification`,
    /// `drill`): the metrics file's source.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobRun>,
    /// Whether the whole proof held after the latest verification or
    /// drill (`None`: not judged yet: no ping check).
    #[serde(default)]
    pub proof_holds: Option<bool>,
    /// Whether the watched things were read (by a job with notifiers).
    #[serde(default)]
    pub watched: bool,
}

/// A job's latest run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    /// When it last ended (seconds since the epoch).
    pub ended: i64,
    pub ok: bool,
    pub duration_ms: u64,
    /// When it last succeeded (seconds since the epoch).
    pub last_success: Option<i64>,
}

impl WatchState {
    /// The state kept for the installation at `data` (none yet: all fine;
    /// a damaged file reads as none, so a change is said again rather
    /// than never).
    pub fn load(data: &DataDir) -> Self {
        crate::publish::read_config_text(&state_path(data))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Keeps this state.
    ///
    /// # Errors
    /// The state folder cannot be written.
    pub fn save(&self, data: &DataDir) -> std::io::Result<()> {
        crate::publish::ensure_private_dir(&data.state())?;
        let text = serde_json::to_string_pretty(self).expect("serializes");
        crate::publish::write_atomic(&state_path(data), text.as_bytes())
    }

    /// Records a run of job `job` that ended at `ended`.
    pub fn record_job(&mut self, job: &str, ok: bool, took: std::time::Duration, ended: i64) {
        let run = self.jobs.entry(job.to_owned()).or_default();
        run.ended = ended;
        run.ok = ok;
        run.duration_ms = took.as_millis() as u64;
        if ok {
            run.last_success = Some(ended);
        }
    }

    /// Whether `watch` is failing now.
    pub fn is_failing(&self, watch: Watch) -> bool {
        self.failing.contains_key(&watch)
    }

    /// What is failing now, and why.
    pub fn failing(&self) -> impl Iterator<Item = (Watch, &str)> {
        self.failing.iter().map(|(w, m)| (*w, m.as_str()))
    }

    /// Takes in what a job saw; returns the changes (each thing that broke
    /// or came back), in watch order. A thing seen failing again with
    /// another reason is no change.
    pub fn observe(&mut self, seen: &[Observed]) -> Vec<Change> {
        let mut changes = Vec::new();
        for observed in seen {
            let was = self.failing.get(&observed.watch).cloned();
            match (&was, &observed.failing) {
                (None, Some(why)) => {
                    changes.push(Change {
                        watch: observed.watch,
                        failing: true,
                        message: why.clone(),
                        backup: observed.backup.clone(),
                    });
                    self.failing.insert(observed.watch, why.clone());
                }
                (Some(_), Some(why)) => {
                    self.failing.insert(observed.watch, why.clone());
                }
                (Some(before), None) => {
                    changes.push(Change {
                        watch: observed.watch,
                        failing: false,
                        message: format!(
                            "{} back to normal (was: {before})",
                            observed.watch.words()
                        ),
                        backup: observed.backup.clone(),
                    });
                    self.failing.remove(&observed.watch);
                }
                (None, None) => {}
            }
        }
        changes.sort_by_key(|c| c.watch);
        changes
    }
}

fn state_path(data: &DataDir) -> PathBuf {
    data.state().join("notify-state.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_said_once_and_its_recovery_once() {
        let mut state = WatchState::default();
        // Fine from the start: nothing to say.
        assert!(state.observe(&[Observed::ok(Watch::Backup)]).is_empty());
        let broke = state.observe(&[Observed::failing(Watch::Backup, "disk full")]);
        assert_eq!(broke.len(), 1);
        assert!(broke[0].failing && broke[0].message == "disk full");
        // Failing again, even for another reason: said already.
        assert!(
            state
                .observe(&[Observed::failing(Watch::Backup, "still full")])
                .is_empty()
        );
        // Another thing breaks: only it is said.
        let drill = state.observe(&[
            Observed::failing(Watch::Backup, "still full"),
            Observed::failing(Watch::Drill, "altered"),
        ]);
        assert_eq!(
            drill.iter().map(|c| c.watch).collect::<Vec<_>>(),
            [Watch::Drill]
        );
        let back = state.observe(&[Observed::ok(Watch::Backup)]);
        assert_eq!(back.len(), 1);
        assert!(!back[0].failing);
        assert_eq!(back[0].message, "backup back to normal (was: still full)");
        assert!(state.observe(&[Observed::ok(Watch::Backup)]).is_empty());
        assert_eq!(
            state.failing().map(|(w, _)| w).collect::<Vec<_>>(),
            [Watch::Drill]
        );
        // Kept across runs.
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        state.save(&data).unwrap();
        assert_eq!(WatchState::load(&data), state);
    }
}
