//! The four traits the host implements — [`Store`], [`SmsGateway`], [`Bank`], [`Clock`] — and
//! the values that cross them.
//!
//! The engine does no I/O of its own: it calls these. Each trait's documentation states its
//! contract in MUST words; the guarantees of the crate hold when the host keeps them.

mod bank;
mod clock;
mod refund;
mod sms;
mod store;

pub use bank::{Bank, BankError, DebitReceipt, DebitRequest, DeclineReason};
pub use clock::{Clock, SystemClock};
pub use refund::{RefundKey, RefundReason, RefundReceipt, RefundRequest};
pub use sms::{SmsError, SmsGateway, SmsMessage};
pub use store::{Due, Entry, Key, KeyedWrite, Outboxed, Store, StoreError, Version, Write};
