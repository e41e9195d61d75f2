//! Remote restores tell the truth on a supervised server (contract §6.2,
//! §6.8, §6.9, §6.10): the stand-in's restore kills its API, the supervisor
//! restarts it, the old file answers for seconds, then the copy lands. Each
//! outcome through the CLI, as text and as `--json`, with its exit code,
//! the server's files and database checked afterwards.

use std::path::PathBuf;
use std::time::Duration;

use backupdesk_core::local::demo::JournalMode;
use backupdesk_core::remote::RemoteServer;
use backupdesk_e2e::standin::{ADMIN, RestoreBehaviour, StandIn, StandInOptions};
use serde_json::Value;

use crate::remote::{SERVER_PASSPHRASE, cli_session};
use crate::support::*;

struct Scenario {
    inst: Installation,
    server: StandIn,
}

fn scenario(behaviour: RestoreBehaviour, recreate_schema: bool) -> Scenario {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let mut options = StandInOptions::new(inst.root(), SERVER_PASSPHRASE);
    options.restore = behaviour;
    options.recreate_schema = recreate_schema;
    let server = StandIn::start(options);
    Scenario { inst, server }
}

impl Scenario {
    /// Runs `body` after adding and logging in to profile `lab` (restore
    /// timeout `timeout` s). `$DB` is the server's live database.
    fn run(&self, timeout: u64, body: &str) -> String {
        let script = format!(
            r#"set -e
            DB="$ROOT/data/servers.db"
            $B profile add lab --url "$URL" --username admin --restore-timeout {timeout}
            $B login lab --password-file "$PW" --remember-password
            {body}
            "#
        );
        cli_session(&self.inst, &self.server, self.inst.root(), &script)
    }

    fn out(&self, name: &str) -> PathBuf {
        self.inst.dir.path().join("out").join(name)
    }

    fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.out(name)).unwrap_or_default()
    }

    fn json(&self, name: &str) -> Value {
        let text = self.text(name);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
    }

    fn code(&self, name: &str) -> i32 {
        self.text(name).trim().parse().unwrap()
    }

    fn backups(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.inst.data.backups())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The content of `backup` (decrypted with the server's passphrase).
    fn content_of(&self, backup: &str) -> std::collections::BTreeMap<String, String> {
        let plain = self.inst.dir.path().join(format!("{backup}.plain"));
        gpg_decrypt_to(SERVER_PASSPHRASE, &self.inst.backup_path(backup), &plain);
        let digest = content_digest(&plain, None);
        std::fs::remove_file(plain).unwrap();
        digest
    }
}

/// A text run and a JSON run of `restore $N --yes`, with `$RESET` run
/// before each (to put the server's database back as it was).
const TWO_RESTORES: &str = r#"
    set +e
    eval "$RESET"
    $B --profile lab restore "$N" --yes > "$OUT/text.out" 2> "$OUT/text.err"; echo $? > "$OUT/text.code"
    eval "$RESET"
    $B --profile lab --json restore "$N" --yes > "$OUT/json.out" 2> "$OUT/json.err"; echo $? > "$OUT/json.code"
"#;

/// Backs up with `backupdesk` itself on the server's folder, with the
/// installation's passphrase, which is not the server's: to the server this
/// file is no backup it can decrypt (§6.9).
const FOREIGN_BACKUP: &str = r#"
    $B --data-dir "$ROOT" --passphrase-file "$PP" backup --no-prune > /dev/null
    N=$(ls "$ROOT/data/backups" | grep '^servers_db_.*\.gpg$' | tail -1)
    cp "$DB" "$OUT/original.db"
    RESET='rm -f "$DB-wal" "$DB-shm"; cp "$OUT/original.db" "$DB"'
"#;

fn assert_report_shape(json: &Value, kind: &str) {
    let report = &json["report"];
    assert_eq!(report["outcome"]["kind"], kind, "{json:#}");
    assert!(report["outcome"]["detail"].is_string(), "{json:#}");
    assert!(report["outcome"]["evidence"].is_string(), "{json:#}");
    assert!(
        report["pre_restore_backup"]
            .as_str()
            .unwrap()
            .starts_with("servers_db_")
    );
    assert!(report["tables"].as_array().unwrap().len() >= 23, "{json:#}");
    assert!(report["before"]["tables"].as_u64() == Some(23), "{json:#}");
    assert!(report["server_answer"]["kind"].is_string(), "{json:#}");
}

