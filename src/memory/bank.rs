//! [`MemoryBank`]: a ledger with idempotency keys and scriptable declines and outages.

use core::hash::BuildHasherDefault;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::host::{
    Bank, BankError, DebitReceipt, DebitRequest, DeclineReason, RefundReceipt, RefundRequest,
};

use super::{WordHash, lock};

/// A failure for [`MemoryBank::fail_next`] to play on the next call, debit or refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BankFault {
    /// The bank declines: final for this idempotency key.
    Decline(DeclineReason),
    /// The bank cannot be reached: nothing applied, [`BankError::Unavailable`] returned.
    Unavailable,
    /// The debit (or refund) is applied but the answer is lost: [`BankError::Unavailable`]
    /// returned. A retry with the same key gets the receipt of what was already done.
    AppliedButUnavailable,
}

type Outcomes<T> = HashMap<String, Result<T, DeclineReason>, BuildHasherDefault<WordHash>>;

#[derive(Debug, Default)]
struct Ledger {
    /// First decided outcome per idempotency key.
    outcomes: Outcomes<DebitReceipt>,
    /// Debits applied, in order.
    applied: Vec<DebitRequest>,
    /// First decided outcome per refund idempotency key.
    refund_outcomes: Outcomes<RefundReceipt>,
    /// Refunds applied, in order.
    refunds: Vec<RefundRequest>,
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

    /// The outcome already decided for the refund's key, or the refund applied: refused when
    /// the payment was not debited here, or when it would give back more than was debited.
    fn apply_refund(&mut self, request: &RefundRequest) -> Result<RefundReceipt, DeclineReason> {
        let key = request.idempotency_key();
        if let Some(first) = self.refund_outcomes.get(key) {
            return first.clone();
        }
        let outcome = if self.refund_fits(request) {
            self.refunds.push(request.clone());
            Ok(RefundReceipt::new(format!("MR-{:06}", self.refunds.len())))
        } else {
            Err(DeclineReason::Refused)
        };
        self.refund_outcomes.insert(key.to_owned(), outcome.clone());
        outcome
    }

    fn refund_fits(&self, request: &RefundRequest) -> bool {
        let payment = request.payment_id();
        let Some(debit) = self.applied.iter().find(|d| d.payment_id() == payment) else {
            return false;
        };
        let refunded = self
            .refunds
            .iter()
            .filter(|r| r.payment_id() == payment)
            .fold(0u64, |sum, r| sum.saturating_add(r.amount().minor_units()));
        let total = refunded.saturating_add(request.amount().minor_units());
        request.amount().currency() == debit.amount().currency()
            && total <= debit.amount().minor_units()
    }

    fn decline_refund(
        &mut self,
        request: &RefundRequest,
        reason: DeclineReason,
    ) -> Result<RefundReceipt, DeclineReason> {
        self.refund_outcomes
            .entry(request.idempotency_key().to_owned())
            .or_insert(Err(reason))
            .clone()
    }

    fn next_fault(&mut self) -> Option<BankFault> {
        self.attempts = self.attempts.saturating_add(1);
        self.faults.pop_front()
    }
}

/// A [`Bank`] in memory: a ledger that honours idempotency keys (a repeated key returns the
/// first outcome and moves nothing), for debits and refunds alike, with declines and outages
/// scripted by [`fail_next`](MemoryBank::fail_next). It refuses a refund of a payment it did
/// not debit, or of more than it debited less the earlier refunds.
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

    /// The refunds applied, in order: exactly one per refund key refunded.
    #[must_use]
    pub fn refunds(&self) -> Vec<RefundRequest> {
        lock(&self.0).refunds.clone()
    }

    /// Makes the next call, debit or refund, play `fault`. Calls queue up.
    pub fn fail_next(&self, fault: BankFault) {
        lock(&self.0).faults.push_back(fault);
    }

    /// How many calls were made, debits and refunds, repeated and failed ones included.
    #[must_use]
    pub fn attempts(&self) -> usize {
        lock(&self.0).attempts
    }
}

impl Bank for MemoryBank {
    async fn debit(&self, request: &DebitRequest) -> Result<DebitReceipt, BankError> {
        let mut ledger = lock(&self.0);
        let outcome = match ledger.next_fault() {
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

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt, BankError> {
        let mut ledger = lock(&self.0);
        let outcome = match ledger.next_fault() {
            None => ledger.apply_refund(request),
            Some(BankFault::Decline(reason)) => ledger.decline_refund(request, reason),
            Some(BankFault::Unavailable) => return Err(BankError::Unavailable),
            Some(BankFault::AppliedButUnavailable) => {
                let _ = ledger.apply_refund(request);
                return Err(BankError::Unavailable);
            }
        };
        outcome.map_err(BankError::Declined)
    }
}
