//! The engine's record layer: every read and compare-and-swap write of a record, and the one
//! retry loop every step runs in.
//!
//! A step reads what it needs, decides from it, and writes its decision with one `put` at the
//! version it read. When the `put` loses a race, the step reads again and decides again from
//! what is now stored, so every PIN or code guess is counted exactly once however many run in
//! parallel. [`Engine::retry`] is that loop; the updates below are its usual shapes.

use core::future::Future;
use core::pin::Pin;

use crate::Error;
use crate::account::{Account, AccountStatus};
use crate::enrollment::{self, AnyEnrollment, Enrollment, EnrollmentRecord, EnrollmentState};
use crate::events::{Event, EventKind};
use crate::guard::Guard;
use crate::host::{Bank, Clock, Entry, Key, SmsGateway, Store, StoreError, Version, Write};
use crate::ids::{EnrollmentId, EventId, PaymentId};
use crate::payment::{self, AnyPayment, Payment, State, StateRecord};
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

use super::Engine;

/// The id of the event that the write of `key` over `replaced` reports.
pub(super) fn event_id(key: &Key, replaced: Option<Version>, at: Timestamp) -> EventId {
    EventId::of_write(
        key.as_str(),
        replaced.map(Version::number),
        0,
        at.as_unix_millis(),
    )
}

/// How many times a step reads again after losing a compare-and-swap race before it gives up
/// with [`Error::Conflict`].
const MAX_RACES: usize = 16;

/// An attempt's work: boxed, with `Send` stated where it is made, so that every step's future
/// stays `Send` for the host's executor (a generic closure's future could not say it).
pub(super) type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// What one attempt of a step came to.
pub(super) enum Attempt<T, R> {
    /// The step is decided (and its decision stored, when it had one to store): its answer.
    Done(R),
    /// A racing call changed the record first: the step goes again from this, read anew.
    Again(T),
}

/// A number's guard as read: its store key, its value, its version (`None`: not stored yet).
#[derive(Clone)]
pub(super) struct GuardRead {
    pub(super) key: Key,
    pub(super) guard: Guard,
    pub(super) version: Option<Version>,
}

