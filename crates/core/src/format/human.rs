//! Human-readable sizes exactly as the server writes them.

/// Formats `bytes` 1024-based with two decimals and the server's unit names:
/// `"220.00 KB"`, `"0.00 B"`, `"1.50 GB"`.
pub fn size_human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::size_human;

    #[test]
    fn matches_the_server_format() {
        assert_eq!(size_human(0), "0.00 B");
        assert_eq!(size_human(1023), "1023.00 B");
        assert_eq!(size_human(225_280), "220.00 KB");
        assert_eq!(size_human(1024 * 1024 * 3 / 2), "1.50 MB");
        assert_eq!(size_human(5 * 1024 * 1024 * 1024), "5.00 GB");
    }
}
