//! Stands in for Server Monitor's service in tests: commits one monitoring
//! sample to `monitoring_history` every INTERVAL milliseconds until killed
//! or until DURATION milliseconds have passed, then prints its commit count
//! and worst commit latency.
//!
//! usage: sm-writer DB INTERVAL_MS DURATION_MS

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: sm-writer DB INTERVAL_MS DURATION_MS");
        std::process::exit(2);
    }
    let interval = Duration::from_millis(args[2].parse().expect("interval in ms"));
    let duration = Duration::from_millis(args[3].parse().expect("duration in ms"));
    let conn = rusqlite::Connection::open(&args[1]).expect("open database");
    conn.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    let started = Instant::now();
    let mut commits = 0u64;
    let mut worst = Duration::ZERO;
    println!("ready");
    while started.elapsed() < duration {
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
