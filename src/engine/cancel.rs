//! Cancelling a payment that is not authorized yet.

use crate::Error;
use crate::error::StateKind;
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::payment::{AnyPayment, CancelReason, Failed, FailureReason, Payment};

use super::Engine;
use super::failing::Ended;
use super::trace::{step_span, traced};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
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
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{CancelReason, Error, PaymentId};
    ///
    /// /// `POST /payments/{id}/cancel`: the buyer's "cancel" button.
    /// async fn cancel(engine: &Engine, id: PaymentId) -> Result<(), Error> {
    ///     let failed = engine.cancel(id, CancelReason::Buyer).await?;
    ///     println!("order released: {}", failed.reason());
    ///     Ok(())
    /// }
    /// ```
    pub async fn cancel(
        &self,
        id: PaymentId,
        reason: CancelReason,
    ) -> Result<Payment<Failed>, Error> {
        let span = step_span!("buyster.cancel", payment = %id, reason = %reason);
        traced(span, async move {
            let now = self.clock.now();
            let why = |any: &AnyPayment| {
                if now >= any.expires_at() {
                    FailureReason::Expired
                } else {
                    FailureReason::Cancelled(reason)
                }
            };
            match self
                .fail_if_open(self.read_payment(id).await?, why, now)
                .await?
            {
                Ended::Failed(cancelled) => Ok(cancelled),
                Ended::Settled(AnyPayment::Failed(p)) => {
                    // Failed already: give its share back, in case a crash kept it.
                    self.release_share(p.phone(), id).await;
                    Ok(p)
                }
                Ended::Settled(other) => Err(Error::WrongState {
                    expected: StateKind::OtpSent,
                    found: other.kind(),
                }),
            }
        })
        .await
    }
}
