//! Recovery: finishing what a crash, an outage or an abandoned buyer left behind.

use crate::Error;
use crate::host::RefundKey;
use crate::host::{Bank, BankError, Clock, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::payment::{AnyPayment, Authorized, Confirmed, FailureReason, Payment, RefundStatus};

use super::Engine;
use super::failing::Ended;
use super::trace::{step_span, traced};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Brings the payment `id` as far as it can go without the buyer, and returns it as it now
    /// stands.
    ///
    /// - `Authorized`: settled, with the same idempotency key as every earlier attempt, so a
    ///   debit the bank already made is found, never repeated. If the bank still does not
    ///   answer, the payment stays `Authorized` (returned as such) for the next run.
    /// - `Initiated`, `PinVerified`, `OtpSent` past their time to live: `Failed(Expired)`, and
    ///   their share of the number's spending limits given back.
    /// - `Failed`: returned as it is, after giving back its share of the spending limits if a
    ///   crash kept it.
    /// - `Confirmed` with pending refunds: each asked of the bank again, under its own refund
    ///   key, so a refund the bank already made is found, never repeated; its answer recorded.
    ///   A refund the bank still does not answer stays pending for the next run; a decline is
    ///   recorded, not returned as an error.
    /// - Anything else is returned unchanged.
    ///
    /// Idempotent and safe to call at any time, concurrently with the buyer's own calls: every
    /// change it makes is a compare-and-swap like theirs. [`Engine::recover_due`] calls it for
    /// every payment the store's due index lists, with no id kept by the host; call it yourself
    /// for one payment (a support tool, a merchant asking where an order stands).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`]; a
    /// bank decline is not an error here: the payment comes back `Failed(Declined)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{AnyPayment, PaymentId};
    ///
    /// /// Every minute, for the payment ids of the unpaid orders older than a minute.
    /// async fn recovery_job(engine: &Engine, unpaid: &[PaymentId]) {
    ///     for &id in unpaid {
    ///         match engine.recover(id).await {
    ///             Ok(AnyPayment::Confirmed(_)) => println!("{id}: paid"),
    ///             Ok(AnyPayment::Failed(failed)) => println!("{id}: {}", failed.reason()),
    ///             Ok(_) => {} // the buyer is still at it, or the bank still does not answer
    ///             Err(error) => eprintln!("{id}: {error}; next run"),
    ///         }
    ///     }
    /// }
    /// ```
    pub async fn recover(&self, id: PaymentId) -> Result<AnyPayment, Error> {
        let span = step_span!("buyster.recover", payment = %id);
        traced(span, async move {
            let now = self.clock.now();
            match self.read_payment(id).await? {
                AnyPayment::Failed(failed) => {
                    // Give its share back, in case a crash kept it; nothing to write otherwise.
                    self.release_share(failed.phone(), id).await;
                    Ok(AnyPayment::Failed(failed))
                }
                AnyPayment::Authorized(payment) => self.settle_for_recovery(payment).await,
                AnyPayment::Confirmed(payment) => self
                    .finish_refunds(payment)
                    .await
                    .map(AnyPayment::Confirmed),
                open if now < open.expires_at() => Ok(open),
                expired => {
                    let expiry = |_: &AnyPayment| FailureReason::Expired;
                    match self.fail_if_open(expired, expiry, now).await? {
                        Ended::Failed(failed) => Ok(AnyPayment::Failed(failed)),
                        // Its code was taken meanwhile: it is settled like any other.
                        Ended::Settled(AnyPayment::Authorized(payment)) => {
                            self.settle_for_recovery(payment).await
                        }
                        Ended::Settled(settled) => Ok(settled),
                    }
                }
            }
        })
        .await
    }

    /// Settles `payment` with the same idempotency key as every earlier attempt; an outage or
    /// a decline is no error here: the payment is returned as it then stands.
    async fn settle_for_recovery(&self, payment: Payment<Authorized>) -> Result<AnyPayment, Error> {
        let id = payment.id();
        match self.settle(payment).await {
            Ok(confirmed) => Ok(AnyPayment::Confirmed(confirmed)),
            Err(Error::Bank(BankError::Unavailable) | Error::Declined(_)) => {
                self.read_payment(id).await
            }
            Err(error) => Err(error),
        }
    }

    /// Asks the bank again for each pending refund of `payment`, and returns the payment as
    /// it then stands.
    async fn finish_refunds(
        &self,
        payment: Payment<Confirmed>,
    ) -> Result<Payment<Confirmed>, Error> {
        let id = payment.id();
        let pending: Vec<RefundKey> = payment
            .refunds()
            .iter()
            .filter(|refund| refund.status() == RefundStatus::Pending)
            .map(|refund| refund.key().clone())
            .collect();
        let mut payment = payment;
        for key in pending {
            payment = match self.ask_refund(payment, &key).await {
                Ok(answered) => answered,
                // Unanswered (still pending) or declined (recorded): the next one.
                Err(Error::Bank(_) | Error::Declined(_)) => {
                    self.payment_in::<Confirmed>(id).await?
                }
                Err(error) => return Err(error),
            };
        }
        Ok(payment)
    }
}
