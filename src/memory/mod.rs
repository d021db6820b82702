//! An in-memory host: every trait implemented with no setup, for tests, examples and demos.
//!
//! Each type is a cheap `Clone` handle onto shared state: give one clone to the engine and keep
//! another to look inside (the SMS outbox, the bank's ledger) or to script failures.

mod bank;
mod clock;
mod sms;
mod store;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use bank::{BankFault, MemoryBank};
pub use clock::ManualClock;
pub use sms::MemorySms;
pub use store::MemoryStore;

/// Locks `mutex`, carrying on after a panic elsewhere: every update here is a single step that
/// leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
