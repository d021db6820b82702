//! Settling authorized payments: the debit, and its outcome recorded.

use crate::Error;
use crate::error::StateKind;
use crate::events::EventKind;
use crate::host::{Bank, BankError, Clock, SmsGateway, Store};
use crate::payment::steps::{confirmed, debit_request, failed};
use crate::payment::{AnyPayment, Authorized, Confirmed, FailureReason, Payment};

use super::Engine;
use super::records::Attempt;
use super::trace::{step_span, traced};

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
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Authorized, Error, PaymentId};
    ///
    /// /// A job that retries the debits a bank outage left authorized.
    /// async fn settle_later(engine: &Engine, id: PaymentId) -> Result<(), Error> {
    ///     let authorized = engine.resume::<Authorized>(id).await?;
    ///     match engine.settle(authorized).await {
    ///         Ok(paid) => println!("paid: {}", paid.receipt().bank_reference()),
    ///         Err(Error::Bank(_)) => println!("the bank still does not answer: next run"),
    ///         Err(error) => return Err(error),
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub async fn settle(&self, payment: Payment<Authorized>) -> Result<Payment<Confirmed>, Error> {
        let span = step_span!("buyster.settle", payment = %payment.id());
        traced(span, async move {
            let outcome = &self.bank.debit(&debit_request(&payment)).await;
            let id = payment.id();
            self.retry(payment, |payment| {
                Box::pin(async move {
                    let now = self.clock.now();
                    match outcome {
                        Ok(receipt) => {
                            let next = confirmed(payment, receipt, now);
                            let kind = EventKind::Confirmed;
                            if let Some(done) = self.replace_reporting(next, kind, now).await? {
                                return Ok(Attempt::Done(done));
                            }
                        }
                        Err(BankError::Declined(reason)) => {
                            let why = FailureReason::Declined(*reason);
                            let next = failed(payment, why, now);
                            let kind = EventKind::Failed(why);
                            if self.store_failure(next, kind, now).await?.is_some() {
                                return Err(Error::Declined(*reason));
                            }
                        }
                        Err(error) => return Err(Error::Bank(*error)),
                    }
                    // Lost to a racing call: its outcome is this one's too (the same key, the same
                    // answer from the bank).
                    match (self.read_payment(id).await?, outcome) {
                        (AnyPayment::Authorized(payment), _) => Ok(Attempt::Again(payment)),
                        (AnyPayment::Confirmed(done), Ok(_)) => Ok(Attempt::Done(done)),
                        (AnyPayment::Failed(_), Err(BankError::Declined(reason))) => {
                            Err(Error::Declined(*reason))
                        }
                        (other, _) => Err(Error::WrongState {
                            expected: StateKind::Authorized,
                            found: other.kind(),
                        }),
                    }
                })
            })
            .await
        })
        .await
    }
}