/// The store keys of a number's records, named by the keyed hash of the number, computed once.
pub(super) struct NumberKeys {
    pub(super) account: Key,
    pub(super) guard: Key,
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Runs `attempt` from `start`, then again from what it read anew after each lost race;
    /// [`Error::Conflict`] after [`MAX_RACES`] of them.
    pub(super) async fn retry<'a, T, R>(
        &'a self,
        start: T,
        mut attempt: impl FnMut(T) -> Pending<'a, Attempt<T, R>>,
    ) -> Result<R, Error> {
        let mut input = start;
        for _ in 0..MAX_RACES {
            match attempt(input).await? {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Again(read_anew) => input = read_anew,
            }
        }
        Err(Error::Conflict)
    }

    /// The store keys of `phone`'s account and guard.
    pub(super) fn number_keys(&self, phone: &PhoneNumber) -> NumberKeys {
        let index = self.keys.account_index(phone);
        NumberKeys {
            account: Key::account(&index),
            guard: Key::guard(&index),
        }
    }

    /// The entry under `key`, if any.
    pub(super) async fn read(&self, key: &Key) -> Result<Option<Entry>, Error> {
        self.store.get(key).await.map_err(Error::Storage)
    }

    /// Compare-and-swap; `Ok(None)` when another writer got there first.
    pub(super) async fn try_put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: impl Into<Write>,
    ) -> Result<Option<Version>, Error> {
        match self.store.put(key, expected, write.into()).await {
            Ok(version) => Ok(Some(version)),
            Err(StoreError::Conflict) => Ok(None),
            Err(error) => Err(Error::Storage(error)),
        }
    }

    /// The write of `payment`: its sealed record, and when it falls due.
    pub(super) fn payment_write<S: StateRecord>(&self, payment: &Payment<S>) -> Write {
        let due = payment::due_at(payment, self.clock.now(), &self.policy);
        Write {
            due,
            ..Write::new(payment::encode(payment, &self.keys))
        }
    }

    /// The write of `enrollment`: its sealed record, and when it falls due.
    pub(super) fn enrollment_write<S: EnrollmentRecord>(
        &self,
        enrollment: &Enrollment<S>,
    ) -> Write {
        let due = enrollment::due_at(enrollment, self.clock.now(), &self.policy);
        Write {
            due,
            ..Write::new(enrollment::encode(enrollment, &self.keys))
        }
    }

    /// The payment stored under `id`, verified and decoded.
    pub(super) async fn read_payment(&self, id: PaymentId) -> Result<AnyPayment, Error> {
        self.find_payment(id).await?.ok_or(Error::NotFound)
    }

    /// The payment stored under `id`, verified and decoded; `None` when there is none.
    pub(super) async fn find_payment(&self, id: PaymentId) -> Result<Option<AnyPayment>, Error> {
        let key = Key::payment(&id);
        match self.read(&key).await? {
            Some(entry) => payment::decode(&self.keys, key, &id, &entry).map(Some),
            None => Ok(None),
        }
    }

    /// The payment stored under `id`, which must be in state `S`.
    pub(super) async fn payment_in<S: State>(&self, id: PaymentId) -> Result<Payment<S>, Error> {
        let any = self.read_payment(id).await?;
        let found = any.kind();
        S::from_any(any).ok_or(Error::WrongState {
            expected: S::KIND,
            found,
        })
    }

    /// Replaces the stored payment if it is still at the version `next` was derived from;
    /// `Ok(None)` when it changed meanwhile.
    pub(super) async fn replace<S: StateRecord>(
        &self,
        next: Payment<S>,
    ) -> Result<Option<Payment<S>>, Error> {
        self.replace_with(next, None).await
    }

    /// Replaces the stored payment as [`Engine::replace`] does, with the event `kind` of the
    /// change: stored with it in the outbox when events are durable, handed to the sink once
    /// the write is applied.
    pub(super) async fn replace_reporting<S: StateRecord>(
        &self,
        next: Payment<S>,
        kind: EventKind,
        now: Timestamp,
    ) -> Result<Option<Payment<S>>, Error> {
        let event = self.announcing().then(|| {
            let id = event_id(next.key(), Some(next.version()), now);
            Event::payment(id, kind, &next, now)
        });
        self.replace_with(next, event).await
    }

    /// The one compare-and-swap of a payment replaced, carrying `event` when there is one.
    async fn replace_with<S: StateRecord>(
        &self,
        next: Payment<S>,
        event: Option<Event>,
    ) -> Result<Option<Payment<S>>, Error> {
        let write = self.with_event(self.payment_write(&next), event.as_ref());
        let version = self
            .try_put(next.key(), Some(next.version()), write)
            .await?;
        Ok(version.map(|version| {
            self.emit_stored(event.as_ref());
            next.with_version(version)
        }))
    }

    /// Runs `step` on `start`, a payment in state `S`; `step` writes its decision with
    /// [`Engine::replace`] and answers `None` when it lost the race, and the payment is then
    /// read again, still in state `S` or [`Error::WrongState`], and `step` decides again.
    pub(super) async fn update_payment<'a, S: State + Send + 'a, R: Send + 'a>(
        &'a self,
        start: Payment<S>,
        mut step: impl FnMut(Payment<S>) -> Pending<'a, Option<R>>,
    ) -> Result<R, Error> {
        let id = start.id();
        self.retry(start, |payment| {
            let decided = step(payment);
            Box::pin(async move {
                Ok(match decided.await? {
                    Some(answer) => Attempt::Done(answer),
                    None => Attempt::Again(self.payment_in::<S>(id).await?),
                })
            })
        })
        .await
    }

    /// The enrollment stored under `id`, verified and decoded.
    pub(super) async fn read_enrollment(&self, id: EnrollmentId) -> Result<AnyEnrollment, Error> {
        let entry = self
            .read(&Key::enrollment(&id))
            .await?
            .ok_or(Error::NotFound)?;
        enrollment::decode(&self.keys, &id, &entry)
    }

    /// The enrollment stored under `id`, which must be in state `S`.
    pub(super) async fn enrollment_in<S: EnrollmentState>(
        &self,
        id: EnrollmentId,
    ) -> Result<Enrollment<S>, Error> {
        let any = self.read_enrollment(id).await?;
        let found = any.kind();
        S::from_any(any).ok_or(Error::WrongEnrollmentState {
            expected: S::KIND,
            found,
        })
    }

    /// Replaces the stored enrollment if it is still at the version `next` was derived from;
    /// `Ok(None)` when it changed meanwhile.
    pub(super) async fn replace_enrollment<S: EnrollmentRecord>(
        &self,
        next: Enrollment<S>,
    ) -> Result<Option<Enrollment<S>>, Error> {
        self.replace_enrollment_with(next, None).await
    }

    /// Replaces the stored enrollment as [`Engine::replace_enrollment`] does, with the event
    /// `kind` of the change, as [`Engine::replace_reporting`] does for payments.
    pub(super) async fn replace_enrollment_reporting<S: EnrollmentRecord>(
        &self,
        next: Enrollment<S>,
        kind: EventKind,
        now: Timestamp,
    ) -> Result<Option<Enrollment<S>>, Error> {
        let event = self.announcing().then(|| {
            let id = event_id(next.key(), Some(next.version()), now);
            Event::enrollment(id, kind, &next, now)
        });
        self.replace_enrollment_with(next, event).await
    }

    /// The one compare-and-swap of an enrollment replaced, carrying `event` when there is one.
    async fn replace_enrollment_with<S: EnrollmentRecord>(
        &self,
        next: Enrollment<S>,
        event: Option<Event>,
    ) -> Result<Option<Enrollment<S>>, Error> {
        let write = self.with_event(self.enrollment_write(&next), event.as_ref());
        let version = self
            .try_put(next.key(), Some(next.version()), write)
            .await?;
        Ok(version.map(|version| {
            self.emit_stored(event.as_ref());
            next.with_version(version)
        }))
    }

    /// Runs `step` on `start`, an enrollment in state `S`, as [`Engine::update_payment`] does
    /// for payments.
    pub(super) async fn update_enrollment<'a, S: EnrollmentState + Send + 'a, R: Send + 'a>(
        &'a self,
        start: Enrollment<S>,
        mut step: impl FnMut(Enrollment<S>) -> Pending<'a, Option<R>>,
    ) -> Result<R, Error> {
        let id = start.id();
        self.retry(start, |enrollment| {
            let decided = step(enrollment);
            Box::pin(async move {
                Ok(match decided.await? {
                    Some(answer) => Attempt::Done(answer),
                    None => Attempt::Again(self.enrollment_in::<S>(id).await?),
                })
            })
        })
        .await
    }

    /// The guard stored under `key` (a fresh one if none is), and its version.
    pub(super) async fn read_guard(&self, key: Key) -> Result<GuardRead, Error> {
        let (guard, version) = match self.read(&key).await? {
            Some(entry) => (
                Guard::decode(&self.keys, &key, entry.value())?,
                Some(entry.version()),
            ),
            None => (Guard::default(), None),
        };
        Ok(GuardRead {
            key,
            guard,
            version,
        })
    }

    /// Applies `decide` to the guard as `read`, by compare-and-swap: `decide` gives the guard
    /// to write, or `None` to write nothing, and the answer. After a lost race the guard is read
    /// again and `decide` decides again; an error from `decide` ends the update unwritten.
    pub(super) async fn update_guard<T: Send>(
        &self,
        read: GuardRead,
        decide: impl Fn(&Guard) -> Result<(Option<Guard>, T), Error>,
    ) -> Result<T, Error> {
        self.update_guard_reporting(read, decide, |_, _| None).await
    }

    /// Applies `decide` as [`Engine::update_guard`] does; a write it makes carries the event
    /// `report` makes of the answer (`None`: no event), stored with it when events are durable
    /// and handed to the sink once applied.
    pub(super) async fn update_guard_reporting<T: Send>(
        &self,
        read: GuardRead,
        decide: impl Fn(&Guard) -> Result<(Option<Guard>, T), Error>,
        report: impl Fn(&T, EventId) -> Option<Event> + Sync,
    ) -> Result<T, Error> {
        let (decide, report) = (&decide, &report);
        self.retry(read, |read| {
            let decided = decide(&read.guard);
            Box::pin(async move {
                let (next, answer) = decided?;
                let Some(next) = next else {
                    return Ok(Attempt::Done(answer));
                };
                let event = self
                    .announcing()
                    .then(|| report(&answer, event_id(&read.key, read.version, self.clock.now())))
                    .flatten();
                Ok(self
                    .write_guard(read, &next, event.as_ref())
                    .await?
                    .map_or(Attempt::Done(answer), Attempt::Again))
            })
        })
        .await
    }

    /// Writes `next` in place of the guard as `read`, by compare-and-swap: `None` once
    /// written, the guard read anew when a racing call wrote first.
    pub(super) async fn write_guard(
        &self,
        read: GuardRead,
        next: &Guard,
        event: Option<&Event>,
    ) -> Result<Option<GuardRead>, Error> {
        let record = next.encode(&self.keys, &read.key);
        let write = self.with_event(Write::new(record), event);
        match self.try_put(&read.key, read.version, write).await? {
            Some(_) => {
                self.emit_stored(event);
                Ok(None)
            }
            None => self.read_guard(read.key).await.map(Some),
        }
    }

    /// The account under `key`, verified and read whole, and its version.
    pub(super) async fn read_account(&self, key: &Key) -> Result<(Account, Version), Error> {
        let entry = self.read(key).await?.ok_or(Error::NotEnrolled)?;
        let account = Account::decode(&self.keys, key, entry.value())?;
        Ok((account, entry.version()))
    }

    /// Applies `decide` to the account under `key` by compare-and-swap, reading again after a
    /// lost race; `decide` answers `None` when there is nothing to write. Whether it wrote.
    pub(super) async fn update_account(
        &self,
        key: &Key,
        decide: impl Fn(Account) -> Result<Option<Account>, Error>,
        report: Option<(&PhoneNumber, EventKind)>,
    ) -> Result<bool, Error> {
        let read = self.read_account(key).await?;
        let (decide, report) = (&decide, &report);
        self.retry(read, |(account, version)| {
            let decided = decide(account);
            Box::pin(async move {
                let Some(next) = decided? else {
                    return Ok(Attempt::Done(false));
                };
                let event = report.as_ref().and_then(|(phone, kind)| {
                    self.number_event(key, Some(version), phone, kind.clone())
                });
                let write =
                    self.with_event(Write::new(next.encode(&self.keys, key)), event.as_ref());
                Ok(match self.try_put(key, Some(version), write).await? {
                    Some(_) => {
                        self.emit_stored(event.as_ref());
                        Attempt::Done(true)
                    }
                    None => Attempt::Again(self.read_account(key).await?),
                })
            })
        })
        .await
    }

    /// Stores `account` as the account under `key`: a new one, or in place of a closed one.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyEnrolled`] when an active or suspended account is there.
    pub(super) async fn create_account(
        &self,
        key: &Key,
        account: &Account,
        report: Option<(&PhoneNumber, EventKind)>,
    ) -> Result<(), Error> {
        let record = &account.encode(&self.keys, key);
        let report = &report;
        self.retry(None, |expected| {
            Box::pin(async move {
                let event = report.as_ref().and_then(|(phone, kind)| {
                    self.number_event(key, expected, phone, kind.clone())
                });
                let write = self.with_event(Write::new(record.clone()), event.as_ref());
                if self.try_put(key, expected, write).await?.is_some() {
                    self.emit_stored(event.as_ref());
                    return Ok(Attempt::Done(()));
                }
                let Some(entry) = self.read(key).await? else {
                    return Ok(Attempt::Again(None));
                };
                let stored = Account::decode(&self.keys, key, entry.value())?;
                if stored.status() != AccountStatus::Closed {
                    return Err(Error::AlreadyEnrolled);
                }
                Ok(Attempt::Again(Some(entry.version())))
            })
        })
        .await
    }
}
