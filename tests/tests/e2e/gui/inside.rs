//! Issue 29 in the window: look inside a backup, compare it with live
//! (a changed cell shown with its old and new value), restore the rows
//! shown, and undo that.

use super::*;

/// `sql`'s one value from `db`, as text.
fn one_value(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get::<_, String>(0)).unwrap()
}

#[test]
fn gui_look_inside_compare_with_live_restore_the_rows_shown_and_undo() {
    let _one = lock();
    let scratch = tempfile::tempdir().unwrap();
    let window = Window::open(&scratch.path().join("config"));
    let dir = scratch.path().join("demo");
    window.try_demo("prod", &dir, PASSPHRASE);
    window.backup_now();
    let backup = backups_of(&dir).pop().unwrap();
    let live = dir.join("data/servers.db");
    let name = one_value(&live, "SELECT name FROM servers WHERE id = 3");
    let status_then = one_value(&live, "SELECT status FROM servers WHERE id = 3");
    // Servers 3, 6, 9… go into maintenance; even alerts deleted; a tag added.
    change_live(&live, "added-after-the-backup");
    let status_of = |id: u32| {
        one_value(
            &live,
            &format!("SELECT status FROM servers WHERE id = {id}"),
        )
    };
    assert_eq!(
        (status_of(3), status_of(6)),
        ("maintenance".into(), "maintenance".into())
    );

    // Look inside the backup, from its row's menu: decrypted and checked.
    window.click(&format!("button[aria-label='More actions for {backup}']"));
    window.click(&format!("button[aria-label='Look inside {backup}']"));
    let opened = window.wait_text("#inside-opened", "decrypted and checked", 120);
    assert!(opened.contains(&backup), "{opened}");
    window.click("#inside-tables button[data-table='servers']");
    window.wait_text("#inside-grid thead", "status", 30);
    window.fill("#inside-filter", &name);
    window.click("#inside-filter-go");
    window.wait_text("#inside-count", "Rows 1–1 of 1", 30);
    // (All its cells, also those scrolled out of view to the right.)
    let row = window.eval("return document.querySelector('#inside-grid tbody').textContent");
    let row = row.as_str().unwrap_or_default();
    assert!(row.contains(&name) && row.contains(&status_then), "{row}");
    window.shot("40-inside-grid");

    // A read-only query answers; a write is refused and changes nothing.
    window.click(".sql summary");
    window.fill("#inside-sql", "SELECT count(*) AS tags FROM tags");
    window.click("#inside-run");
    window.wait_text("#inside-answer-count", "1 row ·", 30);
    window.fill("#inside-sql", "DELETE FROM tags");
    window.click("#inside-run");
    window.wait(".error[data-kind='read_only_query']", 30);

    // Compared with live: what changed since, and the changed cell itself.
    window.select("#compare-with", "live");
    window.click("#compare-go");
    let summary = window.wait_text("#compare-summary", "servers", 120);
    assert!(
        summary.contains("inserted") && summary.contains("deleted") && summary.contains("updated"),
        "{summary}"
    );
    window.shot("41-inside-compare");
    window.click("button[aria-label='Changed rows of servers']");
    let cell = window.wait_text(
        "#compare-rows .changed[data-column='status']",
        "maintenance",
        30,
    );
    assert!(cell.starts_with("status:"), "{cell}");
    window.shot("41-inside-compare");

    // Restore the rows shown (server 3 alone): planned, confirmed, done.
    window.click("#inside-restore-rows");
    let plan = window.wait_text("#rows-plan", "servers: updates 1 row", 60);
    assert!(plan.contains("Every other row stays as it is"), "{plan}");
    let chosen = window.text("#rows-selection");
    assert!(
        chosen.contains(&format!("containing \"{name}\"")),
        "{chosen}"
    );
    window.fill("#rows-confirm", "pro");
    assert_eq!(window.attr("#rows-go", "disabled").as_deref(), Some("true"));
    window.fill("#rows-confirm", "prod");
    window.shot("42-inside-rows-plan");
    window.click("#rows-go");
    let outcome = window.wait_text("#rows-outcome", "Restored", 120);
    assert!(outcome.contains("servers: updated 1 row"), "{outcome}");
    assert_eq!(status_of(3), status_then, "server 3 is as in the backup");
    assert_eq!(
        status_of(6),
        "maintenance",
        "the rows not shown are untouched"
    );
    let undo = window.text("#rows-undo-name");
    assert!(
        undo.starts_with("prerestore_rows_") && backups_of(&dir).contains(&undo),
        "{undo}"
    );
    assert_eq!(sqlite3_integrity(&live), "ok");

    // Undo: the saved rows put back, the same way.
    window.click("#rows-undo");
    window.wait_text("#rows-plan", "servers: updates 1 row", 60);
    window.fill("#rows-confirm", "prod");
    window.click("#rows-go");
    window.wait_text("#rows-outcome", "Undone", 120);
    assert_eq!(status_of(3), "maintenance", "undone");
    window.shot("43-inside-undone");

    // Closing removes the staged copies: nothing decrypted stays behind.
    let staging = dir.join("data/.backupdesk/staging");
    let staged = || {
        std::fs::read_dir(&staging)
            .map(|r| r.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let settled = |want_empty: bool, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while staged().is_empty() != want_empty && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        staged()
    };
    assert!(!staged().is_empty(), "the open backup is staged");
    window.click("#inside-close");
    window.wait_gone("#inside-opened", 10);
    assert_eq!(
        settled(true, 10),
        Vec::<std::ffi::OsString>::new(),
        "closed: no staged copy left"
    );

    // Killed while a backup is open: its copy stays until the next start,
    // which removes it.
    window.click("#inside-open");
    window.wait_text("#inside-opened", "decrypted and checked", 120);
    drop(window);
    assert!(
        !staged().is_empty(),
        "a kill leaves the copy to the next start"
    );
    let _window = Window::open(&scratch.path().join("config"));
    assert_eq!(
        settled(true, 60),
        Vec::<std::ffi::OsString>::new(),
        "the next start removed it"
    );
}
