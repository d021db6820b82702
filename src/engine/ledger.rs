//! Giving back a failed payment's share of the number's spending limits.

use crate::Error;
use crate::host::{Bank, Clock, Key, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::phone::PhoneNumber;

use super::{Engine, MAX_RACES};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Gives back what `payment`, now failed, reserved of the spending limits of `phone`.
    ///
    /// Called only once the failure is stored, so that a payment that can still be authorized
    /// never loses its share. Best effort: when it cannot write, the share stays counted (the
    /// safe side) until [`Engine::cancel`] or [`Engine::recover`] is called again for the
    /// payment, or the reservation leaves the window. Idempotent: a share is given back once.
    pub(super) async fn release_share(&self, phone: &PhoneNumber, payment: PaymentId) {
        let _ = self.try_release_share(phone, payment).await;
    }

    async fn try_release_share(
        &self,
        phone: &PhoneNumber,
        payment: PaymentId,
    ) -> Result<(), Error> {
        let key = Key::guard(&self.keys.account_index(phone));
        let (mut guard, mut version) = self.read_guard(&key).await?;
        for _ in 0..MAX_RACES {
            let Some(ledger) = guard.ledger().release(payment) else {
                return Ok(());
            };
            let record = guard.with_ledger(ledger).encode(&self.keys, &key);
            if self.try_put(&key, version, record).await?.is_some() {
                return Ok(());
            }
            (guard, version) = self.read_guard(&key).await?;
        }
        Err(Error::Conflict)
    }
}
