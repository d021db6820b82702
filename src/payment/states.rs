//! The data each state carries.

use core::fmt;

use crate::error::StateKind;
use crate::funding::FundingSource;
use crate::host::DeclineReason;
use crate::ids::PaymentId;
use crate::keys::KeyedTag;
use crate::money::Amount;
use crate::order::MerchantId;
use crate::time::Timestamp;

use super::refund::Refund;
use super::{AnyPayment, Payment, State, sealed::Sealed};

/// Created by `initiate`; waiting for the buyer's PIN.
#[derive(Debug)]
pub struct Initiated {
    _private: (),
}

impl Initiated {
    pub(crate) const fn new() -> Self {
        Self { _private: () }
    }
}

/// The PIN was right; the account's funding source is fixed for this payment. No code sent yet.
#[derive(Debug)]
pub struct PinVerified {
    pub(crate) funding: FundingSource,
    pub(crate) verified_at: Timestamp,
    /// Whether the PIN check already counted the code's SMS in the number's window.
    pub(crate) sms_counted: bool,
    /// Whether the low-value exemption applies: the payment may be authorized without a code.
    pub(crate) exempt: bool,
}

impl PinVerified {
    /// The account that will be debited.
    #[must_use]
    pub fn funding_source(&self) -> &FundingSource {
        &self.funding
    }

    /// When the PIN was verified.
    #[must_use]
    pub fn verified_at(&self) -> Timestamp {
        self.verified_at
    }

    /// Whether the low-value exemption applies: [`Payment::exemption`] then gives the ticket
    /// that [`Engine::authorize_exempt`](crate::Engine::authorize_exempt) takes instead of a
    /// code.
    #[must_use]
    pub fn low_value_exempt(&self) -> bool {
        self.exempt
    }
}

/// A code was sent by SMS; waiting for the buyer to type it.
#[derive(Debug)]
pub struct OtpSent {
    pub(crate) funding: FundingSource,
    /// The tag of the code in force, bound to the payment, its amount and merchant.
    pub(crate) code: KeyedTag,
    pub(crate) code_expires_at: Timestamp,
    pub(crate) attempts_left: u8,
    pub(crate) resends_left: u8,
    pub(crate) last_sent_at: Timestamp,
}

impl OtpSent {
    /// The account that will be debited.
    #[must_use]
    pub fn funding_source(&self) -> &FundingSource {
        &self.funding
    }

    /// When the current code stops being accepted.
    #[must_use]
    pub fn code_expires_at(&self) -> Timestamp {
        self.code_expires_at
    }

    /// Wrong codes the payment may still receive; the last one fails it.
    #[must_use]
    pub fn attempts_left(&self) -> u8 {
        self.attempts_left
    }

    /// New codes the buyer may still ask for.
    #[must_use]
    pub fn resends_left(&self) -> u8 {
        self.resends_left
    }

    /// When the last code was sent.
    #[must_use]
    pub fn last_sent_at(&self) -> Timestamp {
        self.last_sent_at
    }

    /// A copy, to put back if a resend fails.
    pub(crate) fn snapshot(&self) -> Self {
        Self {
            funding: self.funding.clone(),
            code: self.code.clone(),
            ..*self
        }
    }
}

/// The code was right and is consumed; the debit is due, or in flight. Never expires: only
/// [`Engine::settle`](crate::Engine::settle) moves it on.
#[derive(Debug)]
pub struct Authorized {
    pub(crate) funding: FundingSource,
    pub(crate) authorized_at: Timestamp,
    /// Authorized without a code, under the low-value exemption.
    pub(crate) exempt: bool,
}

impl Authorized {
    /// The account to debit.
    #[must_use]
    pub fn funding_source(&self) -> &FundingSource {
        &self.funding
    }

    /// When the code was accepted (or the exemption applied).
    #[must_use]
    pub fn authorized_at(&self) -> Timestamp {
        self.authorized_at
    }

