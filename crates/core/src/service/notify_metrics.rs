//! The installation's metrics file (issue 31): after each job, its state
//! in Prometheus' text format at `<root>/logs/backupdesk.prom`, for
//! node_exporter's textfile collector (link it into the collector's
//! folder). Written whole beside it and renamed (never half written), mode
//! 0644 (the collector runs as its own user; nothing secret is in it).

use std::io::Write;
use std::path::Path;

use crate::context::OperationContext;
use crate::local::layout::DataDir;
use crate::local::notify::metrics::{Family, render};
use crate::local::notify::{Watch, WatchState};
use crate::model::ListItem;
use crate::service::Selection;

/// Writes the metrics file of the installation at `data`; a failure is
/// logged, never the job's.
pub(crate) fn write(
    selection: &Selection,
    data: &DataDir,
    state: &WatchState,
    _ctx: &OperationContext<'_>,
) {
    let list = selection.target().list().unwrap_or_default();
    let text = render(&families(&data.root().display().to_string(), &list, state));
    let path = data.logs().join("backupdesk.prom");
    if let Err(e) = publish(&path, &text) {
        tracing::warn!("the metrics file {} cannot be written: {e}", path.display());
    }
}

/// What the file says of the installation `installation`.
fn families(installation: &str, list: &[ListItem], state: &WatchState) -> Vec<Family> {
    let at = [("installation", installation)];
    let regular: Vec<&ListItem> = list.iter().filter(|b| !b.kind.is_pre_restore()).collect();
    let mut families = vec![
        Family::new(
            "backupdesk_backups",
            "Backups kept (pre-restore copies included).",
        )
        .with(&at, list.len() as f64),
        Family::new("backupdesk_backup_bytes", "Bytes of all backups.")
            .with(&at, list.iter().map(|b| b.size as f64).sum()),
    ];
    if let Some(newest) = regular.first() {
        let taken = newest
            .taken_at
            .and_local_timezone(chrono::Local)
            .earliest()
            .map_or(0.0, |t| t.timestamp() as f64);
        families.push(
            Family::new(
                "backupdesk_newest_backup_timestamp_seconds",
                "When the newest regular backup was taken.",
            )
            .with(&at, taken),
        );
        families.push(
            Family::new(
                "backupdesk_newest_backup_bytes",
                "Size of the newest regular backup.",
            )
            .with(&at, newest.size as f64),
        );
    }
    families.extend(job_families(installation, state));
    if state.watched {
        let mut failing = Family::new(
            "backupdesk_failing",
            "1 when the watched thing is failing (as the notifiers were told).",
        );
        for watch in [
            Watch::Backup,
            Watch::Verification,
            Watch::Drill,
            Watch::Offsite,
            Watch::Overdue,
            Watch::Health,
            Watch::Schedule,
        ] {
            let kind = format!("{watch:?}").to_lowercase();
            let value = f64::from(u8::from(state.is_failing(watch)));
            failing.push(&[("installation", installation), ("kind", &kind)], value);
        }
        families.push(failing);
    }
    if let Some(holds) = state.proof_holds {
        families.push(
            Family::new(
                "backupdesk_proof_holds",
                "1 when the whole proof held after the latest verification or drill.",
            )
            .with(&at, f64::from(u8::from(holds))),
        );
    }
    families
}

/// Each job's latest run.
fn job_families(installation: &str, state: &WatchState) -> Vec<Family> {
    let mut ended = Family::new(
        "backupdesk_job_last_run_timestamp_seconds",
        "When the job last ended.",
    );
    let mut ok = Family::new(
        "backupdesk_job_ok",
        "1 when the job's latest run succeeded.",
    );
    let mut success = Family::new(
        "backupdesk_job_last_success_timestamp_seconds",
        "When the job last succeeded.",
    );
    let mut took = Family::new(
        "backupdesk_job_duration_seconds",
        "How long the job's latest run took.",
    );
    for (job, run) in &state.jobs {
        let labels = [("installation", installation), ("job", job.as_str())];
        ended.push(&labels, run.ended as f64);
        ok.push(&labels, f64::from(u8::from(run.ok)));
        took.push(&labels, run.duration_ms as f64 / 1000.0);
        if let Some(at) = run.last_success {
            success.push(&labels, at as f64);
        }
    }
    vec![ended, ok, success, took]
}

/// `text` at `path`: written beside it, 0644, synced, renamed.
fn publish(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".backupdesk.prom.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
