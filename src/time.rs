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

    /// The instant written `text` in the form `Display` prints: RFC 3339 in UTC,
    /// `2026-11-27T13:41:00.000Z`, with 0 to 3 decimals of a second (none, or up to the
    /// millisecond a timestamp holds), an upper-case `T` and `Z`, and a year from 1970 (the
    /// years after 9999, which `Display` prints with more digits, read back too). `None` for
    /// anything else: another offset, a date or a time that does not exist, a finer precision.
    #[cfg(any(test, feature = "serde"))]
    pub(crate) fn from_rfc3339(text: &str) -> Option<Self> {
        let (date, clock) = text.split_once('T')?;
        let (year, month, day) = date_fields(date)?;
        let (hour, minute, second, milli) = clock_fields(clock.strip_suffix('Z')?)?;
        let valid = (1970..1_000_000_000).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        if !valid {
            return None;
        }
        unix_millis([year, month, day, hour, minute, second, milli]).map(Self)
    }
}

/// Year, month and day of `YYYY-MM-DD` (a year of 4 digits, or more without a leading zero).
#[cfg(any(test, feature = "serde"))]
fn date_fields(date: &str) -> Option<(u64, u64, u64)> {
    let mut fields = date.rsplitn(3, '-');
    let (day, month, year) = (fields.next()?, fields.next()?, fields.next()?);
    let year_ok = year.len() == 4 || (year.len() > 4 && !year.starts_with('0'));
    let year = number(year).filter(|_| year_ok)?;
    Some((year, two_digits(month)?, two_digits(day)?))
}

/// Hour, minute, second and millisecond of `HH:MM:SS`, `HH:MM:SS.f`, `.ff` or `.fff`.
#[cfg(any(test, feature = "serde"))]
fn clock_fields(clock: &str) -> Option<(u64, u64, u64, u64)> {
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut fields = hms.split(':');
    let (hour, minute, second) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let milli = match fraction.map(|f| (f.len(), number(f))) {
        None => 0,
        Some((1, Some(tenths))) => tenths.checked_mul(100)?,
        Some((2, Some(hundredths))) => hundredths.checked_mul(10)?,
        Some((3, Some(thousandths))) => thousandths,
        Some(_) => return None,
    };
    Some((
        two_digits(hour)?,
        two_digits(minute)?,
        two_digits(second)?,
        milli,
    ))
}

/// The value of 1 to 9 ASCII digits.
#[cfg(any(test, feature = "serde"))]
fn number(text: &str) -> Option<u64> {
    let digits = (1..=9).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// The value of exactly 2 ASCII digits.
#[cfg(any(test, feature = "serde"))]
fn two_digits(text: &str) -> Option<u64> {
    number(text).filter(|_| text.len() == 2)
}

/// Days of `month` in `year` of the proleptic Gregorian calendar.
#[cfg(any(test, feature = "serde"))]
fn days_in_month(year: u64, month: u64) -> u64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Milliseconds since the epoch of a valid date and time from 1970 on (Howard Hinnant's
/// `days_from_civil`); `None` past the end of representable time.
#[cfg(any(test, feature = "serde"))]
#[allow(
    clippy::arithmetic_side_effects,
    reason = "1970 <= year < 10^9 and the other fields in range: every intermediate stays far \
              below u64::MAX, and the last two steps are checked"
)]
fn unix_millis([year, month, day, hour, minute, second, milli]: [u64; 7]) -> Option<u64> {
    let year = year - u64::from(month <= 2);
    let (era, year_of_era) = (year / 400, year % 400);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let in_day = ((hour * 60 + minute) * 60 + second) * 1000 + milli;
    days.checked_mul(86_400_000)?.checked_add(in_day)
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

    #[test]
    fn reads_back_what_display_prints() {
        let mut millis = 0u64;
        for step in [1u64, 997, 86_399_999, 31_556_952_001, 1_795_786_860_123] {
            for _ in 0..200 {
                let t = Timestamp(millis);
                assert_eq!(Timestamp::from_rfc3339(&t.to_string()), Some(t), "{t}");
                millis = millis.wrapping_add(step.wrapping_mul(7919)) % (u64::MAX / 2);
            }
        }
        for t in [0, u64::MAX, 253_402_300_799_999, 253_402_300_800_000] {
            let t = Timestamp(t);
            assert_eq!(Timestamp::from_rfc3339(&t.to_string()), Some(t), "{t}");
        }
    }

    #[test]
    fn reads_rfc3339_utc_with_up_to_millisecond_precision() {
        let at = |text: &str| Timestamp::from_rfc3339(text).map(Timestamp::as_unix_millis);
        assert_eq!(at("2026-11-27T13:41:00Z"), Some(1_795_786_860_000));
        assert_eq!(at("2026-11-27T13:41:00.1Z"), Some(1_795_786_860_100));
        assert_eq!(at("2026-11-27T13:41:00.12Z"), Some(1_795_786_860_120));
        assert_eq!(at("2026-11-27T13:41:00.123Z"), Some(1_795_786_860_123));
        assert_eq!(at("2000-02-29T00:00:00.000Z"), Some(951_782_400_000));
        assert_eq!(at("2100-03-01T00:00:00.000Z"), Some(4_107_542_400_000));
        assert_eq!(at("1970-01-01T00:00:00.000Z"), Some(0));
    }

    #[test]
    fn refuses_other_spellings_and_impossible_dates() {
        for bad in [
            "",
            "2026-11-27",
            "2026-11-27T13:41:00",
            "2026-11-27T13:41:00.1234Z",
            "2026-11-27T13:41:00.Z",
            "2026-11-27T13:41:00+00:00",
            "2026-11-27T13:41:00.000+01:00",
            "2026-11-27t13:41:00.000z",
            "2026-11-27 13:41:00.000Z",
            "2026-11-27T13:41Z",
            "2026-11-27T13:41:00:00Z",
            "2026-11-27T24:00:00.000Z",
            "2026-11-27T13:60:00.000Z",
            "2026-11-27T13:41:60.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-00-01T00:00:00.000Z",
            "2026-04-31T00:00:00.000Z",
            "2026-02-29T00:00:00.000Z",
            "2100-02-29T00:00:00.000Z",
            "2026-1-27T13:41:00.000Z",
            "2026-11-7T13:41:00.000Z",
            "1969-12-31T23:59:59.999Z",
            "026-11-27T13:41:00.000Z",
            "02026-11-27T13:41:00.000Z",
            "+2026-11-27T13:41:00.000Z",
            "2026-11-27T13:41:00.-12Z",
            "2026-11-27T13:41:+0.000Z",
            "999999999-01-01T00:00:00.000Z",
            "1000000000-01-01T00:00:00.000Z",
            "١٩٧٠-01-01T00:00:00.000Z",
        ] {
            assert_eq!(Timestamp::from_rfc3339(bad), None, "{bad}");
        }
    }
}
