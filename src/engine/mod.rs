//! [`Engine`]: thin async drivers over the pure steps of [`crate::payment`].
//!
//! Every operation reads what it needs, asks a pure function for the next state, and writes it
//! with one compare-and-swap `put` at the version it read. When the `put` loses a race, the
//! operation reads again and decides again from what is now stored, so every PIN or code guess
//! is counted exactly once however many run in parallel.

mod account_ops;
mod builder;
mod checkout;
mod enrollment;
mod exempt;
mod ledger;
mod pin;
mod pin_change;
mod recover;
mod refund;
mod settle;

use core::fmt;

pub use builder::{EngineBuilder, Unset};

use crate::Error;
use crate::events::{Event, EventKind, EventSink};
use crate::guard::Guard;
use crate::host::{Bank, Clock, Entry, Key, SmsGateway, Store, StoreError, SystemClock, Version};
use crate::ids::PaymentId;
use crate::keys::Keys;
use crate::order::Order;
use crate::payment::transitions::failed;
use crate::payment::{
    self, AnyPayment, Failed, FailureReason, Initiated, Payment, State, StateRecord,
};
use crate::phone::PhoneNumber;
use crate::policy::Policy;
use crate::time::Timestamp;

/// What [`Engine::fail_open`] did.
enum Fail {
    /// The payment is now `Failed`.
    Done(Payment<Failed>),
    /// A racing call changed it first: read again.
    Lost,
    /// It is `Authorized`, `Confirmed` or `Failed` already, and was left as it is.
    Settled(AnyPayment),
}

/// How many times an operation reads again after losing a compare-and-swap race before it gives
/// up with [`Error::Conflict`].
const MAX_RACES: usize = 16;

/// The checkout engine. Build it once with [`Engine::builder`] and share it (it is `Send + Sync`;
/// wrap it in an `Arc` for a multi-threaded server).
///
/// See the [crate documentation](crate) for the flow and a complete example.
pub struct Engine<St, Sm, Bk, C = SystemClock> {
    store: St,
    sms: Sm,
    bank: Bk,
    clock: C,
    keys: Keys,
    policy: Policy,
    /// The account record checked for numbers that have none, and its key.
    decoy: (Key, Vec<u8>),
    /// Where audit events go; none unless the host gave a sink.
    events: Option<Box<dyn EventSink>>,
}

