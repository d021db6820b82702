#![doc = include_str!("../README.md")]
//!
//! # The flow
//!
//! ```text
//!  Enrollment, once per number
//!
//!    start_enrollment(phone) ──SMS code──▶ Enrollment<CodeSent> ──finish_enrollment(code,
//!        (no account is read)                    │  ▲                PIN, funding) ✓──▶ Accepted
//!                                     wrong code │  │ attempts left     (code used up) ──▶ Enrolled
//!                                                └──┘                                (account made)
//!    CodeSent ──(expiry, too many codes)──▶ Failed(reason) ◀──(number enrolled already)── Accepted
//!    enroll(phone, PIN, funding): direct, for a host that verified the holder by its own means
//!
//!  Payment
//!
//!             initiate(order, phone)
//!                     │
//!                     ▼
//!               ┌───────────┐  verify_pin ✗ (attempts left)    locked after max_pin_failures
//!               │ Initiated │◀────────────────────────┐       (per number, not per payment);
//!               └─────┬─────┘─────────────────────────┘       over a spending limit: refused
//!          verify_pin ✓  PIN right, amount reserved within the spending limits
//!                     ▼
//!              ┌─────────────┐  exemption() gives a ticket when the low-value exemption
//!              │ PinVerified │──────────────────────────────────┐ applies (off by default)
//!              └──────┬──────┘                                  │ authorize_exempt(ticket)
//!           send_code │  SMS: code + amount + merchant          │
//!                     ▼                                         │
//!                ┌─────────┐  confirm ✗ (attempts left) / resend_code (cooldown, cap)
//!                │ OtpSent │◀────────────────────────┐          │
//!                └────┬────┘─────────────────────────┘          │
//!        confirm ✓    │  code consumed by compare-and-swap      │
//!                     ▼                                         │
//!               ┌────────────┐◀───────────────────────────────────┘
//!               │ Authorized │  Bank::debit, idempotency key = payment id; bank unreachable:
//!               └─────┬──────┘  stays Authorized; settle again
//!                     ▼
//!               ┌───────────┐  refund(amount, reason, key): Bank::refund, idempotent on the
//!               │ Confirmed │  key; partial refunds never exceed the debit
//!               └───────────┘
//!  Initiated, PinVerified, OtpSent ──(expiry, cancel, too many codes)──▶ Failed(reason)
//!  Authorized ──(bank decline)──▶ Failed(Declined)
//!  A failed payment gives back its share of the number's spending limits.
//! ```
//!
//! A transition takes the payment (or the enrollment) by value and returns the next typed
//! state; see [`Payment`] for the `compile_fail` proofs that illegal calls do not compile. A
//! rejected PIN or code is an answer ([`PinCheck::Rejected`], [`CodeCheck::Rejected`],
//! [`EnrollmentCheck::Rejected`], [`PinChange::Rejected`], with at least one attempt left);
//! the attempt that reaches the limit is an error ([`Error::Locked`],
//! [`Error::TooManyAttempts`]).
//!
//! Beside the buyer's steps, the host's back office has its own operations, fenced behind
//! [`Engine::back_office`]: they authenticate no one and are for a person the host has
//! identified by its own means ([`BackOffice::set_status`]: active, suspended, closed;
//! [`BackOffice::replace_funding_source`], [`BackOffice::reset_pin`], [`BackOffice::unlock`],
//! [`BackOffice::account`]). Every state change is reported to the host's [`EventSink`], if it
//! gave one.
//!
#![doc = include_str!("decisions.md")]
#![doc = include_str!("guarantees.md")]
#![doc = include_str!("serialization.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::indexing_slicing,
    clippy::float_arithmetic,
    clippy::arithmetic_side_effects,
    clippy::exhaustive_structs,
    clippy::exhaustive_enums
)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod account;
mod codec;
mod crypto;
mod display_text;
mod engine;
mod enrollment;
mod error;
mod events;
mod funding;
mod gsm7;
mod guard;
mod host;
mod iban;
mod idempotency;
mod ids;
mod keys;
mod language;
pub mod memory;
mod money;
mod order;
mod payment;
mod phone;
mod policy;
mod seal;
mod secret;
#[cfg(feature = "serde")]
mod serialization;
#[cfg(feature = "testkit")]
pub mod testkit;
mod text;
mod time;
#[cfg(test)]
mod timing;
#[cfg(feature = "tracing")]
mod tracing_events;
mod weak_pin;

pub use account::{AccountDetails, AccountStatus, PinChange};
pub use display_text::TextError;
pub use engine::{BackOffice, Delivered, DueWork, Engine, EngineBuilder, Unset};
pub use enrollment::{
    AnyEnrollment, CodeAccepted, CodeSent, Enrolled, Enrollment, EnrollmentCheck, EnrollmentFailed,
    EnrollmentFailure, EnrollmentState,
};
pub use error::{EnrollmentKind, Error, SpendingLimit, StateKind};
pub use events::{DeliveryError, Event, EventDelivery, EventKind, EventSink};
pub use funding::{FundingSource, FundingToken};
pub use gsm7::SmsEncoding;
pub use guard::NextLock;
pub use host::{
    Bank, BankError, Clock, DebitReceipt, DebitRequest, DeclineReason, Due, Entry, Key, KeyedWrite,
    Outboxed, RefundKey, RefundReason, RefundReceipt, RefundRequest, SmsError, SmsGateway,
    SmsMessage, Store, StoreError, SystemClock, Version, Write,
};
pub use iban::{Iban, IbanError};
pub use idempotency::{IdempotencyKey, IdempotencyKeyError};
pub use ids::{EnrollmentId, EventId, PaymentId};
pub use keys::Keys;
pub use language::Language;
pub use money::{Amount, AmountError, Currency};
pub use order::{Channel, Merchant, MerchantId, Order};
pub use payment::{
    AnyPayment, Authorized, CancelReason, CodeCheck, Confirmed, Exemption, ExemptionTicket, Failed,
    FailureReason, Initiated, OtpSent, Payment, PinCheck, PinVerified, Receipt, Refund,
    RefundStatus, State,
};
pub use phone::{NumberKind, PhoneError, PhoneNumber, Region};
pub use policy::{CurrencyLimits, Policy, PolicyError};
pub use secret::{DigitsError, OtpCode, Pin, SecretKey};
pub use time::Timestamp;
#[cfg(feature = "tracing")]
pub use tracing_events::TracingEvents;
pub use weak_pin::WeakPinRule;
