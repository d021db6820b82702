//! The typestate payment: one generic [`Payment<S>`], one data-carrying struct per state.

mod any;
mod record;
mod refund;
pub(crate) mod refund_steps;
mod states;
pub(crate) mod steps;
mod ticket;

use core::fmt;

pub use any::{AnyPayment, CodeCheck, PinCheck};
pub(crate) use record::{
    StateRecord, decode, due_at, encode, kept_until, read_failure, write_failure,
};
pub use refund::{Refund, RefundStatus};
pub use states::{
    Authorized, CancelReason, Confirmed, Failed, FailureReason, Initiated, OtpSent, PinVerified,
    Receipt,
};
pub use ticket::{Exemption, ExemptionTicket};

use crate::error::StateKind;
use crate::host::{Key, Version};
use crate::ids::PaymentId;
use crate::order::Order;
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

/// A payment in state `S`. Only the engine makes one, from a verified record or a
/// transition; its data is never taken from the client.
///
/// Between HTTP requests keep only its [`id`](Payment::id) and get the payment back with
/// [`Engine::resume`](crate::Engine::resume).
///
/// # Typestate
///
/// Each transition consumes a `Payment<S>` and returns the next state's type, so a call the
/// state does not allow does not compile. With
///
/// ```
/// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
/// type Shop = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
/// ```
///
/// the right state compiles:
///
/// ```no_run
/// # use buyster::{*, memory::*};
/// # async fn f(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<OtpSent>,
/// #     code: &OtpCode) -> Result<(), Error> {
/// let answer = engine.confirm(payment, code).await?;
/// # Ok(()) }
/// ```
///
/// and none of these does:
///
/// ```compile_fail
/// # use buyster::{*, memory::*};
/// # async fn f(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<Initiated>,
/// #     code: &OtpCode) -> Result<(), Error> {
/// let answer = engine.confirm(payment, code).await?; // confirm needs a Payment<OtpSent>
/// # Ok(()) }
/// ```
///
/// ```compile_fail
/// # use buyster::{*, memory::*};
/// # async fn f(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<Initiated>)
/// #     -> Result<(), Error> {
/// let sent = engine.send_code(payment).await?; // no SMS before the PIN: needs PinVerified
/// # Ok(()) }
/// ```
///
/// ```compile_fail
/// # use buyster::{*, memory::*};
/// # async fn f(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<PinVerified>)
/// #     -> Result<(), Error> {
/// let paid = engine.settle(payment).await?; // settle needs an Authorized payment
/// # Ok(()) }
/// ```
///
/// ```compile_fail
/// # use buyster::{*, memory::*};
/// # async fn f(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<OtpSent>,
/// #     code: &OtpCode) -> Result<(), Error> {
/// let first = engine.confirm(payment, code).await?;
/// let again = engine.confirm(payment, code).await?; // the first call consumed the payment
/// # Ok(()) }
/// ```
pub struct Payment<S: State> {
    head: Head,
    state: S,
}

/// The fields every state of a payment shares: what is paid, by which number, when, and the
/// version the payment was read at.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) id: PaymentId,
    /// The store key of the payment, made once.
    pub(crate) key: Key,
    pub(crate) order: Order,
    pub(crate) phone: PhoneNumber,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    pub(crate) version: Version,
}

impl Head {
    /// The payment this head starts, in `state`.
    pub(crate) fn with<S: State>(self, state: S) -> Payment<S> {
        Payment { head: self, state }
    }
}

impl<S: State> fmt::Debug for Payment<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.head;
        f.debug_struct("Payment")
            .field("id", &head.id)
            .field("key", &head.key)
            .field("order", &head.order)
            .field("phone", &head.phone)
            .field("created_at", &head.created_at)
            .field("expires_at", &head.expires_at)
            .field("version", &head.version)
            .field("state", &self.state)
            .finish()
    }
}

/// The states a [`Payment`] can be in. Sealed: the six states of this crate are all there is.
pub trait State: sealed::Sealed + fmt::Debug + Send + Sync + Sized + 'static {
    /// The state as a plain value.
    const KIND: StateKind;
}

