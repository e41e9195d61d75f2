//! A bandwidth limit (`--limit 5MiB/s`): after each piece sent, wait
//! until the bytes sent so far fit the rate since the start.

use std::time::{Duration, Instant};

use crate::offsite::OffsiteError;

/// Paces a transfer to at most `rate` bytes a second (no limit: `None`).
#[derive(Debug)]
pub struct Throttle {
    rate: Option<u64>,
    start: Instant,
    sent: u64,
}

impl Throttle {
    /// A limit of `rate` bytes a second, or none.
    pub fn new(rate: Option<u64>) -> Self {
        Throttle {
            rate,
            start: Instant::now(),
            sent: 0,
        }
    }

    /// No limit.
    pub(crate) fn unlimited() -> Self {
        Self::new(None)
    }

    /// Whether a rate is set.
    pub(crate) fn is_limited(&self) -> bool {
        self.rate.is_some()
    }

    /// Counts `bytes` sent, then sleeps as long as the limit asks.
    pub(crate) fn pace(&mut self, bytes: u64) {
        self.sent += bytes;
        if let Some(rate) = self.rate {
            std::thread::sleep(wait_for(self.sent, self.start.elapsed(), rate));
        }
    }
}

/// How long to wait after `sent` bytes in `elapsed` at `rate` bytes a second.
pub fn wait_for(sent: u64, elapsed: Duration, rate: u64) -> Duration {
    let due = Duration::from_secs_f64(sent as f64 / rate.max(1) as f64);
    due.saturating_sub(elapsed)
}

/// `5MiB/s`, `800KB/s`, `1G` (bytes a second; `/s` optional; K, M, G
/// are powers of 1000, Ki, Mi, Gi of 1024).
///
/// # Errors
/// [`OffsiteError::BadRate`] naming what is wrong.
pub fn parse_rate(text: &str) -> Result<u64, OffsiteError> {
    let bad = || {
        OffsiteError::BadRate(format!(
            "{text:?} is no rate: write a number and a unit, e.g. 5MiB/s, 800KB/s"
        ))
    };
    let t = text.trim().trim_end_matches("/s").trim_end_matches('B');
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let scale: f64 = match unit {
        "" => 1.0,
        "K" | "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let rate = (number * scale) as u64;
    if rate < 1024 {
        return Err(OffsiteError::BadRate(format!(
            "{text:?} is below 1 KiB/s: too slow to copy a backup"
        )));
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_with_their_units() {
        assert_eq!(parse_rate("5MiB/s").unwrap(), 5 * 1024 * 1024);
        assert_eq!(parse_rate("800KB/s").unwrap(), 800_000);
        assert_eq!(parse_rate("1G").unwrap(), 1_000_000_000);
        assert_eq!(parse_rate("1.5Mi").unwrap(), 1_572_864);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("5 parsecs").is_err());
        assert!(parse_rate("10").is_err());
    }

    #[test]
    fn the_wait_keeps_the_average_under_the_rate() {
        let mib = 1024 * 1024;
        assert_eq!(
            wait_for(10 * mib, Duration::from_secs(1), 5 * mib),
            Duration::from_secs(1)
        );
        assert_eq!(
            wait_for(mib, Duration::from_secs(1), 5 * mib),
            Duration::ZERO
        );
    }
}
