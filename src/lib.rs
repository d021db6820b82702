#![doc = include_str!("../README.md")]
//!
//! # The flow
//!
//! ```text
//!             initiate(order, phone)
//!                     │
//!                     ▼
//!               ┌───────────┐  verify_pin ✗ (attempts left)    locked after max_pin_failures
//!               │ Initiated │◀────────────────────────┐       (per number, not per payment)
//!               └─────┬─────┘─────────────────────────┘
//!          verify_pin ✓
//!                     ▼
//!              ┌─────────────┐
//!              │ PinVerified │
//!              └──────┬──────┘
//!           send_code │  SMS: code + amount + merchant
//!                     ▼
//!                ┌─────────┐  confirm ✗ (attempts left) / resend_code (cooldown, cap)
//!                │ OtpSent │◀────────────────────────┐
//!                └────┬────┘─────────────────────────┘
//!        confirm ✓    │  code consumed by compare-and-swap
//!                     ▼
//!               ┌────────────┐  Bank::debit, idempotency key = payment id
//!               │ Authorized │────────────────────────────┐  bank unreachable: stays
//!               └────────────┘                            │  Authorized; settle again
//!                                                         ▼
//!                                                  ┌───────────┐
//!                                                  │ Confirmed │ receipt
//!                                                  └───────────┘
//!  Initiated, PinVerified, OtpSent ──(expiry, cancel, too many codes)──▶ Failed(reason)
//!  Authorized ──(bank decline)──▶ Failed(Declined)
//! ```
//!
//! A transition takes the payment by value and returns the next typed state; see
//! [`Payment`] for the `compile_fail` proofs that illegal calls do not compile. A rejected PIN
//! or code is an answer ([`PinCheck::Rejected`], [`CodeCheck::Rejected`], with at least one
//! attempt left); the attempt that reaches the limit is an error ([`Error::Locked`],
//! [`Error::TooManyAttempts`]).
//!
//! # Decisions
//!
//! Where the contract leaves a choice, this is what the engine does.
//!
//! - **Every PIN attempt is written.** A right PIN resets the number's guard by
//!   compare-and-swap just as a wrong one counts in it, so attempts made in parallel are
//!   answered one at a time and none is answered once the lock is reached. A right PIN also
//!   forgets past locks: the permanent lock needs five locks without a right PIN between them.
//! - **Unknown numbers lock too.** Their first wrong PIN creates a guard record, exactly as for
//!   an enrolled number; `initiate` never reads accounts.
//! - **A lock leaves the payment as it is** (`Initiated`); it expires with its time to live, or
//!   the host cancels it.
//! - **The funding source is fixed when the PIN is verified**, copied from the account into the
//!   payment, so the debit charges the account the buyer authenticated for.
//! - **An expired code is not a guess.** The payment stays `OtpSent` and `resend_code` sends a
//!   new one; a code never outlives its payment. An expired payment becomes `Failed(Expired)`
//!   at its next transition or cancellation; [`Engine::load`] is a pure read.
//! - **Code attempts count per payment**, across resends; a resend does not give new attempts.
//! - **A code of another length is a wrong code** (counted); [`OtpCode`] itself accepts 6 to 9
//!   digits.
//! - **A send is recorded before it leaves.** `send_code` and `resend_code` first store the new
//!   code's tag by compare-and-swap (so racing resends send one SMS), then count the SMS in the
//!   number's window, then call the gateway. If the window is full or the gateway fails, the
//!   previous state is put back and the error returned, so the send can be retried; an SMS the
//!   gateway failed still counts, so a failing gateway cannot be hammered.
//! - **`Authorized` never expires**: the money may be moving. Only the bank's answer ends it,
//!   through [`Engine::settle`], and [`Engine::cancel`] refuses it.
//! - **`cancel` is idempotent** on a `Failed` payment and records `Expired` rather than
//!   `Cancelled` for a payment already past its time to live.
//! - **A lost compare-and-swap race** makes the engine read again and decide again; after 16
//!   lost races in one call it gives up with [`Error::Conflict`].
//! - **Receipts keep the first 255 bytes** of the bank's reference.
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
    clippy::arithmetic_side_effects
)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod account;
mod codec;
mod crypto;
mod engine;
mod error;
mod funding;
mod guard;
mod host;
mod iban;
mod ids;
mod keys;
pub mod memory;
mod money;
mod order;
mod payment;
mod phone;
mod policy;
mod secret;
#[cfg(feature = "testkit")]
pub mod testkit;
mod text;

pub use engine::{Engine, EngineBuilder, Unset};
pub use error::{Error, StateKind, TextError};
pub use funding::{FundingSource, FundingToken};
pub use host::{
    Bank, BankError, Clock, DebitReceipt, DebitRequest, DeclineReason, Entry, Key, SmsError,
    SmsGateway, SmsMessage, Store, StoreError, SystemClock, Timestamp, Version,
};
pub use iban::{Iban, IbanError};
pub use ids::PaymentId;
pub use keys::Keys;
pub use money::{Amount, AmountError, Currency};
pub use order::{Channel, Merchant, MerchantId, Order};
pub use payment::{
    AnyPayment, Authorized, CancelReason, CodeCheck, Confirmed, Failed, FailureReason, Initiated,
    OtpSent, Payment, PinCheck, PinVerified, Receipt, State,
};
pub use phone::{PhoneError, PhoneNumber, Region};
pub use policy::{Policy, PolicyError};
pub use secret::{DigitsError, OtpCode, Pin, SecretKey};
pub use text::Language;
