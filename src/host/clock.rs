//! The [`Clock`] the host provides, and the default [`SystemClock`].

use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::time::{Timestamp, millis};

/// The engine's source of time.
///
/// # Contract
///
/// `now` MUST be cheap and MUST NOT block. It SHOULD be monotonic; a clock that jumps back can
/// only extend lock, expiry and cooldown windows, never shorten them.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock; the default [`Clock`].
#[derive(Debug, Clone, Copy, Default)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a unit clock with nothing to add"
)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp::from_unix_millis(millis(since_epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2025() {
        assert!(SystemClock.now() > Timestamp::from_unix_millis(1_735_689_600_000));
    }
}
