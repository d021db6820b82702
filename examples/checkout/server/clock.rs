//! [`ServerClock`]: the wall clock, which tests can move forward.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use buyster::{Clock, SystemClock, Timestamp};

/// The operating system's clock plus an offset that only moves forward.
///
/// The offset is always zero in a running server; the tests move it to reach expiries, lock
/// ends and resend cooldowns without waiting for them. Clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct ServerClock {
    offset_millis: Arc<AtomicU64>,
}

impl ServerClock {
    /// Moves the clock forward by `step`.
    #[allow(
        dead_code,
        reason = "the tests move time forward; the server never does"
    )]
    pub fn advance(&self, step: Duration) {
        let step = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .offset_millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                Some(offset.saturating_add(step))
            });
    }
}

impl Clock for ServerClock {
    fn now(&self) -> Timestamp {
        let offset = Duration::from_millis(self.offset_millis.load(Ordering::SeqCst));
        SystemClock.now().saturating_add(offset)
    }
}