#[test]
fn a_working_restore_right_after_a_backup_is_restored_with_the_backups_content() {
    let s = scenario(RestoreBehaviour::Works, false);
    let transcript = s.run(
        60,
        &format!(
            r#"
            $B --profile lab --json backup > "$OUT/backup.json"
            N=$($B --profile lab list | awk '/^servers_db_/ {{print $1; exit}}')
            echo "$N" > "$OUT/name"
            sha256sum "$ROOT/data/backups/$N" | cut -d' ' -f1 > "$OUT/backup.sha"
            RESET='sqlite3 "$DB" "INSERT INTO tags (name, color) VALUES (hex(randomblob(8)), hex(randomblob(3))); DELETE FROM alerts WHERE id % 2 = 0; DELETE FROM monitoring_history WHERE id % 3 = 0;"'
            {TWO_RESTORES}
            "#
        ),
    );
    let name = s.text("name").trim().to_owned();
    assert_eq!(
        s.code("text.code"),
        0,
        "{transcript}\n{}\n{}",
        s.text("text.out"),
        s.text("text.err")
    );
    let text = s.text("text.out");
    assert!(
        text.contains("\nRESTORED: Restored"),
        "{text}\n{transcript}"
    );
    assert!(
        text.contains("decided by: the backup's recorded size and row counts"),
        "{text}"
    );
    assert!(
        text.contains("monitoring_history"),
        "per-table rows: {text}"
    );
    assert_eq!(s.code("json.code"), 0, "{}", s.text("json.err"));
    let json = s.json("json.out");
    assert_eq!(json["ok"], true);
    assert_report_shape(&json, "restored");
    assert_eq!(json["report"]["outcome"]["evidence"], "backup_record");
    assert_eq!(
        json["report"]["server_answer"]["kind"], "dropped",
        "{json:#}"
    );
    // The live database holds the backup's content, and the backup itself
    // was not replaced by the safety backup taken in the same second.
    assert_eq!(
        sha256_file(&s.inst.backup_path(&name)),
        s.text("backup.sha").trim(),
        "the backup restored is the one made, not a same-second safety backup"
    );
    assert_ne!(json["report"]["pre_restore_backup"], name.as_str());
    assert_eq!(
        content_digest(&s.inst.data.database(), None),
        s.content_of(&name)
    );
    // The way back: the safety backup holds what the database held before.
    let safety = json["report"]["pre_restore_backup"].as_str().unwrap();
    assert!(s.inst.backup_path(safety).exists());
    assert_ne!(s.content_of(safety), s.content_of(&name));
}

#[test]
fn a_valid_backup_the_server_never_restores_is_not_restored_and_its_plaintext_is_removed() {
    let s = scenario(RestoreBehaviour::NeverRestores, false);
    let transcript = s.run(
        60,
        &format!(
            r#"
            $B --profile lab backup > /dev/null
            N=$($B --profile lab list | awk '/^servers_db_/ {{print $1; exit}}')
            echo "$N" > "$OUT/name"
            sqlite3 "$DB" "INSERT INTO tags (name, color) VALUES ('after', '#111111');"
            cp "$DB" "$OUT/before.db"
            RESET=true
            {TWO_RESTORES}
            "#
        ),
    );
    let name = s.text("name").trim().to_owned();
    let plaintext = name.trim_end_matches(".gpg").to_owned();
    assert_eq!(
        s.code("text.code"),
        1,
        "{transcript}\n{}\n{}",
        s.text("text.out"),
        s.text("text.err")
    );
    let err = s.text("text.err");
    assert!(
        err.contains("NOT RESTORED") && err.contains("was NOT restored"),
        "{err}"
    );
    assert!(
        err.contains("unable to open database"),
        "the server's message: {err}"
    );
    let out = s.text("text.out");
    assert!(
        out.contains(&format!("removed the plaintext copy {plaintext}")),
        "{out}"
    );
    assert_eq!(s.code("json.code"), 1);
    let json = s.json("json.out");
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["kind"], "remote_restore_not_done", "{json:#}");
    assert_report_shape(&json, "not_restored");
    assert_eq!(json["report"]["server_answer"]["status"], 500);
    assert_eq!(json["report"]["removed_from_server"][0], plaintext.as_str());
    assert!(
        !s.backups().contains(&plaintext),
        "no plaintext copy is left: {:?}",
        s.backups()
    );
    assert_eq!(
        content_digest(&s.inst.data.database(), None),
        content_digest(&s.out("before.db"), None),
        "the live database is unchanged"
    );
}

#[test]
fn an_undecryptable_file_that_empties_the_database_is_a_failed_restore_naming_the_way_back() {
    let s = scenario(RestoreBehaviour::Works, false);
    let transcript = s.run(60, &format!("{FOREIGN_BACKUP}\n{TWO_RESTORES}"));
    assert_eq!(s.code("text.code"), 1, "{transcript}");
    let err = s.text("text.err");
    assert!(err.contains("FAILED, DATA AT RISK"), "{err}");
    assert!(err.contains("0-byte"), "{err}");
    let json = s.json("json.out");
    assert_eq!(s.code("json.code"), 1);
    assert_eq!(json["error"]["kind"], "remote_restore_failed", "{json:#}");
    assert_report_shape(&json, "data_at_risk");
    let safety = json["report"]["pre_restore_backup"].as_str().unwrap();
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains(safety), "the way back is named: {message}");
    let copies = json["report"]["server_safety_copies"].as_array().unwrap();
    assert!(
        copies
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("prerestore_")),
        "{json:#}"
    );
    assert!(message.contains(copies[0].as_str().unwrap()), "{message}");
    // Why a server's restore cannot read a file: a backup encrypted to keys
    // alone is one (issue 30 point 5).
    let warnings = json["report"]["warnings"].to_string();
    assert!(
        warnings.contains("encrypted to keys alone") && warnings.contains("SSH profile"),
        "{json:#}"
    );
    assert!(
        err.contains("Go back now: restore servers_db_"),
        "the text names it too: {err}"
    );
    assert_eq!(std::fs::metadata(s.inst.data.database()).unwrap().len(), 0);
    // The way back works: the safety backup holds the database before.
    assert_eq!(
        s.content_of(safety),
        content_digest(&s.out("original.db"), None)
    );
}

