//! The TypeScript bindings in `ui/src/lib/bindings/` are generated from
//! these Rust types with ts-rs and committed. This test fails when they
//! are stale; `BACKUPDESK_BLESS=1 cargo test -p backupdesk-app bindings`
//! (or `make bindings`) rewrites them.

use std::path::{Path, PathBuf};

use ts_rs::TS;

fn export_all(dir: &Path) {
    use backupdesk_core as core;
    macro_rules! export {
        ($($t:ty),* $(,)?) => {
            $(<$t>::export_all_to(dir).expect(concat!("export ", stringify!($t)));)*
        };
    }
    export!(
        crate::error::IpcError,
        crate::progress::ProgressEvent,
        crate::commands::profiles::ProfileEntry,
        core::service::profiles::DemoCreated,
        core::service::profiles::SecretStatus,
        core::fleet::FleetTile,
        core::catalog::ListItem,
        core::target::BackupSummary,
        core::verify::VerifyReport,
        core::target::RestorePlanned,
        core::target::RestoreDone,
        core::health::HealthReport,
        core::health::StorageReport,
        core::retention::RetentionPolicy,
        core::retention::RetentionPlan,
        core::retention::PruneOutcome,
        core::rotation::RotationReport,
        core::schedule::ScheduleStatus,
    );
    // serde_json writes u64 as a JSON number, and every count and size here
    // stays far below 2^53: the UI reads them as `number`, not `bigint`.
    for (name, text) in files(dir) {
        std::fs::write(dir.join(name), text.replace("bigint", "number")).expect("rewrite binding");
    }
}

fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| {
                    let path = e.path();
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    (PathBuf::from(e.file_name()), text)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn bindings_are_current() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings");
    if std::env::var_os("BACKUPDESK_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        export_all(&committed);
        return;
    }
    let fresh = std::env::temp_dir().join(format!("backupdesk-bindings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    export_all(&fresh);
    let (want, have) = (files(&fresh), files(&committed));
    let _ = std::fs::remove_dir_all(&fresh);
    let stale: Vec<String> = want
        .iter()
        .filter(|w| !have.contains(w))
        .map(|w| w.0.display().to_string())
        .chain(
            have.iter()
                .filter(|h| !want.iter().any(|w| w.0 == h.0))
                .map(|h| format!("{} (no longer generated)", h.0.display())),
        )
        .collect();
    assert!(
        stale.is_empty(),
        "ui/src/lib/bindings is stale ({stale:?}): run `make bindings` and commit the result"
    );
}
