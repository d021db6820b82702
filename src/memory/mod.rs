//! An in-memory host: every trait implemented with no setup, for tests, examples and demos.
//!
//! Each type is a cheap `Clone` handle onto shared state: give one clone to the engine and keep
//! another to look inside (the SMS outbox, the bank's ledger, the audit trail) or to script
//! failures.

mod bank;
mod clock;
mod events;
mod sms;
mod store;

use core::hash::Hasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use bank::{BankFault, MemoryBank};
pub use clock::ManualClock;
pub use events::MemoryEvents;
pub use sms::MemorySms;
pub use store::MemoryStore;

/// FNV-1a: enough for the keys the engine makes (random ids, keyed hashes), which no client
/// chooses, and much cheaper than SipHash on these short strings.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// Locks `mutex`, carrying on after a panic elsewhere: every update here is a single step that
/// leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