#[test]
fn an_emptied_database_whose_schema_was_recreated_is_reported_as_data_gone() {
    let s = scenario(RestoreBehaviour::Works, true);
    let transcript = s.run(60, &format!("{FOREIGN_BACKUP}\n{TWO_RESTORES}"));
    assert_eq!(s.code("text.code"), 1, "{transcript}");
    let err = s.text("text.err");
    assert!(
        err.contains("FAILED, DATA AT RISK") && err.contains("data gone"),
        "{err}"
    );
    let json = s.json("json.out");
    assert_eq!(json["error"]["kind"], "remote_restore_failed", "{json:#}");
    assert_report_shape(&json, "data_at_risk");
    assert_eq!(json["report"]["after"]["tables"], 23, "{json:#}");
    assert_eq!(json["report"]["after"]["healthy"], true, "{json:#}");
    let counts = table_counts(&s.inst.data.database());
    assert_eq!(counts.len(), 23);
    assert!(counts.values().all(|rows| *rows == 0), "{counts:?}");
}

#[test]
fn a_server_that_never_settles_is_unverified() {
    let s = scenario(RestoreBehaviour::NeverSettles, false);
    let transcript = s.run(
        12,
        &format!(
            r#"
            $B --profile lab backup > /dev/null
            N=$($B --profile lab list | awk '/^servers_db_/ {{print $1; exit}}')
            RESET='sqlite3 "$DB" "DELETE FROM alerts; DELETE FROM monitoring_history WHERE id % 3 = 0;"' 
            {TWO_RESTORES}
            "#
        ),
    );
    assert_eq!(s.code("text.code"), 1, "{transcript}");
    let err = s.text("text.err");
    assert!(
        err.contains("UNVERIFIED") && err.contains("did not settle within 12 s"),
        "{err}"
    );
    let json = s.json("json.out");
    assert_eq!(s.code("json.code"), 1);
    assert_eq!(json["error"]["kind"], "restore_unverified", "{json:#}");
    assert_eq!(json["report"]["outcome"]["kind"], "unverified");
    assert_eq!(json["report"]["outcome"]["evidence"], "nothing");
    assert!(json["report"]["after"].is_null());
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the way back")
    );
}

#[test]
fn the_dry_run_says_what_the_servers_restore_does_and_which_evidence_decides() {
    let s = scenario(RestoreBehaviour::Works, false);
    let transcript = s.run(
        60,
        r#"
        $B --profile lab backup > /dev/null
        N=$($B --profile lab list | awk '/^servers_db_/ {print $1; exit}')
        $B --profile lab restore "$N" --dry-run > "$OUT/dry.out"
        $B --profile lab --json restore "$N" --dry-run > "$OUT/dry.json"
        "#,
    );
    let text = s.text("dry.out");
    assert!(
        text.contains("§6.2") && text.contains("0-byte"),
        "{text}\n{transcript}"
    );
    assert!(
        text.contains("evidence: Backup Desk recorded what"),
        "{text}"
    );
    assert!(
        text.contains("reads only backups with a passphrase")
            && text.contains("encryption set --no-passphrase"),
        "an API profile is told why keys-only backups are not for it: {text}"
    );
    let json = s.json("dry.json");
    assert_eq!(json["plan"]["has_record"], true, "{json:#}");
    assert!(
        json["plan"]["evidence"]
            .as_str()
            .unwrap()
            .contains("settles on that")
    );
}

/// Two backups in one second (§6.10): the second takes the first's name and
/// replaces it; both results say what is true.
#[test]
fn two_backups_in_one_second_give_two_true_results() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let server = StandIn::start(StandInOptions::new(inst.root(), SERVER_PASSPHRASE));
    let client = RemoteServer::new(&server.base_url, ADMIN.0, None).unwrap();
    client.login(ADMIN.1).unwrap();
    let mut same_second = false;
    for _ in 0..5 {
        // Start just after a second begins, so both land in it.
        let into = chrono::Timelike::nanosecond(&chrono::Local::now()) as u64;
        std::thread::sleep(Duration::from_nanos(1_000_000_000 - into.min(999_999_999)));
        let first = client.backup().unwrap();
        let second = client.backup().unwrap();
        assert!(!first.reused_name || first.warnings.iter().any(|w| w.contains("same second")));
        if second.item.filename == first.item.filename {
            assert!(second.reused_name, "{second:?}");
            assert!(
                second.warnings.iter().any(|w| w.contains("same second")),
                "{:?}",
                second.warnings
            );
            assert_ne!(second.item.created_at, first.item.created_at);
            same_second = true;
            break;
        }
        assert!(!second.reused_name);
    }
    assert!(
        same_second,
        "two backups landed in one second at least once in 5 tries"
    );
}
