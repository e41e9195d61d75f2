use super::*;
use crate::model::HealthFailure;

fn health(tables: &[(&str, u64)], size: u64) -> HealthReport {
    HealthReport::Checked(Health {
        healthy: true,
        integrity_check: "passed".into(),
        size,
        size_human: format!("{size} B"),
        tables: tables.len() as u64,
        table_details: tables
            .iter()
            .map(|(n, r)| TableRows {
                name: (*n).into(),
                rows: *r,
            })
            .collect(),
        page_count: size / 4096,
        page_size: 4096,
        foreign_key_errors: 0,
        last_checked: "2026-12-01T10:00:00.000000".into(),
    })
}

fn fp(h: &HealthReport) -> ContentFingerprint {
    match h {
        HealthReport::Checked(h) => ContentFingerprint::of(h),
        HealthReport::Failed(_) => unreachable!(),
    }
}

const MB: u64 = 1 << 20;

fn live() -> HealthReport {
    health(
        &[("alerts", 900), ("servers", 40), ("history", 20_000)],
        8 * MB,
    )
}
fn backup() -> HealthReport {
    health(
        &[("alerts", 400), ("servers", 30), ("history", 14_000)],
        6 * MB,
    )
}
fn dropped() -> ServerAnswer {
    ServerAnswer::Dropped
}

fn verdict(
    answer: &ServerAnswer,
    record: Option<&HealthReport>,
    after: &HealthReport,
) -> RemoteRestoreOutcome {
    let record = record.map(fp);
    judge(
        &RestoreEvidence {
            before: &live(),
            answer,
            backup: record.as_ref(),
        },
        after,
    )
}

#[test]
fn the_backup_in_place_is_restored_with_or_without_a_record() {
    let after = health(
        &[("alerts", 400), ("servers", 30), ("history", 14_012)],
        6 * MB,
    );
    let with = verdict(&dropped(), Some(&backup()), &after);
    assert!(
        matches!(
            with,
            RemoteRestoreOutcome::Restored {
                evidence: Evidence::BackupRecord,
                ..
            }
        ),
        "{with:?}"
    );
    let without = verdict(&dropped(), None, &after);
    assert!(
        matches!(
            without,
            RemoteRestoreOutcome::Restored {
                evidence: Evidence::BeforeOnly,
                ..
            }
        ),
        "{without:?}"
    );
}

#[test]
fn a_500_is_never_success() {
    let answer = ServerAnswer::Answered {
        status: 500,
        message: "Restore failed: unable to open database".into(),
    };
    let unchanged = verdict(&answer, Some(&backup()), &live());
    assert!(
        matches!(unchanged, RemoteRestoreOutcome::NotRestored { .. }),
        "{unchanged:?}"
    );
    assert!(unchanged.detail().contains("unable to open database"));
    let changed = verdict(&answer, Some(&backup()), &backup());
    assert!(
        matches!(changed, RemoteRestoreOutcome::Unverified { .. }),
        "{changed:?}"
    );
}

#[test]
fn an_unchanged_database_after_a_dropped_connection_is_not_restored_or_unverified() {
    let with = verdict(&dropped(), Some(&backup()), &live());
    assert!(
        matches!(with, RemoteRestoreOutcome::NotRestored { .. }),
        "{with:?}"
    );
    let without = verdict(&dropped(), None, &live());
    assert!(
        matches!(without, RemoteRestoreOutcome::Unverified { .. }),
        "{without:?}"
    );
}

#[test]
fn empty_zero_byte_unhealthy_and_data_gone_are_data_at_risk() {
    let zero = health(&[], 0);
    let v = verdict(&dropped(), Some(&backup()), &zero);
    assert!(
        matches!(v, RemoteRestoreOutcome::DataAtRisk { .. }) && v.detail().contains("0-byte"),
        "{v:?}"
    );
    let emptied = health(&[("alerts", 0), ("servers", 0), ("history", 0)], 200 * 1024);
    let v = verdict(&dropped(), None, &emptied);
    assert!(
        matches!(v, RemoteRestoreOutcome::DataAtRisk { .. }) && v.detail().contains("data gone"),
        "{v:?}"
    );
    let failed = HealthReport::Failed(HealthFailure {
        healthy: false,
        error: "file is not a database".into(),
        last_checked: String::new(),
    });
    assert!(matches!(
        verdict(&dropped(), None, &failed),
        RemoteRestoreOutcome::DataAtRisk { .. }
    ));
    let HealthReport::Checked(mut bad) = backup() else {
        unreachable!()
    };
    bad.healthy = false;
    assert!(matches!(
        verdict(&dropped(), None, &HealthReport::Checked(bad)),
        RemoteRestoreOutcome::DataAtRisk { .. }
    ));
}

#[test]
fn a_backup_recorded_as_empty_restores_to_empty_tables() {
    let empty_backup = health(&[("alerts", 0), ("servers", 0), ("history", 0)], 200 * 1024);
    let v = verdict(&dropped(), Some(&empty_backup), &empty_backup);
    assert!(matches!(v, RemoteRestoreOutcome::Restored { .. }), "{v:?}");
}

#[test]
fn a_change_that_matches_nothing_is_unverified() {
    let other = health(&[("alerts", 5), ("servers", 3), ("history", 90)], 7 * MB);
    assert!(matches!(
        verdict(&dropped(), Some(&backup()), &other),
        RemoteRestoreOutcome::Unverified { .. }
    ));
}

#[test]
fn what_the_service_writes_meanwhile_still_matches_but_a_user_change_does_not() {
    let record = fp(&backup());
    let service = health(
        &[("alerts", 402), ("servers", 30), ("history", 14_090)],
        6 * MB + 8192,
    );
    assert!(fp(&service).matches(&record));
    let edited = health(
        &[("alerts", 400), ("servers", 30), ("history", 14_500)],
        6 * MB,
    );
    assert!(!fp(&edited).matches(&record));
    let renamed = health(
        &[("alerts", 400), ("servers", 30), ("samples", 14_000)],
        6 * MB,
    );
    assert!(!fp(&renamed).matches(&record));
}

#[test]
fn settling_needs_agreeing_reads_over_the_whole_window() {
    let s = |ms| Duration::from_millis(ms);
    let mut t = SettleTracker::new(s(5000), 3);
    // The restarted server answers from the old file for 2 s (§6.8) ...
    for at in [500, 1000, 1500, 2000] {
        assert!(t.observe(s(at), live()).is_none());
    }
    // ... then the copy lands: a new run starts.
    assert!(t.observe(s(2500), backup()).is_none());
    assert!(t.observe(s(5000), backup()).is_none());
    assert!(
        t.observe(s(7000), backup()).is_none(),
        "4.5 s is not the window"
    );
    assert_eq!(t.observe(s(7500), backup()), Some(&backup()));
    // A dropped answer ends a run.
    let mut t = SettleTracker::new(s(1000), 2);
    t.observe(s(0), live());
    t.interrupt();
    assert!(t.observe(s(1500), live()).is_none());
    assert!(t.observe(s(2500), live()).is_some());
}

#[test]
fn the_window_grows_with_the_database() {
    assert_eq!(SettleTracker::window_for(0), Duration::from_secs(5));
    assert_eq!(
        SettleTracker::window_for(500_000_000),
        Duration::from_secs(10)
    );
}
