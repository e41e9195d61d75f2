//! `health` and `storage`: the server's JSON shapes, validated against
//! fixtures transcribed from the contract.

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

fn check_size_human(value: &serde_json::Value) {
    let text = value.as_str().unwrap();
    let (number, unit) = text.split_once(' ').unwrap();
    assert!(["B", "KB", "MB", "GB", "TB"].contains(&unit), "{text}");
    let (_, decimals) = number.split_once('.').unwrap();
    assert_eq!(decimals.len(), 2, "{text}");
}

#[test]
fn health_has_the_contract_shape_in_both_journal_modes() {
    for mode in [JournalMode::Wal, JournalMode::Delete] {
        let inst = Installation::demo(4 * MIB, mode);
        let (code, health) = inst.json(&["health"]);
        assert_eq!(code, 0, "{health:#}");
        same_shape(&health, &contract("health.json"), "health").unwrap();
        assert_eq!(health["healthy"], true);
        assert_eq!(health["integrity_check"], "passed");
        assert_eq!(health["tables"], 23);
        assert_eq!(
            health["size"],
            std::fs::metadata(inst.data.database()).unwrap().len()
        );
        check_size_human(&health["size_human"]);
        let counts = table_counts(&inst.data.database());
        for t in health["table_details"].as_array().unwrap() {
            assert_eq!(
                t["rows"].as_i64().unwrap(),
                counts[t["name"].as_str().unwrap()]
            );
        }
        assert!(
            chrono::NaiveDateTime::parse_from_str(
                health["last_checked"].as_str().unwrap(),
                "%Y-%m-%dT%H:%M:%S%.f"
            )
            .is_ok()
        );
        assert!(inst.leftovers().is_empty());
    }
}

#[test]
fn health_of_a_missing_or_foreign_database_has_the_error_shape() {
    let inst = Installation::empty();
    let (code, health) = inst.json(&["health"]);
    assert_eq!(code, 1);
    same_shape(&health, &contract("health_error.json"), "health").unwrap();
    assert_eq!(health["healthy"], false);
    std::fs::create_dir_all(inst.data.database().parent().unwrap()).unwrap();
    std::fs::write(inst.data.database(), "plain text, not SQLite").unwrap();
    let (code, health) = inst.json(&["health"]);
    assert_eq!(code, 1);
    assert!(
        health["error"]
            .as_str()
            .unwrap()
            .contains("not a SQLite database"),
        "{health:#}"
    );
}

#[test]
fn health_reports_a_damaged_database_as_unhealthy() {
    let inst = Installation::demo(4 * MIB, JournalMode::Delete);
    let db = inst.data.database();
    let mut bytes = std::fs::read(&db).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 2..len / 2 + 8192] {
        *b = 0x33;
    }
    std::fs::write(&db, bytes).unwrap();
    let (code, health) = inst.json(&["health"]);
    assert_eq!(code, 1, "{health:#}");
    assert_eq!(health["healthy"], false);
}

#[test]
fn health_runs_while_the_service_writes() {
    let inst = Installation::demo(8 * MIB, JournalMode::Delete);
    let writer = start_writer(&inst.data.database());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (code, health) = inst.json(&["health"]);
    stop_writer(writer);
    assert_eq!(code, 0, "{health:#}");
    assert_eq!(health["integrity_check"], "passed");
}

#[test]
fn storage_has_the_contract_shape_and_adds_up() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let (code, empty) = inst.json(&["storage"]);
    assert_eq!(code, 0);
    same_shape(&empty, &contract("storage.json"), "storage").unwrap();
    assert_eq!(empty["backups"]["count"], 0);
    assert_eq!(empty["backups"]["average_size"], 0);
    inst.backup();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    inst.backup();
    let (code, storage) = inst.json(&["storage"]);
    assert_eq!(code, 0);
    same_shape(&storage, &contract("storage.json"), "storage").unwrap();
    let (_, list) = inst.json(&["list"]);
    let total: u64 = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["size"].as_u64().unwrap())
        .sum();
    assert_eq!(storage["backups"]["count"], 2);
    assert_eq!(storage["backups"]["total_size"], total);
    assert_eq!(storage["backups"]["average_size"], total / 2);
    assert_eq!(
        storage["database"]["size"],
        std::fs::metadata(inst.data.database()).unwrap().len()
    );
    assert!(
        storage["data_directory"]["total_size"].as_u64().unwrap()
            >= total + storage["database"]["size"].as_u64().unwrap()
    );
    for item in [
        &storage["database"]["size_human"],
        &storage["backups"]["size_human"],
        &storage["data_directory"]["size_human"],
    ] {
        check_size_human(item);
    }
}

#[test]
fn list_items_carry_the_contract_fields() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    inst.backup();
    let (_, list) = inst.json(&["list"]);
    let item = &list["backups"][0];
    let fixture = contract("backup_list_item.json");
    let ours: serde_json::Map<String, serde_json::Value> = item
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| fixture.get(k.as_str()).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    same_shape(&serde_json::Value::Object(ours), &fixture, "list item").unwrap();
}
