//! Timing for the bench binaries: each run after `sync` and a quiet pause,
//! under GNU time for its peak RSS; inputs read once beforehand.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Quiet time before each run. Memory a run frees is handed back to the
/// hypervisor within about 2 s on this project's virtual machines (free page
/// reporting), and touching fresh memory costs about 3 ms per MiB there, so
/// without this pause each side would partly be timed on the pages the
/// other side had just freed.
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(5);

/// One timed run: wall time and peak RSS.
pub struct Run {
    pub seconds: f64,
    pub rss_kib: u64,
}

/// Runs `program args` under `/usr/bin/time`, returning wall time and peak RSS.
/// Dirty pages of the previous command are flushed first (`sync`, not
/// timed), so neither side pays for the other's writeback, then [`SETTLE`].
pub fn timed(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let _ = Command::new("sync").status();
    std::thread::sleep(SETTLE);
    let rss_file = std::env::temp_dir().join(format!("bd-bench-rss-{}", std::process::id()));
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(program)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .status()
        .expect("run /usr/bin/time (package: time)");
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "{} {args:?} failed", program.display());
    let rss_kib = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    let _ = std::fs::remove_file(&rss_file);
    Run { seconds, rss_kib }
}

/// Reads `files` once (untimed), as a backup just made or a database in use
/// would be: the state each run of a pair starts from.
pub fn warm(files: &[&Path]) {
    for file in files {
        let mut f = std::fs::File::open(file).expect("open a bench input");
        std::io::copy(&mut f, &mut std::io::sink()).expect("read a bench input");
    }
}

/// Runs `script` with bash, timed as [`timed`].
pub fn sh(script: &str) -> Run {
    timed(Path::new("/bin/bash"), &["-c", script], &[])
}

/// Two sides timed in pairs, summed up: each side's median, the per-pair
/// ratios (ours / reference) and their median, each side's peak RSS.
pub fn pair_summary(
    scenario: &str,
    ours: &[Run],
    reference: &[Run],
) -> serde_json::Map<String, serde_json::Value> {
    use crate::bench_args::median;
    use serde_json::json;
    let ratios: Vec<f64> = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| a.seconds / b.seconds)
        .collect();
    let seconds = |runs: &[Run]| median(&runs.iter().map(|r| r.seconds).collect::<Vec<_>>());
    let rss = |runs: &[Run]| runs.iter().map(|r| r.rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let summary = json!({
        "scenario": scenario,
        "ours_median_s": seconds(ours),
        "reference_median_s": seconds(reference),
        "ratio_median": median(&ratios),
        "pair_ratios": ratios,
        "ours_peak_rss_mib": rss(ours),
        "reference_peak_rss_mib": rss(reference),
    });
    match summary {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    }
}
