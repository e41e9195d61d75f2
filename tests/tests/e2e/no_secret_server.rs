//! A server that keeps no secret (issue 30, point 3), against a real
//! `sshd`: its installation's policy has two keys and no passphrase, its
//! own engine makes backups with public keys only and refuses a deep
//! verification with its kind, and the laptop, whose keychain holds one of
//! the keys, deep-verifies, drills and restores the backup over SSH by
//! handing the engine that backup's session key alone: the secret key's
//! bytes are nowhere on the server's side.

use crate::ssh::served;
use crate::support::*;

#[test]
fn ssh_a_server_that_keeps_no_secret_is_deep_verified_from_the_laptop_with_only_the_session_key() {
    let served = served(2 * MIB);
    let (inst, laptop) = (&served.inst, &served.laptop);
    let script = format!(
        r#"set -e
        export BACKUPDESK_CONFIG_DIR='{config}' BACKUPDESK_SSH_CONFIG='{ssh_config}'
        $B --json key create "Laptop" --out "$OUT" > "$OUT/laptop.json"
        $B --json key create "Safe" --out "$OUT" > "$OUT/safe.json"
        # The server's own engine, as its scheduled job runs it: no keychain,
        # no passphrase anywhere.
        there() {{ env -u DBUS_SESSION_BUS_ADDRESS "$B" --data-dir "$ROOT" --json "$@" < /dev/null; }}
        there encryption set --no-passphrase \
            --recipient "$OUT/Laptop.pub.asc" --recipient "$OUT/Safe.pub.asc" > "$OUT/set.json"
        there backup > "$OUT/first.json"
        sleep 1.1
        there backup > "$OUT/backup.json"
        N=$(cd "$ROOT/data/backups" && ls servers_db_*.db.gpg | sort | tail -1)
        echo "$N" > "$OUT/name"
        set +e
        there verify "$N" --deep > "$OUT/there.json"; echo $? > "$OUT/there.code"
        set -e
        # From the laptop: the session key alone crosses.
        $B --profile srv --json verify "$N" --deep < /dev/null > "$OUT/verify.json"
        $B --profile srv --json drill "$N" < /dev/null > "$OUT/drill.json"
        # Several backups, each by its own session key: all of them, the
        # scheduled verification's share, and the drill of the newest.
        $B --profile srv --json verify --all --deep < /dev/null > "$OUT/all.json"
        $B --profile srv --json verify --rolling < /dev/null > "$OUT/rolling.json"
        $B --profile srv --json drill < /dev/null > "$OUT/newest.json"
        # Looking inside, by the session keys of the backups read.
        $B --profile srv --json tables "$N" < /dev/null > "$OUT/tables.json"
        F1=$(cd "$ROOT/data/backups" && ls servers_db_*.db.gpg | sort | head -1)
        $B --profile srv --json diff "$F1" "$N" < /dev/null > "$OUT/diff.json"
        # The fleet says who proved the server's backups, and when.
        $B --json fleet < /dev/null > "$OUT/fleet.json" || true
        echo "$(id -un)@$(cat /proc/sys/kernel/hostname)" > "$OUT/me"
        # A change after the backup, then the restore over SSH: its safety
        # backup needs no secret there either.
        sqlite3 "$ROOT/data/servers.db" "INSERT INTO tags (name, color) VALUES ('after-the-backup', '#000000')"
        $B --profile srv --yes --json restore "$N" < /dev/null > "$OUT/restore.json"
        # The proving jobs on this machine (a user timer; systemctl a
        # stand-in), then the verification job run as its unit says, with
        # its own environment lines only, after a new backup there.
        export BACKUPDESK_USER_UNIT_DIR="$OUT/units" BACKUPDESK_SYSTEMCTL=/bin/true
        $B --profile srv --json schedule prove --at 03:10 < /dev/null > "$OUT/prove.json"
        there backup > "$OUT/later.json"
        unit="$OUT/units/backupdesk-prove-srv-verify.service"
        set +e
        env -u BACKUPDESK_CONFIG_DIR -u BACKUPDESK_SSH_CONFIG \
            $(sed -n 's/^Environment="\(.*\)"$/\1/p' "$unit") \
            sh -c "$(sed -n 's/^ExecStart=//p' "$unit")" < /dev/null > "$OUT/job.out" 2>&1
        echo $? > "$OUT/job.code"
        set -e
        $B --profile srv --json list < /dev/null > "$OUT/after-job.json"
        # The policy set from the laptop: its certificate file read here,
        # a recovery key made here (its sheet written here), then every
        # backup rewrapped there with the session keys handed over.
        printf 'the recovery passphrase of 2026\n' > "$OUT/recovery-passphrase"
        mkdir -p "$OUT/sheets"
        $B --profile srv --json encryption set --no-passphrase --recipient "$OUT/Laptop.pub.asc" \
            --recovery-passphrase-file "$OUT/recovery-passphrase" --out "$OUT/sheets" < /dev/null > "$OUT/set-here.json"
        $B --profile srv --json encryption rewrap --all < /dev/null > "$OUT/rewrap.json"
        $B --profile srv --json verify --all --deep < /dev/null > "$OUT/all-after.json"
        "#,
        config = laptop.config.path().display(),
        ssh_config = laptop.ssh_config.display(),
    );
    let (ok, text) = keyring_session(inst, &[], &script);
    let out = |name: &str| inst.dir.path().join("out").join(name);
    let json = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out(name)).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"))
    };
    assert!(ok, "{text}");
    assert_eq!(json("set.json")["server_holds_a_secret"], false);
    assert_eq!(json("backup.json")["ok"], true, "{text}");
    assert_eq!(
        std::fs::read_to_string(out("there.code")).unwrap().trim(),
        "1"
    );
    let there = json("there.json");
    assert_eq!(there["error"]["kind"], "no_decryption_key", "{there:#}");
    let name = std::fs::read_to_string(out("name")).unwrap();
    let verify = json("verify.json");
    assert_eq!(verify["ok"], true, "{verify:#}\n{text}");
    assert_eq!(verify["report"]["filename"], name.trim(), "{verify:#}");
    assert_eq!(
        verify["report"]["checksum_sha256"],
        json("backup.json")["meta"]["checksum_sha256"],
        "the server decrypted the whole backup with the session key: {verify:#}"
    );
    let drill = json("drill.json");
    assert_eq!(drill["ok"], true, "{drill:#}");
    // Every backup deep-verified there, each opened by its own key.
    let all = json("all.json");
    assert_eq!(
        (&all["ok"], &all["passed"], &all["failed"]),
        (
            &serde_json::json!(true),
            &serde_json::json!(2),
            &serde_json::json!(0)
        ),
        "{all:#}"
    );
    let sums: Vec<&serde_json::Value> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["report"]["checksum_sha256"])
        .collect();
    assert_eq!(
        sums,
        [
            &json("backup.json")["meta"]["checksum_sha256"],
            &json("first.json")["meta"]["checksum_sha256"]
        ],
        "{all:#}"
    );
    for result in all["results"].as_array().unwrap() {
        assert_eq!(result["report"]["depth"], "deep", "{result:#}");
    }
    // The scheduled share is deep when run from here (quick there).
    let rolling = json("rolling.json");
    assert_eq!(rolling["ok"], true, "{rolling:#}");
    let first = &rolling["results"][0];
    assert_eq!(
        (&first["filename"], &first["report"]["depth"]),
        (&serde_json::json!(name.trim()), &serde_json::json!("deep")),
        "{rolling:#}"
    );
    let tables = json("tables.json");
    assert_eq!(tables["ok"], true, "{tables:#}");
    assert!(tables.to_string().contains("\"tags\""), "{tables:#}");
    let diff = json("diff.json");
    assert_eq!(diff["ok"], true, "{diff:#}");
    let newest = json("newest.json");
    assert_eq!(newest["ok"], true, "{newest:#}");
    let fleet = json("fleet.json");
    let tile = fleet["tiles"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["profile"] == "srv"))
        .unwrap_or_else(|| panic!("{fleet:#}"));
    assert_eq!(
        tile["encryption"],
        serde_json::json!({"keys": 2, "passphrase": false, "problem": null}),
        "the tile says how the server seals its backups: {tile:#}"
    );
    let proven = &tile["last_proven"];
    let me = std::fs::read_to_string(out("me")).unwrap();
    assert_eq!(
        (&proven["backup"], &proven["drill"], &proven["by"]),
        (
            &serde_json::json!(name.trim()),
            &serde_json::json!(true),
            &serde_json::json!(me.trim())
        ),
        "the laptop proved it, with its key: {tile:#}"
    );
    assert_eq!(newest["report"]["filename"], name.trim(), "{newest:#}");
    let restore = json("restore.json");
    assert_eq!(restore["ok"], true, "{restore:#}");
    let live = rusqlite::Connection::open(inst.data.database()).unwrap();
    let after: i64 = live
        .query_row(
            "SELECT count(*) FROM tags WHERE name = 'after-the-backup'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(after, 0, "the backup's content is back: {restore:#}");

    // The proving jobs: a daily verification and a weekly drill, here;
    // the job run as its unit says proved the newest backup, deep, by
    // this machine.
    let prove = json("prove.json");
    let definitions: Vec<&serde_json::Value> = prove["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| &j["definition"])
        .collect();
    assert_eq!(
        definitions,
        [
            &serde_json::json!("*-*-* 03:10:00"),
            &serde_json::json!("Sun *-*-* 05:10:00")
        ],
        "{prove:#}"
    );
    assert_eq!(
        std::fs::read_to_string(out("job.code")).unwrap().trim(),
        "0",
        "{}",
        std::fs::read_to_string(out("job.out")).unwrap_or_default()
    );
    let later = json("later.json")["path"]
        .as_str()
        .and_then(|p| p.rsplit('/').next())
        .unwrap()
        .to_owned();
    let listed = json("after-job.json");
    let item = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["filename"] == later.as_str())
        .unwrap_or_else(|| panic!("{listed:#}"));
    assert_eq!(
        (
            &item["verified"]["state"],
            &item["verified"]["depth"],
            &item["verified"]["by"]
        ),
        (
            &serde_json::json!("passed"),
            &serde_json::json!("deep"),
            &serde_json::json!(me.trim())
        ),
        "{item:#}"
    );

    // The policy from the laptop: the certificates went to the server's
    // home as public files; the recovery sheet stayed here.
    let set_here = json("set-here.json");
    assert_eq!(
        (&set_here["ways_in"], &set_here["server_holds_a_secret"]),
        (&serde_json::json!(2), &serde_json::json!(false)),
        "{set_here:#}"
    );
    let sheet = set_here["recovery_sheet"]
        .as_str()
        .unwrap_or_else(|| panic!("{set_here:#}"));
    assert!(
        sheet.starts_with(&out("sheets").display().to_string()),
        "{sheet}"
    );
    let recipients: Vec<String> = set_here["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fingerprint"].as_str().unwrap().to_owned())
        .collect();
    // (The login's home there is this account's own: the test's sshd.)
    let home = std::process::Command::new("sh")
        .args(["-c", "getent passwd \"$(id -un)\" | cut -d: -f6"])
        .output()
        .unwrap();
    let engine_state = std::path::PathBuf::from(String::from_utf8_lossy(&home.stdout).trim())
        .join(".local/state/backupdesk");
    let uploaded = engine_state.join("certificates");
    for fingerprint in &recipients {
        let file = uploaded.join(format!("{fingerprint}.asc"));
        let cert = std::fs::read_to_string(&file).unwrap();
        assert!(
            cert.contains("PUBLIC KEY BLOCK") && !cert.contains("PRIVATE"),
            "{cert}"
        );
        let _ = std::fs::remove_file(file);
    }
    // Every backup rewrapped there by the session keys from here: each now
    // names the laptop's key and the recovery key, and nothing else.
    let rewrap = json("rewrap.json");
    assert_eq!(rewrap["ok"], true, "{rewrap:#}");
    let rewrapped = rewrap["report"]["rewrapped"].as_array().unwrap();
    assert!(rewrapped.len() >= 3, "{rewrap:#}");
    let wanted: std::collections::BTreeSet<String> = set_here["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["key_ids"].as_array().unwrap().iter())
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    for name in rewrapped {
        let path = inst.data.backups().join(name.as_str().unwrap());
        let head = backupdesk_core::format::key_packets::KeyPackets::read(&path).unwrap();
        let ids: std::collections::BTreeSet<String> =
            head.recipient_key_ids().unwrap().into_iter().collect();
        assert_eq!(ids, wanted, "{name}");
    }
    let all_after = json("all-after.json");
    assert_eq!(all_after["ok"], true, "{all_after:#}");

    // The laptop's secret key (a line of its armor, from the recovery
    // sheet) is nowhere on the server's side: not in the installation, not
    // in the server's home (its engine's state, its operation records).
    let sheet = std::fs::read_to_string(out("Laptop.recovery.txt")).unwrap();
    let armor: Vec<&str> = sheet
        .lines()
        .skip_while(|l| !l.contains("BEGIN PGP PRIVATE KEY BLOCK"))
        .filter(|l| l.len() >= 60)
        .collect();
    assert!(armor.len() >= 3, "{sheet}");
    for line in &armor[1..3] {
        for root in [inst.root(), served.sshd.dir.path(), engine_state.as_path()] {
            assert_eq!(
                files_holding_below(root, line, 64 << 20),
                Vec::<std::path::PathBuf>::new(),
                "the secret key is on the server's side"
            );
        }
    }
}
