//! The runtime view of a payment, and the answers to a PIN or a code.

use crate::error::StateKind;
use crate::ids::PaymentId;
use crate::order::Order;
use crate::phone::PhoneNumber;

use super::{Authorized, Confirmed, Failed, Initiated, OtpSent, Payment, PinVerified};

/// A payment in whatever state it is stored in: what [`Engine::load`](crate::Engine::load)
/// returns. Match on it, or ask [`Engine::resume`](crate::Engine::resume) for the state you
/// expect.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "one variant per state: a new state is a new step every host must handle"
)]
pub enum AnyPayment {
    /// Waiting for the PIN.
    Initiated(Payment<Initiated>),
    /// PIN verified; no code sent yet.
    PinVerified(Payment<PinVerified>),
    /// Code sent; waiting for it.
    OtpSent(Payment<OtpSent>),
    /// Code accepted; debit due.
    Authorized(Payment<Authorized>),
    /// Debited.
    Confirmed(Payment<Confirmed>),
    /// Ended without a debit.
    Failed(Payment<Failed>),
}

macro_rules! each {
    ($any:expr, $payment:ident => $body:expr) => {
        match $any {
            AnyPayment::Initiated($payment) => $body,
            AnyPayment::PinVerified($payment) => $body,
            AnyPayment::OtpSent($payment) => $body,
            AnyPayment::Authorized($payment) => $body,
            AnyPayment::Confirmed($payment) => $body,
            AnyPayment::Failed($payment) => $body,
        }
    };
}

impl AnyPayment {
    /// The state as a plain value.
    #[must_use]
    pub fn kind(&self) -> StateKind {
        each!(self, p => p.kind())
    }

    /// The payment's id.
    #[must_use]
    pub fn id(&self) -> PaymentId {
        each!(self, p => p.id())
    }

    /// What is paid.
    #[must_use]
    pub fn order(&self) -> &Order {
        each!(self, p => p.order())
    }

    /// The buyer's number.
    #[must_use]
    pub fn phone(&self) -> &PhoneNumber {
        each!(self, p => p.phone())
    }

    /// When the payment expires (or expired) unless authorized before.
    #[must_use]
    pub fn expires_at(&self) -> crate::time::Timestamp {
        each!(self, p => p.expires_at())
    }
}

/// The answer to a PIN.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two answers to a PIN: a host handles each"
)]
pub enum PinCheck {
    /// The PIN was right: send the code next.
    Verified(Payment<PinVerified>),
    /// The PIN was wrong; `attempts_left` more wrong PINs for this number lock it (at least 1),
    /// with `next_lock`.
    Rejected {
        /// The payment, unchanged: ask for the PIN again.
        payment: Payment<Initiated>,
        /// Wrong PINs left before the lock.
        attempts_left: u8,
        /// The lock they lead to: when it is [`NextLock::Permanent`](crate::NextLock), warn the
        /// payer before it is reached (PSD2 RTS art. 4(3)(b)).
        next_lock: crate::guard::NextLock,
    },
}

/// The answer to a code.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two answers to a code: a host handles each"
)]
pub enum CodeCheck {
    /// The code was right and the buyer was debited.
    Confirmed(Payment<Confirmed>),
    /// The code was wrong; `attempts_left` more wrong codes fail the payment (at least 1).
    Rejected {
        /// The payment: ask for the code again.
        payment: Payment<OtpSent>,
        /// Wrong codes left.
        attempts_left: u8,
    },
}
