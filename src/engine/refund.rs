//! Refunds: part or all of a confirmed payment given back, once per refund key.

use crate::Error;
use crate::events::EventKind;
use crate::host::{Bank, BankError, Clock, DeclineReason, RefundReceipt, SmsGateway, Store};
use crate::host::{RefundKey, RefundReason};
use crate::money::Amount;
use crate::payment::refund_steps::{
    RefundDecision, RefundStep, refund_asked, refund_decided, refund_request,
};
use crate::payment::{Confirmed, Payment, RefundStatus};

use super::Engine;
use super::trace::{step_span, traced};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Gives `amount` of a confirmed payment back to the buyer, for `reason`, under the
    /// merchant's refund `key`.
    ///
    /// Full or partial: several refunds of a payment never exceed what it debited. Each is
    /// idempotent on its key: the refund is recorded in the payment, pending, by
    /// compare-and-swap before [`Bank::refund`] is called with an idempotency key made of the
    /// payment id and `key`; the bank's answer is then recorded. Asking again with the same key
    /// and amount returns the payment as it is once refunded, asks the bank again (same key)
    /// while it is pending, and never refunds twice. A pending refund's amount is set aside:
    /// no other refund can take it.
    ///
    /// A refund gives back no room under the spending limits: those count what the buyer
    /// authorized.
    ///
    /// # Errors
    ///
    /// [`Error::RefundTooLarge`] (nothing moves), [`Error::TooManyRefunds`],
    /// [`Error::RefundKeyReused`] for a key used for another amount or reason,
    /// [`Error::InvalidAmount`] for another currency, [`Error::Declined`] (the refund is
    /// recorded declined, and its amount free again), [`Error::Bank`] when the bank's answer is
    /// unknown (the refund stays pending: ask again with the same key), [`Error::WrongState`],
    /// [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Amount, Confirmed, Error, PaymentId, RefundKey, RefundReason};
    ///
    /// /// The merchant's "refund" button, keyed by its own return number: a retry after a timeout
    /// /// never refunds twice.
    /// async fn refund_return(
    ///     engine: &Engine,
    ///     id: PaymentId,
    ///     rma: &str,
    ///     cents: u64,
    /// ) -> Result<(), Error> {
    ///     let paid = engine.resume::<Confirmed>(id).await?;
    ///     let key: RefundKey = rma.parse()?;
    ///     let amount = Amount::new(cents, paid.order().amount().currency())?;
    ///     engine.refund(paid, amount, RefundReason::Returned, &key).await?;
    ///     Ok(())
    /// }
    /// ```
    pub async fn refund(
        &self,
        payment: Payment<Confirmed>,
        amount: Amount,
        reason: RefundReason,
        key: &RefundKey,
    ) -> Result<Payment<Confirmed>, Error> {
        let span = step_span!("buyster.refund", payment = %payment.id());
        traced(span, async move {
            self.update_payment(payment, |payment| {
                Box::pin(async move {
                    let now = self.clock.now();
                    match refund_asked(payment, key, amount, reason, now)? {
                        RefundStep::Done(done) => Ok(Some(done)),
                        RefundStep::Ask(pending) => self.ask_refund(pending, key).await.map(Some),
                        RefundStep::Record(next) => {
                            let kind = EventKind::RefundRequested { amount };
                            let Some(stored) = self.replace_reporting(next, kind, now).await?
                            else {
                                return Ok(None);
                            };
                            self.ask_refund(stored, key).await.map(Some)
                        }
                    }
                })
            })
            .await
        })
        .await
    }

    /// Asks the bank for the pending refund under `key`, and records its answer.
    pub(super) async fn ask_refund(
        &self,
        payment: Payment<Confirmed>,
        key: &RefundKey,
    ) -> Result<Payment<Confirmed>, Error> {
        let refund = payment.refund(key).ok_or(Error::Tampered)?;
        let outcome = match self.bank.refund(&refund_request(&payment, refund)).await {
            Ok(receipt) => Ok(receipt),
            Err(BankError::Declined(reason)) => Err(reason),
            Err(error) => return Err(Error::Bank(error)),
        };
        let stored = self.record_refund(payment, key, &outcome).await?;
        // The answer recorded first is the refund's, whoever recorded it.
        match stored.refund(key).map(crate::payment::Refund::status) {
            Some(RefundStatus::Declined(reason)) => Err(Error::Declined(reason)),
            _ => Ok(stored),
        }
    }

    /// Records the bank's answer to the refund under `key` by compare-and-swap, reading again
    /// after a lost race; a refund decided meanwhile by a racing call is left as it is.
    async fn record_refund(
        &self,
        payment: Payment<Confirmed>,
        key: &RefundKey,
        outcome: &Result<RefundReceipt, DeclineReason>,
    ) -> Result<Payment<Confirmed>, Error> {
        self.update_payment(payment, |payment| {
            Box::pin(async move {
                let now = self.clock.now();
                let next = match refund_decided(payment, key, outcome, now) {
                    RefundDecision::Record(next) => next,
                    RefundDecision::Decided(decided) => return Ok(Some(decided)),
                };
                match refund_event(&next, key) {
                    Some(kind) => self.replace_reporting(next, kind, now).await,
                    None => self.replace(next).await,
                }
            })
        })
        .await
    }
}

/// The event of the bank's answer to the refund `key` of `payment`, as recorded.
fn refund_event(payment: &Payment<Confirmed>, key: &RefundKey) -> Option<EventKind> {
    let refund = payment.refund(key)?;
    let amount = refund.amount();
    Some(match refund.status() {
        RefundStatus::Declined(reason) => EventKind::RefundDeclined { amount, reason },
        RefundStatus::Pending | RefundStatus::Refunded => EventKind::Refunded { amount },
    })
}
