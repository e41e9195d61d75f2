//! Shared fixtures: demo installations (generated once per size and copied),
//! the CLI, the real `gpg` with a private home, and file-state fingerprints.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use backupdesk_core::clock::FixedClock;
use backupdesk_core::demo::{DemoOptions, JournalMode, create_demo};
use backupdesk_core::layout::DataDir;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub const PASSPHRASE: &str = "correct horse battery staple";
pub const DEFAULT_PASSPHRASE: &str = "ServerMonitorBackup2026";
pub const MIB: u64 = 1024 * 1024;

/// A temporary Server Monitor installation plus a passphrase file outside it.
pub struct Installation {
    pub dir: TempDir,
    pub data: DataDir,
    pub passphrase_file: PathBuf,
}

impl Installation {
    /// An installation whose database is a copy of a generated demo database.
    pub fn demo(size: u64, mode: JournalMode) -> Self {
        let template = template(size, mode);
        let inst = Self::empty();
        std::fs::create_dir_all(inst.data.database().parent().unwrap()).unwrap();
        std::fs::copy(&template, inst.data.database()).unwrap();
        std::fs::create_dir_all(inst.data.backups()).unwrap();
        std::fs::set_permissions(inst.data.backups(), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        inst
    }

    /// An installation folder with no database at all.
    pub fn empty() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("bd-e2e-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("sm");
        std::fs::create_dir_all(&root).unwrap();
        let passphrase_file = dir.path().join("passphrase");
        write_private(&passphrase_file, &format!("{PASSPHRASE}\n"));
        Installation {
            data: DataDir::new(&root),
            dir,
            passphrase_file,
        }
    }

    pub fn root(&self) -> &Path {
        self.data.root()
    }

    /// `backupdesk --data-dir ROOT --passphrase-file F ARGS...`
    pub fn cli(&self, args: &[&str]) -> Command {
        self.cli_with(&self.passphrase_file, args)
    }

    /// The same with another passphrase file (a wrong or a new one).
    pub fn cli_with(&self, passphrase_file: &Path, args: &[&str]) -> Command {
        let mut cmd = backupdesk();
        cmd.arg("--data-dir")
            .arg(self.root())
            .arg("--passphrase-file")
            .arg(passphrase_file)
            .args(args);
        cmd
    }

    /// Runs the CLI with `--json`; returns the exit code and the parsed stdout.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut cmd = self.cli(args);
        cmd.arg("--json");
        run_json(cmd)
    }

    /// Makes a backup through the CLI and returns its file name.
    pub fn backup(&self) -> String {
        let (code, out) = self.json(&["backup"]);
        assert_eq!(code, 0, "backup failed: {out:#}");
        out["filename"].as_str().unwrap().to_owned()
    }

    /// A file in the backup folder.
    pub fn backup_path(&self, name: &str) -> PathBuf {
        self.data.backups().join(name)
    }

    /// SHA-256 of the live database and of every file in the backup folder:
    /// what must never change when an operation fails.
    pub fn fingerprint(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let db = self.data.database();
        if db.is_file() {
            map.insert("data/servers.db".to_owned(), sha256_file(&db));
        }
        if let Ok(read) = std::fs::read_dir(self.data.backups()) {
            for entry in read.flatten() {
                if entry.path().is_file() {
                    map.insert(
                        format!("data/backups/{}", entry.file_name().to_string_lossy()),
                        sha256_file(&entry.path()),
                    );
                }
            }
        }
        map
    }

    /// Files in the staging folder and temporaries in the backup folder.
    pub fn leftovers(&self) -> Vec<String> {
        let mut found = Vec::new();
        for dir in [self.data.staging(), self.data.backups()] {
            if let Ok(read) = std::fs::read_dir(&dir) {
                for entry in read.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if dir == self.data.staging() || name.starts_with('.') {
                        found.push(entry.path().display().to_string());
                    }
                }
            }
        }
        found
    }
}

/// Generated demo databases, keyed by (size, WAL?), kept for the whole run
/// in [`templates_root`].
type Templates = Mutex<HashMap<(u64, bool), PathBuf>>;

/// This run's folder of generated templates, `target/tmp/bd-templates-PID`
/// (Cargo's scratch folder for integration tests, so `cargo clean` removes it).
///
/// Statics are never dropped, so the folder outlives the run; each run
/// removes the folders of earlier runs whose process is gone.
fn templates_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(scratch) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(pid) = name.strip_prefix("bd-templates-") else {
                    continue;
                };
                if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let root = scratch.join(format!("bd-templates-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

fn template(size: u64, mode: JournalMode) -> PathBuf {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    let mut map = TEMPLATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let key = (size, mode == JournalMode::Wal);
    let path = map.entry(key).or_insert_with(|| {
        let dir = templates_root().join(format!("{}-{}", size, key.1));
        let data = DataDir::new(&dir);
        let options = DemoOptions {
            size_bytes: size,
            journal_mode: mode,
            ..DemoOptions::default()
        };
        create_demo(&data, &options, FixedClock::utc(2026, 11, 20, 12, 0, 0).0).unwrap();
        data.database()
    });
    path.clone()
}

/// The `backupdesk` binary.
pub fn backupdesk() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("backupdesk"));
    cmd.env_remove("DB_BACKUP_PASSPHRASE").stdin(Stdio::null());
    cmd
}

