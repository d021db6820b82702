//! Tools for testing a host (feature `testkit`, off by default).
//!
//! - [`store_conformance`] runs the battery of checks a [`Store`](crate::Store) must pass for
//!   the engine's guarantees to hold: call it from your own tests with your own store.
//! - [`FaultyStore`], [`FaultySms`] and [`FaultyBank`] wrap a host and fail chosen calls in a
//!   chosen way, following a [`FaultPlan`] that numbers the calls of all three in order: fail
//!   before applying, fail after applying (the ambiguous write, the lost answer), or yield to
//!   the scheduler inside the call. A plan is explicit or drawn from a seed, so every failure
//!   reproduces.
//! - [`block_on`] drives a future on the current thread, for tests on plain `std` threads.
//! - [`CryptoWork`] counts the HMAC evaluations and random draws made on a thread, the floor
//!   of what a checkout costs; [`PaymentCodec`] opens the record codec to benchmarks.
//!
//! ```
//! use buyster::memory::MemoryStore;
//! let report = buyster::testkit::store_conformance(MemoryStore::new);
//! assert!(report.checks().contains(&"concurrent compare-and-swap storm"));
//! ```

mod codec;
mod conformance;
mod faults;

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::task::Wake;
use std::thread::{self, Thread};

pub use codec::PaymentCodec;
pub use conformance::{ConformanceFailure, ConformanceReport, check_store, store_conformance};
pub use faults::{Call, Fault, FaultPlan, FaultyBank, FaultySms, FaultyStore, InjectedFault};

/// The cryptographic work done on this thread: HMAC-SHA256 evaluations and random draws (an
/// id, a salt, a code), counted where the engine makes them.
///
/// ```
/// use buyster::testkit::CryptoWork;
/// let before = CryptoWork::on_this_thread();
/// let _key = buyster::SecretKey::generate();
/// assert_eq!(CryptoWork::on_this_thread().since(before).random_draws, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CryptoWork {
    /// HMAC-SHA256 evaluations (tags made or verified).
    pub hmacs: u64,
    /// Bytes of message those evaluations covered.
    pub hmac_bytes: u64,
    /// Draws from the random number generator.
    pub random_draws: u64,
    /// Comparisons of secret tags (a PIN's, a code's, a record's), all in constant time: a
    /// comparison written with `==` would not be counted.
    pub constant_time_comparisons: u64,
}

impl CryptoWork {
    /// The work done on this thread since it started.
    #[must_use]
    pub fn on_this_thread() -> Self {
        let (hmacs, hmac_bytes, random_draws) = crate::crypto::count::totals();
        Self {
            hmacs,
            hmac_bytes,
            random_draws,
            constant_time_comparisons: crate::crypto::count::comparisons(),
        }
    }

    /// The work done between `earlier` and `self`.
    #[must_use]
    pub fn since(self, earlier: Self) -> Self {
        Self {
            hmacs: self.hmacs.saturating_sub(earlier.hmacs),
            hmac_bytes: self.hmac_bytes.saturating_sub(earlier.hmac_bytes),
            random_draws: self.random_draws.saturating_sub(earlier.random_draws),
            constant_time_comparisons: self
                .constant_time_comparisons
                .saturating_sub(earlier.constant_time_comparisons),
        }
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the current thread, parking it while the future waits.
///
/// Enough for the in-memory host and for stores whose futures need no runtime of their own;
/// inside an async runtime, `.await` instead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        thread::park();
    }
}

/// A future that is pending once, asking to be polled again: a scheduling point for async
/// runtimes, plus an OS-level yield for plain threads.
pub(crate) async fn yield_once() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            thread::yield_now();
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}
