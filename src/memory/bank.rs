//! [`MemoryBank`]: a ledger with idempotency keys and scriptable declines and outages.

use core::hash::BuildHasherDefault;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::host::{Bank, BankError, DebitReceipt, DebitRequest, DeclineReason};

use super::{Fnv, lock};

/// A failure for [`MemoryBank::fail_next`] to play on the next debit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BankFault {
    /// The bank declines: final for this idempotency key.
    Decline(DeclineReason),
    /// The bank cannot be reached: nothing applied, [`BankError::Unavailable`] returned.
    Unavailable,
    /// The debit is applied but the answer is lost: [`BankError::Unavailable`] returned. A
    /// retry with the same key gets the receipt of the debit already made.
    AppliedButUnavailable,
}

#[derive(Debug, Default)]
struct Ledger {
    /// First decided outcome per idempotency key.
    outcomes: HashMap<String, Result<DebitReceipt, DeclineReason>, BuildHasherDefault<Fnv>>,
    /// Debits applied, in order.
    applied: Vec<DebitRequest>,
    faults: VecDeque<BankFault>,
    attempts: usize,
}

impl Ledger {
    /// The outcome already decided for the key, or a new debit applied.
    fn apply(&mut self, request: &DebitRequest) -> Result<DebitReceipt, DeclineReason> {
        let key = request.idempotency_key();
        if let Some(first) = self.outcomes.get(key) {
            return first.clone();
        }
        self.applied.push(request.clone());
        let receipt = DebitReceipt::new(format!("MB-{:06}", self.applied.len()));
        self.outcomes.insert(key.to_owned(), Ok(receipt.clone()));
        Ok(receipt)
    }

    fn decline(
        &mut self,
        request: &DebitRequest,
        reason: DeclineReason,
    ) -> Result<DebitReceipt, DeclineReason> {
        self.outcomes
            .entry(request.idempotency_key().to_owned())
            .or_insert(Err(reason))
            .clone()
    }
}

/// A [`Bank`] in memory: a ledger that honours idempotency keys (a repeated key returns the
/// first outcome and moves nothing), with declines and outages scripted by
/// [`fail_next`](MemoryBank::fail_next).
#[derive(Clone, Debug, Default)]
pub struct MemoryBank(Arc<Mutex<Ledger>>);

impl MemoryBank {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The debits applied, in order: exactly one per confirmed payment.
    #[must_use]
    pub fn debits(&self) -> Vec<DebitRequest> {
        lock(&self.0).applied.clone()
    }

    /// Makes the next debit call play `fault`. Calls queue up.
    pub fn fail_next(&self, fault: BankFault) {
        lock(&self.0).faults.push_back(fault);
    }

    /// How many debit calls were made, repeated and failed ones included.
    #[must_use]
    pub fn attempts(&self) -> usize {
        lock(&self.0).attempts
    }
}

impl Bank for MemoryBank {
    async fn debit(&self, request: &DebitRequest) -> Result<DebitReceipt, BankError> {
        let mut ledger = lock(&self.0);
        ledger.attempts = ledger.attempts.saturating_add(1);
        let outcome = match ledger.faults.pop_front() {
            None => ledger.apply(request),
            Some(BankFault::Decline(reason)) => ledger.decline(request, reason),
            Some(BankFault::Unavailable) => return Err(BankError::Unavailable),
            Some(BankFault::AppliedButUnavailable) => {
                let _ = ledger.apply(request);
                return Err(BankError::Unavailable);
            }
        };
        outcome.map_err(BankError::Declined)
    }
}
