#![doc = include_str!("../README.md")]
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
