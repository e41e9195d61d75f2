//! Runs the stand-in Server Monitor API on 127.0.0.1 (random port) until
//! killed, printing its base URL. For manual sessions and transcripts.
//!
//! usage: sm-standin DATA_DIR [--empty-db-after-restore]
//! The server's backup passphrase comes from `$SM_PASSPHRASE`.

use backupdesk_e2e::standin::{StandIn, StandInOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: sm-standin DATA_DIR [--empty-db-after-restore]");
        std::process::exit(2);
    };
    let server = StandIn::start(StandInOptions {
        data_dir: dir.into(),
        passphrase: std::env::var("SM_PASSPHRASE").unwrap_or_else(|_| "stand-in passphrase".into()),
        token_lifetime: std::time::Duration::from_secs(24 * 3600),
        empty_db_after_restore: args.iter().any(|a| a == "--empty-db-after-restore"),
    });
    println!("{}", server.base_url);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