pub(crate) mod sealed {
    use super::{AnyPayment, Payment, State};

    /// Keeps [`State`] closed, and converts to and from the dynamic [`AnyPayment`]: the one
    /// conversion each way.
    pub trait Sealed {
        /// The payment if `any` is in this state.
        fn from_any(any: AnyPayment) -> Option<Payment<Self>>
        where
            Self: State;

        /// `payment` as the dynamic enum.
        fn into_any(payment: Payment<Self>) -> AnyPayment
        where
            Self: State;
    }
}

impl<S: State> Payment<S> {
    /// The payment's id.
    #[must_use]
    pub fn id(&self) -> PaymentId {
        self.head.id
    }

    /// What is paid.
    #[must_use]
    pub fn order(&self) -> &Order {
        &self.head.order
    }

    /// The buyer's number. Its `Debug` is masked; use [`PhoneNumber::masked`] on screens.
    #[must_use]
    pub fn phone(&self) -> &PhoneNumber {
        &self.head.phone
    }

    /// The state's own data.
    #[must_use]
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The state as a plain value.
    #[must_use]
    pub fn kind(&self) -> StateKind {
        S::KIND
    }

    /// When `initiate` created the payment.
    #[must_use]
    pub fn created_at(&self) -> Timestamp {
        self.head.created_at
    }

    /// When the payment expires unless it is authorized before.
    #[must_use]
    pub fn expires_at(&self) -> Timestamp {
        self.head.expires_at
    }

    /// The payment as the runtime enum, for code that handles every state.
    #[must_use]
    pub fn into_any(self) -> AnyPayment {
        S::into_any(self)
    }

    pub(crate) fn version(&self) -> Version {
        self.head.version
    }

    pub(crate) fn key(&self) -> &Key {
        &self.head.key
    }

    pub(crate) fn with_version(mut self, version: Version) -> Self {
        self.head.version = version;
        self
    }

    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.head.expires_at
    }

    /// The same payment in another state, still at the version it was read with.
    pub(crate) fn with_state<T: State>(self, state: T) -> Payment<T> {
        self.head.with(state)
    }
}

impl Payment<Initiated> {
    /// A new payment under a random id, not yet stored.
    pub(crate) fn new(
        order: Order,
        phone: PhoneNumber,
        now: Timestamp,
        ttl: core::time::Duration,
    ) -> Self {
        Self::with_id(PaymentId::random(), order, phone, now, ttl)
    }

    /// A new payment under `id`, not yet stored: the id of an order's idempotency key.
    pub(crate) fn with_id(
        id: PaymentId,
        order: Order,
        phone: PhoneNumber,
        now: Timestamp,
        ttl: core::time::Duration,
    ) -> Self {
        let head = Head {
            id,
            key: Key::payment(&id),
            order,
            phone,
            created_at: now,
            expires_at: now.saturating_add(ttl),
            version: Version::new(0),
        };
        head.with(Initiated::new())
    }
}

impl Payment<Initiated> {
    /// The same new payment under another random id, after the first one was found taken.
    pub(crate) fn with_new_id(mut self) -> Self {
        let id = PaymentId::random();
        self.head.id = id;
        self.head.key = Key::payment(&id);
        self
    }
}

impl Payment<OtpSent> {
    /// When the current code stops being accepted.
    #[must_use]
    pub fn code_expires_at(&self) -> Timestamp {
        self.state.code_expires_at()
    }

    /// Wrong codes the payment may still receive; the last one fails it.
    #[must_use]
    pub fn attempts_left(&self) -> u8 {
        self.state.attempts_left()
    }

    /// New codes the buyer may still ask for.
    #[must_use]
    pub fn resends_left(&self) -> u8 {
        self.state.resends_left()
    }
}

impl Payment<Confirmed> {
    /// The proof of the debit.
    #[must_use]
    pub fn receipt(&self) -> &Receipt {
        self.state.receipt()
    }
}

impl Payment<Failed> {
    /// Why the payment failed.
    #[must_use]
    pub fn reason(&self) -> FailureReason {
        self.state.reason()
    }
}
