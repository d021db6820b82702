//! [`Timestamp`]: a point in time, in milliseconds since the Unix epoch, and its calendar form.

use core::fmt;
use core::time::Duration;

/// A point in time, in milliseconds since the Unix epoch (UTC).
///
/// `Display` and `Debug` print RFC 3339, for example `2026-11-27T13:41:00.000Z`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    #[must_use]
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, saturating at the end of representable time.
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(millis(duration)))
    }

    /// The time from `earlier` to `self`; zero when `earlier` is later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Whole milliseconds in `duration`, saturating.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, rest) = (self.0 / 86_400_000, self.0 % 86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute) = (rest / 3_600_000, rest / 60_000 % 60);
        let (second, milli) = (rest / 1000 % 60, rest % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// Year, month, day of the proleptic Gregorian calendar for a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
#[allow(
    clippy::arithmetic_side_effects,
    reason = "days < 2^64 / 86_400_000, so every intermediate stays far below u64::MAX"
)]
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_rfc3339_utc() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_795_786_860_123).to_string(),
            "2026-11-27T13:41:00.123Z"
        );
        // 2000-02-29 (a leap day of a century leap year) and 2100-03-01 (after a non-leap Feb).
        assert_eq!(
            Timestamp(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp(4_107_542_400_000).to_string(),
            "2100-03-01T00:00:00.000Z"
        );
        assert_eq!(
            format!("{:?}", Timestamp(0)),
            "Timestamp(1970-01-01T00:00:00.000Z)"
        );
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_millis(u64::MAX - 1);
        assert_eq!(
            t.saturating_add(Duration::from_secs(1)).as_unix_millis(),
            u64::MAX
        );
        let (early, late) = (Timestamp(1000), Timestamp(4000));
        assert_eq!(
            late.saturating_duration_since(early),
            Duration::from_secs(3)
        );
        assert_eq!(early.saturating_duration_since(late), Duration::ZERO);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
