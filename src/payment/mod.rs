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
pub(crate) use record::{StateRecord, decode, encode};
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
#[derive(Debug)]
pub struct Payment<S: State> {
    id: PaymentId,
    /// The store key of the payment, made once.
    key: Key,
    order: Order,
    phone: PhoneNumber,
    created_at: Timestamp,
    expires_at: Timestamp,
    version: Version,
    state: S,
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
        self.id
    }

    /// What is paid.
    #[must_use]
    pub fn order(&self) -> &Order {
        &self.order
    }

    /// The buyer's number. Its `Debug` is masked; use [`PhoneNumber::masked`] on screens.
    #[must_use]
    pub fn phone(&self) -> &PhoneNumber {
        &self.phone
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
        self.created_at
    }

    /// When the payment expires unless it is authorized before.
    #[must_use]
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// The payment as the runtime enum, for code that handles every state.
    #[must_use]
    pub fn into_any(self) -> AnyPayment {
        S::into_any(self)
    }

    pub(crate) fn version(&self) -> Version {
        self.version
    }

    pub(crate) fn key(&self) -> &Key {
        &self.key
    }

    pub(crate) fn with_version(self, version: Version) -> Self {
        Self { version, ..self }
    }

    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// The same payment in another state, still at the version it was read with.
    pub(crate) fn with_state<T: State>(self, state: T) -> Payment<T> {
        Payment {
            id: self.id,
            key: self.key,
            order: self.order,
            phone: self.phone,
            created_at: self.created_at,
            expires_at: self.expires_at,
            version: self.version,
            state,
        }
    }
}

impl Payment<Initiated> {
    /// A new payment, not yet stored.
    pub(crate) fn new(
        order: Order,
        phone: PhoneNumber,
        now: Timestamp,
        ttl: core::time::Duration,
    ) -> Self {
        let id = PaymentId::random();
        Self {
            id,
            key: Key::payment(&id),
            order,
            phone,
            created_at: now,
            expires_at: now.saturating_add(ttl),
            version: Version::new(0),
            state: Initiated::new(),
        }
    }
}

impl Payment<Initiated> {
    /// The same new payment under another random id, after the first one was found taken.
    pub(crate) fn with_new_id(self) -> Self {
        let id = PaymentId::random();
        Self {
            id,
            key: Key::payment(&id),
            ..self
        }
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