/// Runs a command whose stdout is one JSON document.
pub fn run_json(mut cmd: Command) -> (i32, serde_json::Value) {
    let out = cmd.output().expect("run command");
    let code = out.status.code().unwrap_or(-1);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, value)
}

/// Writes a file with mode 0600.
pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub fn sha256_file(path: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path).unwrap();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hex::encode(hasher.finalize())
}

/// The real `gpg`, with a private temporary home.
pub struct Gpg {
    home: TempDir,
}

impl Gpg {
    pub fn new() -> Self {
        let home = tempfile::Builder::new()
            .prefix("bd-gnupg-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        Gpg { home }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home.path());
        cmd
    }

    /// The server script's exact line:
    /// `echo "$PASS" | gpg --batch --yes --passphrase-fd 0 --symmetric --cipher-algo AES256 -o OUT IN`
    pub fn encrypt_like_script(&self, passphrase: &str, input: &Path, output: &Path) {
        let out = self.piped(
            self.command()
                .args([
                    "--batch",
                    "--yes",
                    "--passphrase-fd",
                    "0",
                    "--symmetric",
                    "--cipher-algo",
                    "AES256",
                    "-o",
                ])
                .arg(output)
                .arg(input),
            &format!("{passphrase}\n"),
        );
        assert!(
            out.status.success(),
            "gpg encrypt failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `gpg --batch --passphrase-fd 0 -d IN > OUT`; returns gpg's output.
    pub fn decrypt(&self, passphrase: &str, input: &Path, output: &Path) -> Output {
        self.piped(
            self.command()
                .args(["--batch", "--yes", "--passphrase-fd", "0", "-o"])
                .arg(output)
                .arg("-d")
                .arg(input),
            &format!("{passphrase}\n"),
        )
    }

    fn piped(&self, cmd: &mut Command, stdin: &str) -> Output {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

/// Writes a `.meta` the way Server Monitor's script does (six fields,
/// checksum of the plaintext).
pub fn write_script_meta(meta_path: &Path, db_name: &str, plaintext: &Path, database_path: &Path) {
    let size = std::fs::metadata(plaintext).unwrap().len();
    let meta = serde_json::json!({
        "backup_name": db_name,
        "timestamp": "2026-11-20T01:00:00+00:00",
        "size_bytes": size,
        "checksum_sha256": sha256_file(plaintext),
        "database_path": database_path.display().to_string(),
        "encrypted": true,
    });
    std::fs::write(meta_path, serde_json::to_string_pretty(&meta).unwrap()).unwrap();
}

/// Row counts per table of a SQLite file. Opened read-write (never
/// created) so that a hot journal left by a killed writer is rolled back.
pub fn table_counts(db: &Path) -> BTreeMap<String, i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|n| {
            let c: i64 = conn
                .query_row(&format!("SELECT count(*) FROM \"{n}\""), [], |r| r.get(0))
                .unwrap();
            (n, c)
        })
        .collect()
}

/// `PRAGMA integrity_check` through the real `sqlite3` CLI.
pub fn sqlite3_integrity(db: &Path) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg("PRAGMA integrity_check;")
        .output()
        .expect("sqlite3 is installed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A deterministic digest of every table's content (rows in rowid order),
/// independent of page layout. `monitoring_history_upto` limits that table
/// to rows with `id <= N` (rows a running service added later).
pub fn content_digest(db: &Path, monitoring_history_upto: Option<i64>) -> BTreeMap<String, String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut digests = BTreeMap::new();
    for name in names {
        let filter = match (name.as_str(), monitoring_history_upto) {
            ("monitoring_history", Some(max)) => format!(" WHERE id <= {max}"),
            _ => String::new(),
        };
        let order = if name == "system_settings" || name == "server_tag_map" || name == "sessions" {
            ""
        } else {
            " ORDER BY rowid"
        };
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{name}\"{filter}{order}"))
            .unwrap();
        let columns = stmt.column_count();
        let mut hasher = Sha256::new();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let value: rusqlite::types::Value = row.get(i).unwrap();
                hasher.update(format!("{value:?}\u{1f}").as_bytes());
            }
            hasher.update(b"\x1e");
        }
        digests.insert(name, hex::encode(hasher.finalize()));
    }
    digests
}

