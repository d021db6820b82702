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

/// A word-at-a-time hash (FxHash's step, then a MurmurHash3 finish so the top bits that pick a
/// shard are mixed too): enough for the keys the engine makes (random ids, keyed hashes), which
/// no client chooses, and much cheaper than SipHash, or a byte-at-a-time hash, on them.
#[derive(Default)]
pub(crate) struct WordHash(u64);

impl WordHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            for (to, from) in buf.iter_mut().zip(rest) {
                *to = *from;
            }
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }
}

/// Locks `mutex`, carrying on after a panic elsewhere: every update here is a single step that
/// leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
