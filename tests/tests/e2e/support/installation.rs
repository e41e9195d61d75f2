//! Temporary installations (demo databases generated once per size and
//! copied), the CLI, and file-state fingerprints.

use backupdesk_core::clock::FixedClock;
use backupdesk_core::local::demo::{DemoOptions, JournalMode, create_demo};
use backupdesk_core::local::layout::DataDir;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use tempfile::TempDir;

#[allow(unused_imports)]
use super::*;

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

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path).unwrap();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hex::encode(hasher.finalize())
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