/// The largest `id` in `monitoring_history`.
pub fn max_history_id(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT coalesce(max(id), 0) FROM monitoring_history",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Changes the live database so it differs from earlier backups in several tables.
pub fn change_live(db: &Path, tag: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn.execute_batch(&format!(
        "DELETE FROM alerts WHERE id % 2 = 0;
         INSERT INTO tags (name, color) VALUES ('{tag}', '#000000');
         UPDATE servers SET status = 'maintenance' WHERE id % 3 = 0;
         INSERT INTO monitoring_history (server_id, timestamp, cpu_percent, status) SELECT server_id, timestamp, cpu_percent, 'copy' FROM monitoring_history LIMIT 500;"
    ))
    .unwrap();
}

/// Decrypts a backup with the real gpg into `out`.
pub fn gpg_decrypt_to(passphrase: &str, backup: &Path, out: &Path) {
    let result = Gpg::new().decrypt(passphrase, backup, out);
    assert!(
        result.status.success(),
        "gpg -d {}: {}",
        backup.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Whether `ours` has exactly the keys of `fixture`, recursively, with the
/// same JSON types (arrays compared by their first element).
pub fn same_shape(
    ours: &serde_json::Value,
    fixture: &serde_json::Value,
    path: &str,
) -> Result<(), String> {
    use serde_json::Value;
    match (ours, fixture) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: std::collections::BTreeSet<_> = a.keys().collect();
            let kb: std::collections::BTreeSet<_> = b.keys().collect();
            if ka != kb {
                return Err(format!("{path}: keys {ka:?} but the contract has {kb:?}"));
            }
            for key in kb {
                same_shape(&a[key], &b[key], &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => same_shape(x, y, &format!("{path}[0]")),
            _ => Ok(()),
        },
        // Unknown on one side (null) is compatible with any type.
        (Value::Null, _) | (_, Value::Null) => Ok(()),
        (Value::Number(a), Value::Number(b)) if a.is_f64() == b.is_f64() => Ok(()),
        (Value::String(_), Value::String(_)) | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        _ => Err(format!(
            "{path}: {ours} has another type than the contract's {fixture}"
        )),
    }
}

/// A contract fixture from `tests/fixtures/contract/`.
pub fn contract(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/contract")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// A tiny deterministic generator, so seeded tests kill at the same points.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Stands in for Server Monitor's service: `sm-writer` committing a sample
/// every 10 ms to `db`, started and ready. Kill it when done.
pub fn start_writer(db: &Path) -> std::process::Child {
    use std::io::BufRead;
    let mut writer = Command::new(assert_cmd::cargo::cargo_bin("sm-writer"))
        .arg(db)
        .args(["10", "120000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(writer.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    writer
}

/// Stops a writer started by [`start_writer`].
pub fn stop_writer(mut writer: std::process::Child) {
    writer.kill().unwrap();
    writer.wait().unwrap();
}

/// Runs `script` (bash) in a fresh D-Bus session with a real, unlocked
/// gnome-keyring (`tests/scripts/with-keyring.sh`). The script sees `$B`
/// (the CLI), `$ROOT` (the installation), `$PP` (its passphrase file),
/// `$OUT` (a folder for outputs) and `env`. Returns success and the
/// combined output.
pub fn keyring_session(
    inst: &Installation,
    env: &[(&str, &std::ffi::OsStr)],
    script: &str,
) -> (bool, String) {
    let out_dir = inst.dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let with_keyring = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/with-keyring.sh");
    let output = Command::new("dbus-run-session")
        .arg("--")
        .arg(with_keyring)
        .args(["bash", "-c", script])
        .env("B", assert_cmd::cargo::cargo_bin("backupdesk"))
        .env("ROOT", inst.root())
        .env("PP", &inst.passphrase_file)
        .env("OUT", &out_dir)
        .envs(env.iter().copied())
        .env_remove("DB_BACKUP_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .expect("dbus-run-session (package dbus-daemon) and gnome-keyring");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Only `.gpg` and `.meta` files in the backup folder, and no leftovers.
pub fn only_encrypted_files_in_backups(inst: &Installation) {
    for entry in std::fs::read_dir(inst.data.backups()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".gpg") || name.ends_with(".meta"),
            "unexpected file in data/backups: {name}"
        );
    }
    assert!(
        inst.leftovers().is_empty(),
        "leftovers: {:?}",
        inst.leftovers()
    );
}

/// Runs `restore ARGS --yes`, expects exit 1 with error kind `kind`, and
/// checks that the live database and every backup are unchanged.
pub fn assert_restore_fails(inst: &Installation, args: &[&str], kind: &str) -> String {
    let live = sha256_file(&inst.data.database());
    let before = inst.fingerprint();
    let mut full = vec!["restore"];
    full.extend_from_slice(args);
    full.push("--yes");
    let (code, out) = inst.json(&full);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some(kind)),
        "{args:?}: {out:#}"
    );
    assert_eq!(
        sha256_file(&inst.data.database()),
        live,
        "{args:?}: the live database changed"
    );
    assert_eq!(inst.fingerprint(), before, "{args:?}: files changed");
    assert!(
        inst.leftovers().is_empty(),
        "{args:?}: {:?}",
        inst.leftovers()
    );
    out["error"]["message"].as_str().unwrap().to_owned()
}
