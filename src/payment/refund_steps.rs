//! The pure steps of a refund: a payment, a request and the time in; the next payment, or what
//! to ask the bank, out.

use crate::Error;
use crate::display_text;
use crate::host::{DeclineReason, RefundReceipt, RefundRequest};
use crate::money::{Amount, AmountError};
use crate::time::Timestamp;

use super::refund::{Refund, RefundState, RefundStatus};
use super::{Confirmed, Payment};
use crate::host::{RefundKey, RefundReason};

/// The most refunds a payment keeps, declined ones included.
pub(crate) const MAX_REFUNDS: u8 = 10;

/// The longest bank reference of a refund kept, in bytes.
const MAX_REFUND_REFERENCE: usize = 64;

/// What a refund asked for leads to.
#[derive(Debug)]
pub(crate) enum RefundStep {
    /// Refunded already under this key: nothing to do.
    Done(Payment<Confirmed>),
    /// Pending under this key: ask the bank again, with the same key.
    Ask(Payment<Confirmed>),
    /// New: record it pending, then ask the bank.
    Record(Payment<Confirmed>),
}

/// A refund of `amount` under `key` asked for at `now`.
///
/// # Errors
///
/// [`Error::InvalidAmount`] for another currency than the payment's, [`Error::RefundKeyReused`]
/// for a key already used with another amount or reason, [`Error::Declined`] for a key the
/// bank declined, [`Error::TooManyRefunds`], [`Error::RefundTooLarge`].
pub(crate) fn refund_asked(
    payment: Payment<Confirmed>,
    key: &RefundKey,
    amount: Amount,
    reason: RefundReason,
    now: Timestamp,
) -> Result<RefundStep, Error> {
    if amount.currency() != payment.head.order.amount().currency() {
        return Err(Error::InvalidAmount(AmountError::CurrencyMismatch));
    }
    if let Some(known) = payment.state.refunds.iter().find(|r| &r.key == key) {
        return asked_again(known, amount, reason).map(|again| again(payment));
    }
    if payment.state.refunds.len() >= usize::from(MAX_REFUNDS) {
        return Err(Error::TooManyRefunds);
    }
    let refundable = payment.refundable();
    if refundable.is_none_or(|left| amount.minor_units() > left.minor_units()) {
        return Err(Error::RefundTooLarge { refundable });
    }
    let mut payment = payment;
    payment.state.refunds.push(Refund {
        key: key.clone(),
        amount,
        reason,
        requested_at: now,
        state: RefundState::Pending,
    });
    Ok(RefundStep::Record(payment))
}

/// What the bank's answer to a pending refund leads to.
#[derive(Debug)]
pub(crate) enum RefundDecision {
    /// The payment with the answer, to store.
    Record(Payment<Confirmed>),
    /// The payment as it is: a racing call recorded the answer first.
    Decided(Payment<Confirmed>),
}

/// What a refund asked for again under the key of `known` leads to: the first answer.
fn asked_again(
    known: &Refund,
    amount: Amount,
    reason: RefundReason,
) -> Result<fn(Payment<Confirmed>) -> RefundStep, Error> {
    if known.amount != amount || known.reason != reason {
        return Err(Error::RefundKeyReused);
    }
    match known.state {
        RefundState::Pending => Ok(RefundStep::Ask),
        RefundState::Refunded { .. } => Ok(RefundStep::Done),
        RefundState::Declined(reason) => Err(Error::Declined(reason)),
    }
}

/// The bank's answer to the refund under `key`, recorded at `now`.
pub(crate) fn refund_decided(
    payment: Payment<Confirmed>,
    key: &RefundKey,
    outcome: &Result<RefundReceipt, DeclineReason>,
    now: Timestamp,
) -> RefundDecision {
    let mut payment = payment;
    let Some(refund) = payment
        .state
        .refunds
        .iter_mut()
        .find(|r| &r.key == key && r.state == RefundState::Pending)
    else {
        return RefundDecision::Decided(payment);
    };
    match outcome {
        Ok(receipt) => {
            refund.state = RefundState::Refunded {
                reference: display_text::cut(receipt.reference(), MAX_REFUND_REFERENCE).to_owned(),
                at: now,
            };
        }
        Err(reason) => refund.state = RefundState::Declined(*reason),
    }
    RefundDecision::Record(payment)
}

/// What to ask the bank for the refund under `key` of `payment`.
pub(crate) fn refund_request(payment: &Payment<Confirmed>, refund: &Refund) -> RefundRequest {
    let receipt = payment.receipt();
    RefundRequest {
        payment_id: payment.head.id,
        idempotency_key: format!("{}/refund/{}", payment.head.id, refund.key),
        refund_key: refund.key.clone(),
        amount: refund.amount,
        merchant: receipt.merchant().clone(),
        reference: receipt.order_reference().to_owned(),
        debit_reference: receipt.bank_reference().to_owned(),
        reason: refund.reason,
    }
}

impl Payment<Confirmed> {
    /// Its refunds, oldest first, declined ones included.
    #[must_use]
    pub fn refunds(&self) -> &[Refund] {
        &self.state.refunds
    }

    /// The refund under `key`, if one was asked for.
    #[must_use]
    pub fn refund(&self, key: &RefundKey) -> Option<&Refund> {
        self.state.refunds.iter().find(|r| &r.key == key)
    }

    /// What the bank has given back so far; `None` for nothing.
    #[must_use]
    pub fn refunded(&self) -> Option<Amount> {
        let minor = self
            .state
            .refunds
            .iter()
            .filter(|r| r.status() == RefundStatus::Refunded)
            .fold(0u64, |sum, r| sum.saturating_add(r.amount.minor_units()));
        Amount::new(minor, self.head.order.amount().currency()).ok()
    }

    /// What may still be refunded: the amount debited less the refunds refunded or pending;
    /// `None` for nothing.
    #[must_use]
    pub fn refundable(&self) -> Option<Amount> {
        let taken = self
            .state
            .refunds
            .iter()
            .filter(|r| r.counts())
            .fold(0u64, |sum, r| sum.saturating_add(r.amount.minor_units()));
        let amount = self.head.order.amount();
        Amount::new(
            amount.minor_units().saturating_sub(taken),
            amount.currency(),
        )
        .ok()
    }
}
