//! Recovery: finishing what a crash, an outage or an abandoned buyer left behind.

use crate::Error;
use crate::host::{Bank, BankError, Clock, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::payment::transitions::failed;
use crate::payment::{AnyPayment, FailureReason, Payment, StateRecord};

use super::{Engine, MAX_RACES};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Brings the payment `id` as far as it can go without the buyer, and returns it as it now
    /// stands.
    ///
    /// - `Authorized`: settled, with the same idempotency key as every earlier attempt, so a
    ///   debit the bank already made is found, never repeated. If the bank still does not
    ///   answer, the payment stays `Authorized` (returned as such) for the next run.
    /// - `Initiated`, `PinVerified`, `OtpSent` past their time to live: `Failed(Expired)`.
    /// - Anything else is returned unchanged.
    ///
    /// Idempotent and safe to call at any time, concurrently with the buyer's own calls: every
    /// change it makes is a compare-and-swap like theirs. Call it from a background job for
    /// the unpaid orders older than a minute or so.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`]; a
    /// bank decline is not an error here: the payment comes back `Failed(Declined)`.
    pub async fn recover(&self, id: PaymentId) -> Result<AnyPayment, Error> {
        for _ in 0..MAX_RACES {
            let now = self.clock.now();
            let any = self.load(id).await?;
            let expired = now >= any.expires_at();
            let changed = match any {
                AnyPayment::Authorized(payment) => match self.settle(payment).await {
                    Ok(confirmed) => return Ok(AnyPayment::Confirmed(confirmed)),
                    Err(Error::Bank(BankError::Unavailable) | Error::Declined(_)) => {
                        return self.load(id).await;
                    }
                    Err(error) => return Err(error),
                },
                AnyPayment::Initiated(p) if expired => self.fail_expired(p, now).await?,
                AnyPayment::PinVerified(p) if expired => self.fail_expired(p, now).await?,
                AnyPayment::OtpSent(p) if expired => self.fail_expired(p, now).await?,
                settled_or_alive => return Ok(settled_or_alive),
            };
            if let Some(now_failed) = changed {
                return Ok(now_failed);
            }
        }
        Err(Error::Conflict)
    }

    async fn fail_expired<S: StateRecord>(
        &self,
        payment: Payment<S>,
        now: crate::host::Timestamp,
    ) -> Result<Option<AnyPayment>, Error> {
        let stored = self
            .replace(failed(payment, FailureReason::Expired, now))
            .await?;
        Ok(stored.map(AnyPayment::Failed))
    }
}