    /// Whether the payment was authorized without a code, under the low-value exemption.
    #[must_use]
    pub fn low_value_exempt(&self) -> bool {
        self.exempt
    }
}

/// The buyer was debited. Terminal for the checkout; the merchant may refund it, in part or
/// in full ([`Engine::refund`](crate::Engine::refund)).
#[derive(Debug)]
pub struct Confirmed {
    pub(crate) receipt: Receipt,
    /// Its refunds, oldest first.
    pub(crate) refunds: Vec<Refund>,
}

impl Confirmed {
    /// The proof of the debit.
    #[must_use]
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }
}

/// Proof that a payment was debited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub(crate) payment_id: PaymentId,
    pub(crate) amount: Amount,
    pub(crate) merchant: MerchantId,
    pub(crate) order_reference: String,
    pub(crate) bank_reference: String,
    pub(crate) confirmed_at: Timestamp,
    pub(crate) exempt: bool,
}

impl Receipt {
    /// The payment debited.
    #[must_use]
    pub fn payment_id(&self) -> PaymentId {
        self.payment_id
    }

    /// The amount debited.
    #[must_use]
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The merchant credited.
    #[must_use]
    pub fn merchant(&self) -> &MerchantId {
        &self.merchant
    }

    /// The merchant's order reference.
    #[must_use]
    pub fn order_reference(&self) -> &str {
        &self.order_reference
    }

    /// The bank's transaction reference.
    #[must_use]
    pub fn bank_reference(&self) -> &str {
        &self.bank_reference
    }

    /// When the payment was confirmed.
    #[must_use]
    pub fn confirmed_at(&self) -> Timestamp {
        self.confirmed_at
    }

    /// Whether the payment went without a code, under the low-value exemption (PSD2 asks
    /// that each use be recorded).
    #[must_use]
    pub fn low_value_exempt(&self) -> bool {
        self.exempt
    }
}

/// The payment ended without a debit. Terminal.
#[derive(Debug)]
pub struct Failed {
    pub(crate) reason: FailureReason,
    pub(crate) failed_at: Timestamp,
}

impl Failed {
    /// Why the payment failed.
    #[must_use]
    pub fn reason(&self) -> FailureReason {
        self.reason
    }

    /// When it failed.
    #[must_use]
    pub fn failed_at(&self) -> Timestamp {
        self.failed_at
    }
}

/// Why a payment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// It was not authorized within the payment's time to live.
    Expired,
    /// The host cancelled it.
    Cancelled(CancelReason),
    /// The last allowed code attempt was wrong.
    TooManyAttempts,
    /// The bank refused the debit.
    Declined(DeclineReason),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired => f.write_str("expired"),
            Self::Cancelled(reason) => write!(f, "cancelled by the {reason}"),
            Self::TooManyAttempts => f.write_str("too many wrong codes"),
            Self::Declined(reason) => write!(f, "declined: {reason}"),
        }
    }
}

/// Who cancelled a payment, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelReason {
    /// The buyer gave up.
    Buyer,
    /// The merchant withdrew the order.
    Merchant,
    /// The host suspects fraud.
    Fraud,
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Buyer => "buyer",
            Self::Merchant => "merchant",
            Self::Fraud => "fraud",
        })
    }
}

macro_rules! state {
    ($state:ident) => {
        impl State for $state {
            const KIND: StateKind = StateKind::$state;
        }

        impl Sealed for $state {
            fn from_any(any: AnyPayment) -> Option<Payment<Self>> {
                match any {
                    AnyPayment::$state(payment) => Some(payment),
                    _ => None,
                }
            }

            fn into_any(payment: Payment<Self>) -> AnyPayment {
                AnyPayment::$state(payment)
            }
        }
    };
}

impl<S: State> From<Payment<S>> for AnyPayment {
    fn from(payment: Payment<S>) -> Self {
        payment.into_any()
    }
}

state!(Initiated);
state!(PinVerified);
state!(OtpSent);
state!(Authorized);
state!(Confirmed);
state!(Failed);
