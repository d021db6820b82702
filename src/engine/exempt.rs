//! The low-value exemption: authorizing without a code, and the streak a code ends.

use crate::events::{Event, EventKind};
use crate::host::{Bank, Clock, Key, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::payment::transitions::authorized_exempt;
use crate::payment::{Authorized, ExemptionTicket, Payment, PinVerified};
use crate::time::Timestamp;

use super::{Engine, MAX_RACES};
use crate::Error;
use crate::error::StateKind;

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Authorizes a payment without its SMS code, under the low-value exemption; settle it
    /// next with [`Engine::settle`].
    ///
    /// The ticket exists only for a payment whose right PIN found it within the policy's
    /// exemption ([`Payment::exemption`]): the PIN is always required, and the payment's
    /// place in the streak (count and total since the last code) was taken in the same write
    /// that reserved its amount. A later payment authorized by its code starts the streak
    /// again. The policy in force now is checked again, for a ticket issued under an older
    /// one: the exemption must still be on and the amount within its per-payment figure.
    ///
    /// # Errors
    ///
    /// [`Error::ExemptionWithdrawn`] (the payment stays `PinVerified`: send its code),
    /// [`Error::Expired`] (the payment is then `Failed`), [`Error::WrongState`] when it moved
    /// on meanwhile (a code was sent for it), [`Error::Tampered`], [`Error::Storage`],
    /// [`Error::Conflict`].
    pub async fn authorize_exempt(
        &self,
        ticket: ExemptionTicket,
    ) -> Result<Payment<Authorized>, Error> {
        let now = self.clock.now();
        let mut payment = ticket.into_payment();
        if !self.policy.exempts(payment.order().amount()) {
            return Err(Error::ExemptionWithdrawn);
        }
        let id = payment.id();
        for _ in 0..MAX_RACES {
            if payment.is_expired(now) {
                return Err(self.expire(payment, now).await);
            }
            if !payment.state().low_value_exempt() {
                // Read back after a lost race: its code was sent meanwhile (and the send put
                // back), so it takes the code's path now.
                return Err(Error::WrongState {
                    expected: StateKind::PinVerified,
                    found: StateKind::OtpSent,
                });
            }
            if let Some(authorized) = self.replace(authorized_exempt(payment, now)).await? {
                self.emit(|| Event::payment(EventKind::ExemptAuthorized, &authorized, now));
                return Ok(authorized);
            }
            payment = self.resume::<PinVerified>(id).await?;
        }
        Err(Error::Conflict)
    }

    /// Starts the exemption's streak of `payment`'s number again after `payment` was
    /// authorized by its code at `now`. Best effort, and only with the exemption on: a streak
    /// left longer only lets fewer payments go without a code.
    pub(super) async fn end_streak(&self, payment: &Payment<Authorized>, now: Timestamp) {
        if self.policy.low_value_exemption {
            let _ = self.try_end_streak(payment, now).await;
        }
    }

    async fn try_end_streak(
        &self,
        payment: &Payment<Authorized>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let key = Key::guard(&self.keys.account_index(payment.phone()));
        let (mut guard, mut version) = self.read_guard(&key).await?;
        let mut used = Vec::new();
        for _ in 0..MAX_RACES {
            // The outstanding tickets but this payment's own; one known to be used is not read
            // again.
            let recent: Vec<_> = guard
                .ledger()
                .outstanding_tickets(payment.id(), now)
                .collect();
            let mut pending = Vec::new();
            for id in recent {
                if used.contains(&id) {
                    continue;
                }
                if self.ticket_used(id).await {
                    used.push(id);
                } else {
                    pending.push(id);
                }
            }
            let Some(ledger) = guard.ledger().after_code(&pending) else {
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

    /// Whether the exemption ticket of payment `id` can no longer be used: the payment went
    /// past `PinVerified` (authorized, its code sent, or failed). A payment that cannot be
    /// read counts as not used, which keeps its place in the streak.
    async fn ticket_used(&self, id: PaymentId) -> bool {
        self.load(id).await.is_ok_and(|payment| {
            !matches!(
                payment.kind(),
                StateKind::Initiated | StateKind::PinVerified
            )
        })
    }
}
