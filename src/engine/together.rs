//! A guard and a payment written in one batch ([`Store::put_together`]), for a store that
//! writes batches: a right PIN's guard (failures forgotten, the amount reserved, the SMS
//! counted) with its payment `PinVerified`, and a failed payment with the share of the
//! spending limits its number's guard gives back.
//!
//! Both records are decided from what was read and written at the versions read, all or
//! none; when the batch loses a race, both are read again and decided again, in the record
//! layer's retry loop, as a single write would be. A store that does not batch gets the same
//! changes one write at a time, exactly as before (`pin.rs`, `failing.rs`).

use crate::Error;
use crate::events::{Event, EventKind};
use crate::funding::FundingSource;
use crate::guard::Guard;
use crate::host::{Bank, Clock, Key, KeyedWrite, SmsGateway, Store, StoreError, Version, Write};
use crate::ids::PaymentId;
use crate::payment::steps::pin_verified;
use crate::payment::{Failed, Initiated, Payment, PinVerified, StateRecord};
use crate::time::Timestamp;

use super::Engine;
use super::pin::accepting;
use super::records::{Attempt, GuardRead, event_id};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Whether the store writes batches: asked once, with an empty batch (which writes
    /// nothing, and which a store that batches answers at once), and remembered.
    pub(super) async fn batches(&self) -> bool {
        if let Some(batches) = self.batches.get() {
            return *batches;
        }
        let batches = self.store.put_together(Vec::new()).await.is_some();
        // A racing call may have asked too: the store gives every call the same answer.
        let _ = self.batches.set(batches);
        batches
    }

    /// Writes `writes` all or none, each by compare-and-swap: their new versions, in their
    /// order; `Ok(None)` when a racing writer changed one of the keys first (nothing written).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`]; also when the store, which answered the empty batch, refuses this
    /// one as a store that does not batch would (nothing was written).
    async fn try_put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Result<Option<Vec<Version>>, Error> {
        match self.store.put_together(writes).await {
            Some(Ok(versions)) => Ok(Some(versions)),
            Some(Err(StoreError::Conflict)) => Ok(None),
            Some(Err(error)) => Err(Error::Storage(error)),
            None => Err(Error::Storage(StoreError::Unavailable(
                "the store stopped writing batches".into(),
            ))),
        }
    }

    /// Writes the guard as `read` and the payment `next` together; the payment's new version,
    /// `None` when a racing writer changed either first.
    async fn write_with_guard<S: StateRecord>(
        &self,
        read: &GuardRead,
        guard: &Guard,
        next: &Payment<S>,
        payment: Write,
    ) -> Result<Option<Version>, Error> {
        let writes = vec![
            KeyedWrite {
                key: read.key.clone(),
                expected: read.version,
                write: Write::new(guard.encode(&self.keys, &read.key)),
            },
            KeyedWrite {
                key: next.key().clone(),
                expected: Some(next.version()),
                write: payment,
            },
        ];
        let Some(versions) = self.try_put_together(writes).await? else {
            return Ok(None);
        };
        match versions.get(1) {
            Some(version) => Ok(Some(*version)),
            None => Err(Error::Storage(StoreError::backend(
                "a batch of two writes answered fewer versions",
            ))),
        }
    }

    /// A right PIN for `payment`, written in one batch: the number's guard (failures forgotten,
    /// the amount reserved, the SMS counted, as [`accepting`] decides) and the payment
    /// `PinVerified` with its event, both at the versions read. After a lost race both are
    /// read again and decided again: a lock reached meanwhile refuses the PIN unwritten, a
    /// reservation made meanwhile is found and kept, never taken twice.
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] and [`Error::CurrencyNotAccepted`] once the guard alone is
    /// written, reset, nothing reserved; [`Error::WrongState`] once the guard alone is written,
    /// reset, when the payment moved on meanwhile; [`Error::Locked`], [`Error::Tampered`],
    /// [`Error::Storage`], [`Error::Conflict`].
    pub(super) async fn verify_together(
        &self,
        guard: GuardRead,
        payment: Payment<Initiated>,
        funding: &FundingSource,
        now: Timestamp,
    ) -> Result<Payment<PinVerified>, Error> {
        let id = payment.id();
        self.retry((guard, payment), |(read, payment)| {
            Box::pin(async move {
                let (next_guard, accepted) = accepting(&read.guard, &payment, now, &self.policy)?;
                let accepted = match accepted {
                    Ok(accepted) => accepted,
                    // Over a limit: the guard alone, reset, and the refusal is the answer.
                    Err(refusal) => {
                        return match self.write_guard(read, &next_guard, None).await? {
                            None => Err(self.limit_refused(&payment, refusal, now)),
                            Some(read_anew) => Ok(Attempt::Again((read_anew, payment))),
                        };
                    }
                };
                let next = pin_verified(payment, funding.clone(), now, accepted);
                match self.store_verified(&read, &next_guard, next, now).await? {
                    Some(verified) => Ok(Attempt::Done(verified)),
                    None => self.read_both(read.key, id, now).await.map(Attempt::Again),
                }
            })
        })
        .await
    }

    /// Writes `next`, a payment just verified, with its event, and `guard` in place of the
    /// guard as `read`, in one batch; `None` when a racing writer changed either first.
    async fn store_verified(
        &self,
        read: &GuardRead,
        guard: &Guard,
        next: Payment<PinVerified>,
        now: Timestamp,
    ) -> Result<Option<Payment<PinVerified>>, Error> {
        let event = self.announcing().then(|| {
            let id = event_id(next.key(), Some(next.version()), now);
            Event::payment(id, EventKind::PinVerified, &next, now)
        });
        let write = self.with_event(self.payment_write(&next), event.as_ref());
        let version = self.write_with_guard(read, guard, &next, write).await?;
        Ok(version.map(|version| {
            self.emit_stored(event.as_ref());
            next.with_version(version)
        }))
    }

    /// The guard under `key` and the payment `id` read again after a lost batch, the payment
    /// still `Initiated`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] when the payment moved on, once the right PIN is counted
    /// ([`Engine::count_right_pin`]); those of the reads.
    async fn read_both(
        &self,
        key: Key,
        id: PaymentId,
        now: Timestamp,
    ) -> Result<(GuardRead, Payment<Initiated>), Error> {
        let read = self.read_guard(key).await?;
        match self.payment_in::<Initiated>(id).await {
            Ok(payment) => Ok((read, payment)),
            Err(moved @ Error::WrongState { .. }) => {
                Err(self.count_right_pin(read, now, moved).await)
            }
            Err(error) => Err(error),
        }
    }

    /// A right PIN whose payment moved on meanwhile (a second tab verified it, or it failed):
    /// still counted in the guard, failures forgotten, but nothing reserved nor counted for a
    /// payment that no longer waits for it; then `moved` is the answer.
    async fn count_right_pin(&self, read: GuardRead, now: Timestamp, moved: Error) -> Error {
        let reset = self
            .update_guard(read, |g| {
                g.check_open(now)?;
                Ok((Some(g.after_success()), ()))
            })
            .await;
        reset.err().unwrap_or(moved)
    }

    /// Stores `next`, a payment just failed, by compare-and-swap at the version it was read
    /// with, and gives back what it reserved of its number's spending limits: in one batch with
    /// its number's guard as `read` just now. Nothing is then left to do on the payment: it is
    /// written with no due time. `None` when a racing writer changed the payment or the guard
    /// first (nothing written): the caller reads the payment again and decides again.
    pub(super) async fn fail_together(
        &self,
        next: Payment<Failed>,
        read: GuardRead,
        kind: EventKind,
        now: Timestamp,
    ) -> Result<Option<Payment<Failed>>, Error> {
        let event = self.announcing().then(|| {
            let id = event_id(next.key(), Some(next.version()), now);
            Event::payment(id, kind, &next, now)
        });
        // Its share goes back in this same write: nothing is left to do, and the record is due
        // only when its retention is over.
        let write = Write {
            due: next.state().kept_until(&self.policy),
            ..self.with_event(self.payment_write(&next), event.as_ref())
        };
        let released = read.guard.ledger().release(next.id());
        let version = match released {
            // Nothing held: the payment alone. A reservation is only ever made in the batch
            // that takes an `Initiated` payment to `PinVerified`, at its version: none can be
            // made for this one once this write is applied.
            None => {
                self.try_put(next.key(), Some(next.version()), write)
                    .await?
            }
            Some(ledger) => {
                let guard = read.guard.clone().with_ledger(ledger);
                self.write_with_guard(&read, &guard, &next, write).await?
            }
        };
        Ok(version.map(|version| {
            self.emit_stored(event.as_ref());
            next.with_version(version)
        }))
    }
}
