//! The model of the path without a code and of refunds.

use buyster::StateKind;
use buyster::memory::BankFault;

use super::reference::{Expect, Model, Refund};

/// The most refunds a payment keeps.
const MAX_REFUNDS: usize = 10;

impl Model {
    /// `Payment::exemption`, then `authorize_exempt` and `settle`.
    pub fn authorize_exempt(&mut self, p: usize) -> Expect {
        if let Err(e) = self.resume(p, StateKind::PinVerified) {
            return e;
        }
        if !self.payments[p].exempt {
            return Expect::NotExempt;
        }
        if self.expired(p) {
            self.fail(p, super::reference::Reason::Expired);
            return Expect::Expired;
        }
        self.payments[p].state = StateKind::Authorized;
        self.payments[p].authorized_by_exemption = true;
        self.numbers[self.payments[p].number].without_code.push(p);
        self.settle_now(p)
    }

    /// `refund` under key `k{key}` of `amount` cents.
    pub fn refund(&mut self, p: usize, key: u8, amount: u64) -> Expect {
        if let Err(e) = self.resume(p, StateKind::Confirmed) {
            return e;
        }
        let payment = &mut self.payments[p];
        if let Some(known) = payment.refunds.iter().find(|r| r.key == key) {
            return match known.status {
                _ if known.amount != amount => Expect::RefundKeyReused,
                None => self.ask_bank(p, key),
                Some(Ok(())) => Expect::Ok,
                Some(Err(reason)) => Expect::Declined(reason),
            };
        }
        if payment.refunds.len() >= MAX_REFUNDS {
            return Expect::TooManyRefunds;
        }
        let taken: u64 = payment
            .refunds
            .iter()
            .filter(|r| !matches!(r.status, Some(Err(_))))
            .map(|r| r.amount)
            .sum();
        let left = payment.amount - taken;
        if amount > left {
            return Expect::RefundTooLarge((left > 0).then_some(left));
        }
        payment.refunds.push(Refund {
            key,
            amount,
            status: None,
        });
        self.ask_bank(p, key)
    }

    /// The bank's refund call, as the memory bank plays it, and the answer recorded.
    pub(super) fn ask_bank(&mut self, p: usize, key: u8) -> Expect {
        let fault = self.bank_faults.pop_front();
        let payment = &mut self.payments[p];
        let first = payment.refund_ledger.get(&key).copied();
        let outcome = match (fault, first) {
            (Some(BankFault::Unavailable), _) => return Expect::Bank,
            (Some(BankFault::AppliedButUnavailable), None) => {
                payment.refund_ledger.insert(key, Ok(()));
                self.refunds += 1;
                return Expect::Bank;
            }
            (Some(BankFault::AppliedButUnavailable), Some(_)) => return Expect::Bank,
            (Some(BankFault::Decline(reason)), None) => Err(reason),
            (_, Some(decided)) => decided,
            (None, None) => {
                self.refunds += 1;
                Ok(())
            }
            (Some(_), None) => unreachable!("no other fault"),
        };
        payment.refund_ledger.insert(key, outcome);
        if let Some(refund) = payment.refunds.iter_mut().find(|r| r.key == key) {
            refund.status = Some(outcome);
        }
        match outcome {
            Ok(()) => Expect::Ok,
            Err(reason) => Expect::Declined(reason),
        }
    }
}
