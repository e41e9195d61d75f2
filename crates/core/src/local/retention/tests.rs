use super::*;
use crate::format::name::BackupName;
use chrono::NaiveDate;

#[test]
fn a_copy_is_locked_until_its_dated_rules_may_let_it_go() {
    let policy = RetentionPolicy {
        keep_last: 3,
        daily: 7,
        weekly: 4,
        monthly: 12,
        pre_restore: 3,
    };
    let decision = |keep: Vec<KeepReason>| RetentionDecision {
        filename: "servers_db_20261130_020000.db.gpg".into(),
        taken_at: at(2026, 11, 30, 2),
        bytes: 1,
        keep,
    };
    let open = decision(vec![
        KeepReason::Last,
        KeepReason::Daily("2026-11-30".into()),
        KeepReason::Weekly("2026-W49".into()),
        KeepReason::Monthly("2026-11".into()),
    ]);
    // Monday 30 November: only the day counts, its week and month are open.
    assert_eq!(
        release_at(&open, &policy, at(2026, 11, 30, 3)),
        Some(at(2026, 12, 7, 0))
    );
    // After the month ends: twelve months from its first day.
    assert_eq!(
        release_at(&open, &policy, at(2026, 12, 1, 3)),
        Some(at(2027, 11, 1, 0))
    );
    // After its week ends too, the month still holds it longest.
    assert_eq!(
        release_at(&open, &policy, at(2026, 12, 8, 3)),
        Some(at(2027, 11, 1, 0))
    );
    let weekly = decision(vec![KeepReason::Weekly("2026-W48".into())]);
    assert_eq!(
        release_at(&weekly, &policy, at(2026, 11, 30, 0)),
        Some(at(2026, 12, 21, 0))
    );
    assert_eq!(release_at(&weekly, &policy, at(2026, 11, 29, 23)), None);
    let undated = decision(vec![
        KeepReason::Last,
        KeepReason::Newest,
        KeepReason::Pinned,
    ]);
    assert_eq!(release_at(&undated, &policy, at(2026, 12, 1, 0)), None);
}

fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

/// Daily backups at 02:00 for `days` days ending on `last`, newest first.
fn daily(last: NaiveDateTime, days: i64) -> Vec<PlanEntry> {
    (0..days)
        .map(|i| {
            let t = last - chrono::Duration::days(i);
            PlanEntry {
                name: BackupName::parse(&format!(
                    "servers_db_{}.db.gpg",
                    t.format("%Y%m%d_%H%M%S")
                ))
                .unwrap(),
                bytes: 1000,
            }
        })
        .collect()
}

fn kept(plan: &RetentionPlan) -> Vec<String> {
    let mut kept: Vec<String> = plan
        .decisions
        .iter()
        .filter(|d| !d.deleted())
        .map(|d| d.taken_at.format("%Y-%m-%d").to_string())
        .collect();
    kept.sort();
    kept
}

fn policy(keep_last: u32, daily: u32, weekly: u32, monthly: u32) -> RetentionPolicy {
    RetentionPolicy {
        keep_last,
        daily,
        weekly,
        monthly,
        pre_restore: 3,
    }
}

#[test]
fn a_year_of_daily_backups_keeps_one_per_period_and_frees_the_rest() {
    let entries = daily(at(2026, 11, 26, 2), 365);
    let plan = plan_entries(
        &entries,
        &Ledger::default(),
        &policy(3, 7, 4, 12),
        at(2026, 11, 26, 12),
    );
    let kept = kept(&plan);
    // 7 days (the 3 last among them); of the 4 weeks, the two newest
    // are kept by days already, so the Sundays 15 and 8 November; of
    // the 12 months, November is kept already: the last day of 11 more.
    assert_eq!(kept.len(), 7 + 2 + 11, "{kept:?}");
    assert!(kept.contains(&"2026-11-08".to_owned()) && kept.contains(&"2026-11-15".to_owned()));
    assert!(kept.contains(&"2026-11-26".to_owned()) && kept.contains(&"2025-12-31".to_owned()));
    assert_eq!(plan.delete_count, 365 - kept.len());
    assert_eq!(plan.bytes_freed, plan.delete_count as u64 * 1000);
}

#[test]
fn nothing_but_the_newest_survives_a_zero_policy_and_pins_survive_anything() {
    let entries = daily(at(2026, 11, 26, 2), 10);
    let mut ledger = Ledger::default();
    ledger.pinned.insert(entries[9].name.file_name().to_owned());
    let plan = plan_entries(&entries, &ledger, &policy(0, 0, 0, 0), at(2026, 11, 26, 12));
    assert_eq!(kept(&plan), ["2026-11-17", "2026-11-26"]);
    let pinned = plan
        .decisions
        .iter()
        .find(|d| d.taken_at == at(2026, 11, 17, 2))
        .unwrap();
    assert_eq!(pinned.keep, [KeepReason::Pinned]);
}

#[test]
fn a_future_dated_backup_is_kept_and_takes_no_period_from_real_ones() {
    let mut entries = daily(at(2026, 11, 26, 2), 3);
    entries.insert(
        0,
        PlanEntry {
            name: BackupName::parse("servers_db_20300101_000000.db.gpg").unwrap(),
            bytes: 1,
        },
    );
    let plan = plan_entries(
        &entries,
        &Ledger::default(),
        &policy(1, 0, 0, 0),
        at(2026, 11, 26, 12),
    );
    assert_eq!(plan.decisions[0].keep, [KeepReason::FutureDated]);
    assert_eq!(
        plan.decisions[1].keep,
        [KeepReason::Newest, KeepReason::Last]
    );
    assert_eq!(plan.delete_count, 2);
}

#[test]
fn pre_restore_backups_have_their_own_count() {
    let mut entries = daily(at(2026, 11, 26, 2), 2);
    for h in [10, 11, 12, 13] {
        entries.insert(
            0,
            PlanEntry {
                name: BackupName::parse(&format!("prerestore_20261126_{h:02}0000.db.gpg")).unwrap(),
                bytes: 5,
            },
        );
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.name.taken_at()));
    let plan = plan_entries(
        &entries,
        &Ledger::default(),
        &policy(1, 0, 0, 0),
        at(2026, 11, 26, 23),
    );
    let pre_kept = plan
        .decisions
        .iter()
        .filter(|d| d.filename.starts_with("prerestore_") && !d.deleted())
        .count();
    assert_eq!(pre_kept, 3);
    assert!(
        plan.decisions
            .iter()
            .any(|d| d.filename.starts_with("servers_db_20261126") && !d.deleted())
    );
}

#[test]
fn the_newest_drilled_backup_is_kept_a_failed_drill_keeps_nothing() {
    let entries = daily(at(2026, 11, 26, 2), 10);
    let mut ledger = Ledger::default();
    let record = |ok| crate::model::DrillRecord {
        ok,
        at: "2026-11-20T03:00:00+00:00".to_owned(),
        restore_ms: ok.then_some(4000),
        error_kind: None,
        by: None,
    };
    ledger
        .drills
        .insert(entries[6].name.file_name().to_owned(), record(true));
    ledger
        .drills
        .insert(entries[8].name.file_name().to_owned(), record(true));
    ledger
        .drills
        .insert(entries[3].name.file_name().to_owned(), record(false));
    let plan = plan_entries(&entries, &ledger, &policy(1, 0, 0, 0), at(2026, 11, 26, 12));
    assert_eq!(kept(&plan), ["2026-11-20", "2026-11-26"]);
    assert_eq!(plan.decisions[6].keep, [KeepReason::NewestDrilled]);
}
