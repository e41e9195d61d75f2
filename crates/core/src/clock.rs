//! Time is passed in, never read deep inside logic, so tests can pin it.

use chrono::{DateTime, FixedOffset, Local, TimeZone};

/// A source of "now", in the machine's local offset (backup names use local
/// time, as the server's scripts do).
pub trait Clock: Send + Sync {
    /// The current instant with the local UTC offset.
    fn now(&self) -> DateTime<FixedOffset>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
    }
}

/// A clock that always answers the same instant, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<FixedOffset>);

impl FixedClock {
    /// A fixed clock at `y-m-d h:mi:s` UTC.
    ///
    /// # Panics
    /// When the fields do not name a valid instant (a test-only helper).
    pub fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Self {
        let utc = FixedOffset::east_opt(0).expect("zero offset is valid");
        FixedClock(
            utc.with_ymd_and_hms(y, m, d, h, mi, s)
                .single()
                .expect("valid test instant"),
        )
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<FixedOffset> {
        self.0
    }
}
