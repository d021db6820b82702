//! The low-value exemption: authorizing without a code, and the streak a code ends.

use crate::events::EventKind;
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::payment::steps::authorized_exempt;
use crate::payment::{Authorized, ExemptionTicket, Payment};
use crate::time::Timestamp;

use super::Engine;
use super::records::Attempt;
use super::trace::{step_span, traced};
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
    /// [`Error::ExemptionWithdrawn`] (the payment stays `PinVerified`: send its code), also
    /// when a send of its code failed meanwhile, which took it off the exemption's path;
    /// [`Error::Expired`] (the payment is then `Failed`), [`Error::WrongState`] with the state
    /// found when it moved on meanwhile (its code sent, or authorized by a racing call),
    /// [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, Exemption, Payment, PinVerified};
    ///
    /// /// After a right PIN: a small payment goes without a code when the exemption admits it.
    /// async fn after_pin(
    ///     engine: &Engine,
    ///     verified: Payment<PinVerified>,
    /// ) -> Result<&'static str, Error> {
    ///     match verified.exemption() {
    ///         Exemption::Ticket(ticket) => {
    ///             let authorized = engine.authorize_exempt(ticket).await?;
    ///             engine.settle(authorized).await?;
    ///             Ok("paid")
    ///         }
    ///         Exemption::CodeNeeded(verified) => {
    ///             engine.send_code(verified).await?;
    ///             Ok("a code was sent by SMS")
    ///         }
    ///     }
    /// }
    /// ```
    pub async fn authorize_exempt(
        &self,
        ticket: ExemptionTicket,
    ) -> Result<Payment<Authorized>, Error> {
        let span = step_span!("buyster.authorize_exempt", payment = %ticket.payment().id());
        traced(span, async move {
            let now = self.clock.now();
            let payment = ticket.into_payment();
            if !self.policy.exempts(payment.order().amount()) {
                return Err(Error::ExemptionWithdrawn);
            }
            self.update_payment(payment, |payment| {
                Box::pin(async move {
                    if payment.is_expired(now) {
                        return Err(self.expire(payment, now).await);
                    }
                    if !payment.state().low_value_exempt() {
                        // Read back after a lost race: its code was sent meanwhile and the send put
                        // back, which took the payment off the exemption's path.
                        return Err(Error::ExemptionWithdrawn);
                    }
                    let next = authorized_exempt(payment, now);
                    self.replace_reporting(next, EventKind::ExemptAuthorized, now)
                        .await
                })
            })
            .await
        })
        .await
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
        let read = self
            .read_guard(self.number_keys(payment.phone()).guard)
            .await?;
        let code = payment.id();
        // Tickets found used stay used: a lost race does not read their payments again.
        self.retry((read, Vec::new()), |(read, mut used)| {
            Box::pin(async move {
                let outstanding: Vec<PaymentId> =
                    read.guard.ledger().outstanding_tickets(code, now).collect();
                let mut pending = Vec::new();
                for ticket in outstanding {
                    if used.contains(&ticket) {
                        continue;
                    }
                    if self.ticket_used(ticket).await {
                        used.push(ticket);
                    } else {
                        pending.push(ticket);
                    }
                }
                let Some(ledger) = read.guard.ledger().after_code(&pending) else {
                    return Ok(Attempt::Done(()));
                };
                let next = read.guard.clone().with_ledger(ledger);
                Ok(match self.write_guard(read, &next, None).await? {
                    None => Attempt::Done(()),
                    Some(read_anew) => Attempt::Again((read_anew, used)),
                })
            })
        })
        .await
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
