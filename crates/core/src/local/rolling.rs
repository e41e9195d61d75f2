//! Which backups a scheduled verification deep-checks: the newest regular
//! backup on every run, plus a rolling share of the older ones, those
//! deep-checked longest ago (or never) first, so that every kept backup is
//! deep-checked at least once every [`DEFAULT_CYCLE`] runs: a daily job
//! checks each within four weeks, whatever their number, at a cost of about
//! `1 + n / 28` deep verifications a night. Pre-restore safety copies are
//! left out (short-lived, and verified when restored). Pure.

/// Runs within which every kept backup is deep-checked once.
pub(crate) const DEFAULT_CYCLE: usize = 28;

/// One backup as the rolling plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RollingEntry {
    pub name: String,
    /// A pre-restore safety copy (left out).
    pub pre_restore: bool,
    /// When it last passed a deep verification (RFC 3339), if ever.
    pub deep_checked_at: Option<String>,
}

/// The names to deep-check this run, newest first among `entries`
/// (which come newest first, as the catalog lists them).
pub(crate) fn rolling_plan(entries: &[RollingEntry], cycle: usize) -> Vec<String> {
    let regular: Vec<&RollingEntry> = entries.iter().filter(|e| !e.pre_restore).collect();
    let Some((newest, older)) = regular.split_first() else {
        return Vec::new();
    };
    let share = older.len().div_ceil(cycle.max(1));
    let mut by_age: Vec<(usize, &&RollingEntry)> = older.iter().enumerate().collect();
    // Never checked first, then the longest ago; among equals the older
    // backup (further down the list) first.
    by_age.sort_by(|(ia, a), (ib, b)| {
        a.deep_checked_at
            .is_some()
            .cmp(&b.deep_checked_at.is_some())
            .then_with(|| a.deep_checked_at.cmp(&b.deep_checked_at))
            .then_with(|| ib.cmp(ia))
    });
    let mut chosen: Vec<usize> = by_age.iter().take(share).map(|(i, _)| *i).collect();
    chosen.sort_unstable();
    std::iter::once(newest.name.clone())
        .chain(chosen.into_iter().map(|i| older[i].name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(day: u32, checked: Option<u32>) -> RollingEntry {
        RollingEntry {
            name: format!("servers_db_202611{day:02}_020000.db.gpg"),
            pre_restore: false,
            deep_checked_at: checked.map(|d| format!("2026-12-{d:02}T03:00:00+00:00")),
        }
    }

    #[test]
    fn the_newest_always_and_the_least_recently_checked_of_the_rest() {
        // Newest first: day 30 .. day 1; 29 older ones → share 2 at cycle 28.
        let mut entries: Vec<RollingEntry> = (1..=30).rev().map(|d| entry(d, Some(1))).collect();
        entries[10].deep_checked_at = None; // never checked: first
        entries[20].deep_checked_at = Some("2026-11-01T03:00:00+00:00".into());
        let plan = rolling_plan(&entries, DEFAULT_CYCLE);
        assert_eq!(
            plan,
            [
                entries[0].name.clone(),
                entries[10].name.clone(),
                entries[20].name.clone()
            ]
        );
    }

    #[test]
    fn pre_restore_copies_are_left_out_and_nothing_is_nothing() {
        let mut pre = entry(5, None);
        pre.pre_restore = true;
        pre.name = "prerestore_20261105_020000.db.gpg".into();
        assert_eq!(rolling_plan(&[pre.clone()], 28), Vec::<String>::new());
        assert_eq!(
            rolling_plan(&[entry(6, None), pre], 28),
            [entry(6, None).name]
        );
        assert!(rolling_plan(&[], 28).is_empty());
    }

    #[test]
    fn every_kept_backup_is_checked_within_one_cycle_of_daily_runs() {
        // 90 kept backups, none ever checked; a daily job for 28 days.
        let mut entries: Vec<RollingEntry> = (0..90)
            .map(|i| RollingEntry {
                name: format!("b{i:03}"),
                pre_restore: false,
                deep_checked_at: None,
            })
            .collect();
        for day in 1..=DEFAULT_CYCLE {
            for name in rolling_plan(&entries, DEFAULT_CYCLE) {
                let e = entries.iter_mut().find(|e| e.name == name).unwrap();
                e.deep_checked_at = Some(format!("day {day:02}"));
            }
        }
        let unchecked: Vec<&str> = entries
            .iter()
            .filter(|e| e.deep_checked_at.is_none())
            .map(|e| e.name.as_str())
            .collect();
        assert!(unchecked.is_empty(), "{unchecked:?}");
    }
}
