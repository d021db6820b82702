//! Failing a payment that cannot be authorized any more (expiry, cancellation), and giving back
//! what a failed payment reserved of its number's spending limits.

use crate::Error;
use crate::events::EventKind;
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::payment::steps::failed;
use crate::payment::{AnyPayment, Failed, FailureReason, Payment, StateRecord};
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

use super::Engine;
use super::records::Attempt;

/// How a payment stands once [`Engine::fail_if_open`] is done with it.
pub(super) enum Ended {
    /// It is now `Failed`, for the reason given.
    Failed(Payment<Failed>),
    /// It was `Authorized`, `Confirmed` or `Failed` already, and is left as it is.
    Settled(AnyPayment),
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Fails the payment `start` (as read) for the reason `why` gives of it, by compare-and-swap
    /// if it is not authorized yet; after a lost race, reads it again and decides again. A
    /// payment failed here gives its share of the spending limits back.
    pub(super) async fn fail_if_open(
        &self,
        start: AnyPayment,
        why: impl Fn(&AnyPayment) -> FailureReason + Sync,
        now: Timestamp,
    ) -> Result<Ended, Error> {
        let (id, why) = (start.id(), &why);
        self.retry(start, |any| {
            Box::pin(async move {
                let reason = why(&any);
                let kind = EventKind::Failed(reason);
                let next = match any {
                    AnyPayment::Initiated(p) => failed(p, reason, now),
                    AnyPayment::PinVerified(p) => failed(p, reason, now),
                    AnyPayment::OtpSent(p) => failed(p, reason, now),
                    settled => return Ok(Attempt::Done(Ended::Settled(settled))),
                };
                match self.store_failure(next, kind, now).await? {
                    Some(done) => Ok(Attempt::Done(Ended::Failed(done))),
                    None => Ok(Attempt::Again(self.read_payment(id).await?)),
                }
            })
        })
        .await
    }

    /// Stores `next`, a payment just failed, by compare-and-swap at the version it was read
    /// with, and gives back what it reserved of its number's spending limits; `None` when a
    /// racing writer got there first, and nothing was written.
    ///
    /// A store that writes batches takes both in one write, and the failed payment leaves the
    /// due index at once ([`Engine::fail_together`]). Otherwise (or when the guard fails its
    /// integrity check: a payment's end never waits on its number's guard) the payment is
    /// written first, due again a recovery delay later, and the share given back after it,
    /// best effort: a crash between the two keeps the share counted (the safe side) until the
    /// due payment is recovered.
    pub(super) async fn store_failure(
        &self,
        next: Payment<Failed>,
        kind: EventKind,
        now: Timestamp,
    ) -> Result<Option<Payment<Failed>>, Error> {
        if self.batches().await {
            let key = self.number_keys(next.phone()).guard;
            match self.read_guard(key).await {
                Ok(guard) => return self.fail_together(next, guard, kind, now).await,
                // A guard that fails its check never reads: the payment's end does not wait
                // on it, and the share stays counted (the safe side).
                Err(Error::Tampered) => {}
                Err(error) => return Err(error),
            }
        }
        let stored = self.replace_reporting(next, kind, now).await?;
        if let Some(done) = &stored {
            self.release_share(done.phone(), done.id()).await;
        }
        Ok(stored)
    }

    /// Records that `payment` expired, and returns the error to give the caller: `Expired` once
    /// the stored payment is `Failed(Expired)`, `WrongState` when a racing call took it
    /// elsewhere first (a stale value of a payment confirmed meanwhile is not "expired").
    pub(super) async fn expire<S: StateRecord>(
        &self,
        payment: Payment<S>,
        now: Timestamp,
    ) -> Error {
        let expired = |_: &AnyPayment| FailureReason::Expired;
        match self.fail_if_open(S::into_any(payment), expired, now).await {
            Ok(Ended::Failed(_)) => Error::Expired,
            Ok(Ended::Settled(AnyPayment::Failed(p))) if p.reason() == FailureReason::Expired => {
                Error::Expired
            }
            Ok(Ended::Settled(other)) => Error::WrongState {
                expected: S::KIND,
                found: other.kind(),
            },
            Err(error) => error,
        }
    }

    /// Gives back what `payment`, now failed, reserved of the spending limits of `phone`: the
    /// second write of a failure on a store that does not batch, and the check, for a payment
    /// found failed, that no crash kept its share.
    ///
    /// Called only once the failure is stored, so that a payment that can still be authorized
    /// never loses its share. Best effort: when it cannot write, the share stays counted (the
    /// safe side) until [`Engine::cancel`] or [`Engine::recover`] is called again for the
    /// payment, or the reservation leaves the window. Idempotent: a share is given back once.
    pub(super) async fn release_share(&self, phone: &PhoneNumber, payment: PaymentId) {
        let _ = self.try_release_share(phone, payment).await;
    }

    pub(super) async fn try_release_share(
        &self,
        phone: &PhoneNumber,
        payment: PaymentId,
    ) -> Result<(), Error> {
        let read = self.read_guard(self.number_keys(phone).guard).await?;
        self.update_guard(read, |g| {
            let released = g.ledger().release(payment);
            Ok((released.map(|ledger| g.clone().with_ledger(ledger)), ()))
        })
        .await
    }
}
