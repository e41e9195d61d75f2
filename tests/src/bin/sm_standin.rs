//! Runs the stand-in Server Monitor API on 127.0.0.1 (random port) until
//! killed, printing its base URL. For manual sessions and transcripts.
//!
//! usage: sm-standin DATA_DIR [--restore works|never-restores|empties-database|never-settles]
//!                            [--recreate-schema] [--distinct-names]
//! The server's backup passphrase comes from `$SM_PASSPHRASE`.
//!
//! `--restore` picks what its supervised restore does (contract §6.2, §6.8,
//! §6.9; default `works`), `--recreate-schema` makes an emptied server
//! restart once more with its tables recreated empty (§6.9), and
//! `--distinct-names` turns off the same-second names of §6.10.

use backupdesk_e2e::standin::{RestoreBehaviour, StandIn, StandInOptions};

const USAGE: &str = "usage: sm-standin DATA_DIR [--restore works|never-restores|empties-database|never-settles] [--recreate-schema] [--distinct-names]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().filter(|a| !a.starts_with("--")) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let passphrase =
        std::env::var("SM_PASSPHRASE").unwrap_or_else(|_| "stand-in passphrase".into());
    let mut options = StandInOptions::new(dir, &passphrase);
    options.token_lifetime = std::time::Duration::from_secs(24 * 3600);
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        match flag.as_str() {
            "--restore" => {
                options.restore = match rest.next().map(String::as_str) {
                    Some("works") => RestoreBehaviour::Works,
                    Some("never-restores") => RestoreBehaviour::NeverRestores,
                    Some("empties-database") => RestoreBehaviour::EmptiesDatabase,
                    Some("never-settles") => RestoreBehaviour::NeverSettles,
                    _ => {
                        eprintln!("{USAGE}");
                        std::process::exit(2);
                    }
                }
            }
            "--recreate-schema" => options.recreate_schema = true,
            "--distinct-names" => options.same_second_names = false,
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let server = StandIn::start(options);
    println!("{}", server.base_url);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
