//! The ledger's own failures, told apart from a bank that does not answer.
//!
//! The engine hears [`buyster::BankError::Unavailable`] for both, and must: a ledger write that
//! failed leaves the outcome unknown (the transaction may or may not have committed), so the
//! payment stays authorized and the debit is asked again under the same idempotency key,
//! never made twice. But the buyer must not be told that the bank is slow when the server's
//! own storage failed, and the operator must hear of it: each failure is logged (once per
//! payment while it keeps failing, so that recovery's retries do not flood the log), counted
//! for the recovery task's report, and remembered for the payment until a call succeeds.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use super::super::db::DbError;

/// Payments remembered as failed at most: the oldest is forgotten first (its buyer was
/// answered long ago; recovery's count still tells the failures).
const REMEMBERED: usize = 1024;

/// What the ledger failed lately.
#[derive(Default)]
pub struct Faults {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Payments whose last ledger call failed, oldest first.
    payments: VecDeque<String>,
    /// Failures since [`Faults::take_count`] last read them.
    count: u64,
}

impl Faults {
    /// Notes that the `call` (`debit`, `refund`) of payment `payment_id` failed in the ledger
    /// with `error`; logs it unless the payment's last call failed too.
    pub fn failed(&self, payment_id: &str, call: &str, error: &DbError) {
        let mut inner = self.lock();
        inner.count = inner.count.saturating_add(1);
        if inner.payments.iter().any(|known| known == payment_id) {
            return;
        }
        if inner.payments.len() >= REMEMBERED {
            inner.payments.pop_front();
        }
        inner.payments.push_back(payment_id.to_owned());
        drop(inner);
        eprintln!(
            "error: bank ledger: the {call} of payment {payment_id} failed in the server's \
             storage: {error}; its outcome is unknown to the engine, which asks again under the \
             same idempotency key (no second debit); further failures for this payment are \
             counted by the recovery task"
        );
    }

    /// Notes that a call of payment `payment_id` reached the ledger.
    pub fn succeeded(&self, payment_id: &str) {
        self.lock().payments.retain(|known| known != payment_id);
    }

    /// Whether the last ledger call of payment `payment_id` failed.
    pub fn has_failed(&self, payment_id: &str) -> bool {
        self.lock().payments.iter().any(|known| known == payment_id)
    }

    /// The failures since the last call, counted from zero again.
    pub fn take_count(&self) -> u64 {
        std::mem::take(&mut self.lock().count)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change above leaves the lists whole: a poisoned lock is used as it is.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