impl<St, Sm, Bk, C> fmt::Debug for Engine<St, Sm, Bk, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("keys", &self.keys)
            .field("policy", &self.policy)
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Starts a payment of `order` by the holder of `phone`. The buyer's PIN comes next.
    ///
    /// Never looks at accounts: the answer is the same for every well-formed number, enrolled or
    /// not, so that a checkout page tells nothing about who is enrolled.
    ///
    /// # Errors
    ///
    /// [`Error::CurrencyNotAccepted`] for an order in a currency the policy does not take
    /// (nothing is stored), [`Error::Storage`] when the store fails.
    pub async fn initiate(
        &self,
        order: Order,
        phone: &PhoneNumber,
    ) -> Result<Payment<Initiated>, Error> {
        let currency = order.amount().currency();
        if self.policy.limits(currency).is_none() {
            return Err(Error::CurrencyNotAccepted(currency));
        }
        let now = self.clock.now();
        let mut payment = Payment::new(order, phone.clone(), now, self.policy.payment_ttl);
        for _ in 0..MAX_RACES {
            let record = payment::encode(&payment, &self.keys);
            match self.try_put(payment.key(), None, record).await? {
                Some(version) => {
                    let stored = payment.with_version(version);
                    self.emit(|| Event::payment(EventKind::Initiated, &stored, now));
                    return Ok(stored);
                }
                None => payment = payment.with_new_id(),
            }
        }
        Err(Error::Conflict)
    }

    /// The payment stored under `id`, in whatever state it is.
    ///
    /// A read only: a payment past its time to live shows its last state until the next
    /// transition (or [`Engine::cancel`]) records the expiry.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Tampered`] when the record fails its integrity check,
    /// [`Error::Storage`].
    pub async fn load(&self, id: PaymentId) -> Result<AnyPayment, Error> {
        let key = Key::payment(&id);
        let entry = self.read(&key).await?.ok_or(Error::NotFound)?;
        payment::decode(&self.keys, key, &id, &entry)
    }

    /// The payment stored under `id`, which must be in state `S`: how a web server picks a
    /// payment up again from the id it kept between two requests.
    ///
    /// ```no_run
    /// # async fn f(engine: &buyster::Engine<buyster::memory::MemoryStore, buyster::memory::MemorySms,
    /// #     buyster::memory::MemoryBank>, id: buyster::PaymentId, code: &buyster::OtpCode)
    /// #     -> Result<(), buyster::Error> {
    /// let payment = engine.resume::<buyster::OtpSent>(id).await?;
    /// let answer = engine.confirm(payment, code).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] when the payment is in another state, and those of [`Engine::load`].
    pub async fn resume<S: State>(&self, id: PaymentId) -> Result<Payment<S>, Error> {
        let any = self.load(id).await?;
        let found = any.kind();
        S::from_any(any).ok_or(Error::WrongState {
            expected: S::KIND,
            found,
        })
    }

    /// Hands the event `make` builds to the host's sink, if it gave one; nothing is built
    /// otherwise. Call only after the change the event reports is stored.
    fn emit(&self, make: impl FnOnce() -> Event) {
        if let Some(sink) = &self.events {
            sink.record(&make());
        }
    }

    async fn read(&self, key: &Key) -> Result<Option<Entry>, Error> {
        self.store.get(key).await.map_err(Error::Storage)
    }

    /// Compare-and-swap; `Ok(None)` when another writer got there first.
    async fn try_put(
        &self,
        key: &Key,
        expected: Option<Version>,
        value: Vec<u8>,
    ) -> Result<Option<Version>, Error> {
        match self.store.put(key, expected, value).await {
            Ok(version) => Ok(Some(version)),
            Err(StoreError::Conflict) => Ok(None),
            Err(error) => Err(Error::Storage(error)),
        }
    }

    /// Replaces the stored payment if it is still at the version `next` was derived from;
    /// `Ok(None)` when it changed meanwhile.
    async fn replace<S: StateRecord>(&self, next: Payment<S>) -> Result<Option<Payment<S>>, Error> {
        let record = payment::encode(&next, &self.keys);
        let version = self
            .try_put(next.key(), Some(next.version()), record)
            .await?;
        Ok(version.map(|version| next.with_version(version)))
    }

    /// Records that `payment` expired, and returns the error to give the caller: `Expired` once
    /// the stored payment is `Failed(Expired)`, `WrongState` when a racing call took it
    /// elsewhere first (a stale value of a payment confirmed meanwhile is not "expired").
    async fn expire<S: StateRecord>(&self, payment: Payment<S>, now: Timestamp) -> Error {
        let id = payment.id();
        let mut any = S::into_any(payment);
        for _ in 0..MAX_RACES {
            match self.fail_open(any, FailureReason::Expired, now).await {
                Ok(Fail::Done(_)) => return Error::Expired,
                Ok(Fail::Settled(AnyPayment::Failed(p)))
                    if p.reason() == FailureReason::Expired =>
                {
                    return Error::Expired;
                }
                Ok(Fail::Settled(other)) => {
                    return Error::WrongState {
                        expected: S::KIND,
                        found: other.kind(),
                    };
                }
                Ok(Fail::Lost) => {}
                Err(error) => return error,
            }
            any = match self.load(id).await {
                Ok(any) => any,
                Err(error) => return error,
            };
        }
        Error::Conflict
    }

    /// Fails `any` for `reason` by compare-and-swap if it is not authorized yet.
    async fn fail_open(
        &self,
        any: AnyPayment,
        reason: FailureReason,
        now: Timestamp,
    ) -> Result<Fail, Error> {
        let stored = match any {
            AnyPayment::Initiated(p) => self.replace(failed(p, reason, now)).await?,
            AnyPayment::PinVerified(p) => self.replace(failed(p, reason, now)).await?,
            AnyPayment::OtpSent(p) => self.replace(failed(p, reason, now)).await?,
            settled => return Ok(Fail::Settled(settled)),
        };
        let Some(done) = stored else {
            return Ok(Fail::Lost);
        };
        self.emit(|| Event::payment(EventKind::Failed(reason), &done, now));
        self.release_share(done.phone(), done.id()).await;
        Ok(Fail::Done(done))
    }

    /// Applies `decide` to the guard under `key` by compare-and-swap, starting from `current`
    /// and reading again and deciding again after each lost race. Returns what `decide` said.
    async fn update_guard<T>(
        &self,
        key: &Key,
        mut current: (Guard, Option<Version>),
        decide: impl Fn(&Guard) -> Result<(Guard, T), Error>,
    ) -> Result<T, Error> {
        for _ in 0..MAX_RACES {
            let (next, answer) = decide(&current.0)?;
            if self
                .try_put(key, current.1, next.encode(&self.keys, key))
                .await?
                .is_some()
            {
                return Ok(answer);
            }
            current = self.read_guard(key).await?;
        }
        Err(Error::Conflict)
    }

    /// The guard stored under `key` (a fresh one if none is), and its version.
    async fn read_guard(&self, key: &Key) -> Result<(Guard, Option<Version>), Error> {
        match self.read(key).await? {
            Some(entry) => Ok((
                Guard::decode(&self.keys, key, entry.value())?,
                Some(entry.version()),
            )),
            None => Ok((Guard::default(), None)),
        }
    }
}
