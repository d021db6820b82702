//! Settling authorized payments, and cancelling.

use crate::Error;
use crate::error::StateKind;
use crate::events::{Event, EventKind};
use crate::host::{Bank, BankError, Clock, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::payment::transitions::{confirmed, debit_request, failed};
use crate::payment::{
    AnyPayment, Authorized, CancelReason, Confirmed, Failed, FailureReason, Payment,
};

use super::{Engine, Fail, MAX_RACES};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Debits an authorized payment: what [`Engine::confirm`] does after a right code, and what
    /// finishes a payment left `Authorized` by a bank outage or a crash.
    ///
    /// Safe to call any number of times, concurrently too: the debit's idempotency key is the
    /// payment id, so the bank moves the money once and answers every call with the same
    /// outcome. A payment already `Confirmed` by a racing call is returned as it is.
    ///
    /// # Errors
    ///
    /// [`Error::Bank`] when the bank's answer is unknown (the payment stays `Authorized`: settle
    /// again later), [`Error::Declined`] (the payment is now `Failed`, and its share of the
    /// spending limits given back), [`Error::WrongState`],
    /// [`Error::Storage`] (the payment stays `Authorized`).
    pub async fn settle(&self, payment: Payment<Authorized>) -> Result<Payment<Confirmed>, Error> {
        let outcome = self.bank.debit(&debit_request(&payment)).await;
        let id = payment.id();
        let mut payment = payment;
        for _ in 0..MAX_RACES {
            let now = self.clock.now();
            match &outcome {
                Ok(receipt) => {
                    if let Some(done) = self.replace(confirmed(payment, receipt, now)).await? {
                        self.emit(|| Event::payment(EventKind::Confirmed, &done, now));
                        return Ok(done);
                    }
                }
                Err(BankError::Declined(reason)) => {
                    let why = FailureReason::Declined(*reason);
                    if let Some(done) = self.replace(failed(payment, why, now)).await? {
                        self.emit(|| Event::payment(EventKind::Failed(why), &done, now));
                        self.release_share(done.phone(), id).await;
                        return Err(Error::Declined(*reason));
                    }
                }
                Err(error) => return Err(Error::Bank(*error)),
            }
            payment = match (self.load(id).await?, &outcome) {
                (AnyPayment::Authorized(payment), _) => payment,
                (AnyPayment::Confirmed(done), Ok(_)) => return Ok(done),
                (AnyPayment::Failed(_), Err(BankError::Declined(reason))) => {
                    return Err(Error::Declined(*reason));
                }
                (other, _) => {
                    return Err(Error::WrongState {
                        expected: StateKind::Authorized,
                        found: other.kind(),
                    });
                }
            };
        }
        Err(Error::Conflict)
    }

    /// Cancels a payment that is not authorized yet; it becomes `Failed` with `reason` (or with
    /// [`FailureReason::Expired`] if it was already past its time to live), and gives back its
    /// share of the number's spending limits.
    ///
    /// Idempotent: a payment already `Failed` is returned as it is (its share given back, if a
    /// crash had kept it).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] (with `expected` = `OtpSent`, the last cancellable state) for an
    /// `Authorized` or `Confirmed` payment: its code was accepted and the debit may be under
    /// way, so only the bank's outcome ends it. [`Error::NotFound`], [`Error::Tampered`],
    /// [`Error::Storage`].
    pub async fn cancel(
        &self,
        id: PaymentId,
        reason: CancelReason,
    ) -> Result<Payment<Failed>, Error> {
        for _ in 0..MAX_RACES {
            let now = self.clock.now();
            let any = self.load(id).await?;
            let why = if now >= any.expires_at() {
                FailureReason::Expired
            } else {
                FailureReason::Cancelled(reason)
            };
            match self.fail_open(any, why, now).await? {
                Fail::Done(cancelled) => return Ok(cancelled),
                Fail::Lost => {}
                Fail::Settled(AnyPayment::Failed(p)) => {
                    // Failed already: give its share back, in case a crash kept it.
                    self.release_share(p.phone(), id).await;
                    return Ok(p);
                }
                Fail::Settled(other) => {
                    return Err(Error::WrongState {
                        expected: StateKind::OtpSent,
                        found: other.kind(),
                    });
                }
            }
        }
        Err(Error::Conflict)
    }
}
