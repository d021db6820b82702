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
//!
//! # Guarantees
//!
//! What holds when the host keeps the contracts of the four traits ([`Store`]: atomic
//! compare-and-swap, versions never reused; [`Bank`]: idempotent on the key for as long as a
//! payment may be `Authorized`; [`SmsGateway`] and [`Clock`] as documented), whatever races,
//! crashes, retries, timeouts and concurrent callers happen:
//!
//! - **At most one debit per payment.** The code is consumed by a compare-and-swap into
//!   `Authorized` before the bank is called, and every debit of a payment, first or retried,
//!   carries the payment id as its idempotency key.
//! - **A debit only for the right code**, unexpired, of that payment: the code's tag binds the
//!   payment id, the amount, the currency and the merchant, and a code works once.
//! - **No lost debit.** A payment whose debit may have happened stays `Authorized` until the
//!   bank answers; [`Engine::settle`] and [`Engine::recover`] ask again with the same key. A
//!   payment is `Confirmed` only after the bank's `Ok`, and `Failed(Declined)` only after its
//!   decline.
//! - **Every guess counted exactly once.** A PIN or code attempt is answered only after its
//!   count is written by compare-and-swap; a lost race reads again and decides again. A number
//!   gets at most `max_pin_failures` answers before it locks (a right PIN, answered in turn,
//!   starts the count again); a payment gets at most `max_code_attempts` answers to wrong codes.
//! - **Ambiguous writes are safe.** A `put` that committed but reported an error keeps what it
//!   wrote (a counted guess stays counted, a consumed code stays consumed); the caller sees an
//!   error, never an answer whose count was not written.
//! - **Every payment can end.** Before `Authorized` it expires (recorded at its next call or by
//!   [`Engine::recover`]) or is cancelled; `Authorized` ends with the bank's answer.
//! - **Records cannot be forged**: each is sealed by an HMAC over its store key and its bytes,
//!   so an edited, truncated, forged or moved record is refused as [`Error::Tampered`].
//! - **SMS are bounded**: none before a right PIN; at most `1 + max_resends` per payment, even
//!   when resends race; at most `max_sms_per_number` per number per window.
//!
//! What is **not** guaranteed:
//!
//! - **A store that breaks compare-and-swap** loses counts (more guesses than the policy
//!   allows) and may let a code through twice; the bank's idempotency key still stops a second
//!   debit of the same payment. Check a store with `testkit::store_conformance` (feature
//!   `testkit`).
//! - **A bank that ignores idempotency keys**, or forgets them before the payment is settled,
//!   may debit twice when a settle is retried after an outage or a crash.
//! - **Freshness.** The HMAC proves that the engine wrote a record for its key, not that it is
//!   the latest one: whoever can write to the store can put back an older record (or delete a
//!   guard) and win back PIN or code guesses. Such a writer still cannot change an amount, a
//!   funding source or a code, nor cause a second debit. Keep write access to the store as
//!   narrow as access to the keys.
//! - **Finding unfinished payments.** The store has no listing: the host keeps the ids of its
//!   unpaid orders and runs [`Engine::recover`] on them (see the README's recovery job).
//! - **The store's own timing.** The engine does the same calls and the same HMAC work for an
//!   unknown number as for a wrong PIN; a store whose reads are faster when a key is absent, or
//!   whose inserts cost more than updates, is the host's to even out.
//! - **Activity of a number.** A right PIN starts the failure count again, so someone guessing
//!   at a number can notice from `attempts_left` that its owner paid in between.
//! - **The clock.** A clock that jumps ahead expires payments and codes early; one that jumps
//!   back extends locks, cooldowns and windows.
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
mod enrollment;
mod error;
mod events;
mod exemption;
mod funding;
mod guard;
mod host;
mod iban;
mod ids;
mod keys;
mod limits;
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
#[cfg(test)]
mod timing;
mod weak_pin;

pub use account::{AccountDetails, AccountStatus, PinChange};
pub use engine::{Engine, EngineBuilder, Unset};
pub use enrollment::{
    AnyEnrollment, CodeSent, Enrolled, Enrollment, EnrollmentCheck, EnrollmentFailed,
    EnrollmentFailure, EnrollmentKind, EnrollmentState,
};
pub use error::{Error, StateKind, TextError};
pub use events::{Event, EventKind, EventSink};
pub use funding::{FundingSource, FundingToken};
pub use host::{
    Bank, BankError, Clock, DebitReceipt, DebitRequest, DeclineReason, Entry, Key, RefundReceipt,
    RefundRequest, SmsError, SmsGateway, SmsMessage, Store, StoreError, SystemClock, Timestamp,
    Version,
};
pub use iban::{Iban, IbanError};
pub use ids::{EnrollmentId, PaymentId};
pub use keys::Keys;
pub use limits::SpendingLimit;
pub use money::{Amount, AmountError, Currency};
pub use order::{Channel, Merchant, MerchantId, Order};
pub use payment::{
    AnyPayment, Authorized, CancelReason, CodeCheck, Confirmed, Exemption, ExemptionTicket, Failed,
    FailureReason, Initiated, OtpSent, Payment, PinCheck, PinVerified, Receipt, Refund, RefundKey,
    RefundReason, RefundStatus, State,
};
pub use phone::{PhoneError, PhoneNumber, Region};
pub use policy::{Policy, PolicyError};
pub use secret::{DigitsError, OtpCode, Pin, SecretKey};
pub use text::Language;
pub use weak_pin::WeakPinRule;
