//! Stands in for Server Monitor's service in tests: commits one monitoring
//! sample to `monitoring_history` every INTERVAL milliseconds until killed
//! or until DURATION milliseconds have passed, then prints its commit count
//! and worst commit latency.
//!
//! With `--until-stdin-closes` it also stops (and reports) when its stdin
//! closes, so a bench can stop it and still read its count.
//!
//! usage: sm-writer DB INTERVAL_MS DURATION_MS [--until-stdin-closes]

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: sm-writer DB INTERVAL_MS DURATION_MS [--until-stdin-closes]");
        std::process::exit(2);
    }
    let interval = Duration::from_millis(args[2].parse().expect("interval in ms"));
    let duration = Duration::from_millis(args[3].parse().expect("duration in ms"));
    let conn = rusqlite::Connection::open(&args[1]).expect("open database");
    conn.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if args.get(4).map(String::as_str) == Some("--until-stdin-closes") {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let started = Instant::now();
    let mut commits = 0u64;
    let mut worst = Duration::ZERO;
    println!("ready");
    while started.elapsed() < duration && !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let t = Instant::now();
        conn.execute(
            "INSERT INTO monitoring_history (server_id, timestamp, cpu_percent, memory_percent, status, top_processes)
             VALUES (1 + abs(random()) % 4, datetime('now'), abs(random()) % 100, abs(random()) % 100, 'ok', hex(randomblob(64)))",
            [],
        )
        .expect("commit a sample");
        worst = worst.max(t.elapsed());
        commits += 1;
        std::thread::sleep(interval);
    }
    println!("commits={commits} worst_ms={}", worst.as_millis());
}
