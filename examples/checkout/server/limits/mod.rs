//! Limits that make the checkout expensive to abuse: how many payments one client may start,
//! how many one number may be the subject of, how many unfinished payments one client may
//! hold open, and how many wrong PINs one client (an address, and a browser session of the
//! pages) may send, for how many numbers.
//!
//! # Why the PIN limits
//!
//! The engine locks a number after `max_pin_failures` consecutive wrong PINs, whoever sends
//! them: strong customer authentication requires it, and it is what stops a PIN being guessed.
//! But anyone who knows a number can start a payment for it and lock its owner out. These
//! limits are checked *before* a PIN reaches the engine, so that a refused attempt counts
//! nothing against the number: one client may get at most `wrong_pins_per_client` PINs wrong
//! per `pin_window`, for at most `wrong_pin_numbers_per_client` numbers. With the defaults
//! (10 and 3 an hour, `max_pin_failures` 3), one address locks out at most 3 numbers an hour.
//!
//! # What is left
//!
//! A client with many addresses (a botnet; an IPv6 block larger than a /64) has a budget for
//! each, and can lock out that many more numbers. And the engine's locks escalate to a
//! permanent one (`max_pin_locks`): one address that keeps at one number gets there, 15 wrong
//! PINs with the defaults, in about four hours. What undoes a lock is the host's: an unlock
//! by the back office (`engine.back_office().unlock(&phone)`) once the owner has been
//! identified by the host's own means, or a self-service unlock through a code sent by SMS to
//! the number, which proves possession of the phone (and only that: it must not reset a PIN).
//! The limits live in memory, per process: with several server processes, each has its own
//! budget for each client.
//!
//! Every limit is a [`Limits`] field (see `--help`), checked against the server's clock, and a
//! refusal is a [`TooMany`]: 429 with `retry_at` and `Retry-After`.

mod client;
mod creation;
mod pin;
mod settings;
mod table;

use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use buyster::{IdempotencyKey, MerchantId, PhoneNumber, Timestamp};

#[allow(
    unused_imports,
    reason = "the tests reach the address logic through it"
)]
pub use client::client_of;
pub use client::{ClientAddress, Network};
use table::{Key, Logged, Open, Table, Windows};

/// Payments one client may start per [`Limits::payment_window`] by default: a buyer starts a
/// handful; a few buyers behind one address (a family, an office) stay well within it.
pub const PAYMENTS_PER_CLIENT: u32 = 20;
/// Payments started for one number per window by default: a buyer who retries a few times.
pub const PAYMENTS_PER_NUMBER: u32 = 10;
/// The creation window by default.
pub const PAYMENT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Unfinished payments one client may hold by default.
pub const OPEN_PAYMENTS_PER_CLIENT: u32 = 10;
/// Wrong PINs one client may send per [`Limits::pin_window`] by default.
pub const WRONG_PINS_PER_CLIENT: u32 = 10;
/// Numbers one client may get PINs wrong for per window by default.
pub const WRONG_PIN_NUMBERS_PER_CLIENT: u32 = 3;
/// Wrong PINs one browser session may send per window by default.
pub const WRONG_PINS_PER_SESSION: u32 = 5;
/// Numbers one browser session may get PINs wrong for per window by default.
pub const WRONG_PIN_NUMBERS_PER_SESSION: u32 = 2;
/// The PIN window by default.
pub const PIN_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Clients, sessions and numbers remembered at most by default: a few tens of megabytes at
/// worst.
pub const LIMITER_RECORDS: usize = 100_000;

/// The limits, each a count in a sliding window of the server's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Payments one client may start per `payment_window` (a retried request is not one).
    pub payments_per_client: u32,
    /// Payments that may be started for one number per `payment_window`, all clients
    /// together.
    pub payments_per_number: u32,
    /// The window of the two limits above.
    pub payment_window: Duration,
    /// Payments one client may hold unfinished (initiated, PIN verified, code sent) and
    /// unexpired.
    pub open_payments_per_client: u32,
    /// Wrong PINs one client may send per `pin_window`.
    pub wrong_pins_per_client: u32,
    /// Numbers one client may get PINs wrong for per `pin_window`.
    pub wrong_pin_numbers_per_client: u32,
    /// Wrong PINs one browser session of the pages may send per `pin_window`.
    pub wrong_pins_per_session: u32,
    /// Numbers one browser session may get PINs wrong for per `pin_window`.
    pub wrong_pin_numbers_per_session: u32,
    /// The window of the four limits above.
    pub pin_window: Duration,
    /// Clients, sessions and numbers remembered at most; when full, the idle ones are
    /// forgotten, then the least recently seen.
    pub records: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client; none by default, so that
    /// no client can name itself.
    pub trusted_proxies: Vec<Network>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            payments_per_client: PAYMENTS_PER_CLIENT,
            payments_per_number: PAYMENTS_PER_NUMBER,
            payment_window: PAYMENT_WINDOW,
            open_payments_per_client: OPEN_PAYMENTS_PER_CLIENT,
            wrong_pins_per_client: WRONG_PINS_PER_CLIENT,
            wrong_pin_numbers_per_client: WRONG_PIN_NUMBERS_PER_CLIENT,
            wrong_pins_per_session: WRONG_PINS_PER_SESSION,
            wrong_pin_numbers_per_session: WRONG_PIN_NUMBERS_PER_SESSION,
            pin_window: PIN_WINDOW,
            records: LIMITER_RECORDS,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Which limit refused a request before it reached the engine; each is 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooMany {
    /// The client started `payments_per_client` payments within the window.
    Payments {
        /// When the oldest of them leaves the window.
        retry_at: Timestamp,
    },
    /// `payments_per_number` payments were started for the number within the window.
    PaymentsForNumber {
        /// When the oldest of them leaves the window.
        retry_at: Timestamp,
    },
    /// The client holds `open_payments_per_client` unfinished payments.
    OpenPayments {
        /// When the first of them expires, at the latest.
        retry_at: Timestamp,
    },
    /// The client (or session) sent its wrong PINs of the window.
    PinAttempts {
        /// When the oldest of them leaves the window.
        retry_at: Timestamp,
    },
    /// The client (or session) got PINs wrong for its numbers of the window, and this is
    /// another number.
    PinNumbers {
        /// When one of the numbers leaves the window.
        retry_at: Timestamp,
    },
}

impl TooMany {
    /// The stable error code of the JSON API.
    pub fn code(self) -> &'static str {
        match self {
            Self::Payments { .. } => "too_many_payments",
            Self::PaymentsForNumber { .. } => "too_many_payments_for_number",
            Self::OpenPayments { .. } => "too_many_open_payments",
            Self::PinAttempts { .. } => "too_many_pin_attempts",
            Self::PinNumbers { .. } => "too_many_pin_numbers",
        }
    }

    /// What it means, for people reading the API's answer.
    pub fn message(self) -> &'static str {
        match self {
            Self::Payments { .. } => "too many payments started from this client lately",
            Self::PaymentsForNumber { .. } => "too many payments started for this number lately",
            Self::OpenPayments { .. } => {
                "this client has too many unfinished payments; finish or cancel one"
            }
            Self::PinAttempts { .. } => {
                "too many wrong PINs from this client lately; this PIN was not checked"
            }
            Self::PinNumbers { .. } => {
                "wrong PINs from this client for too many numbers lately; this PIN was not \
                 checked"
            }
        }
    }

    /// When the request may succeed again.
    pub fn retry_at(self) -> Timestamp {
        match self {
            Self::Payments { retry_at }
            | Self::PaymentsForNumber { retry_at }
            | Self::OpenPayments { retry_at }
            | Self::PinAttempts { retry_at }
            | Self::PinNumbers { retry_at } => retry_at,
        }
    }
}

/// A reservation: what a request logged before it went to the engine, given back if it
/// turns out not to count.
#[derive(Debug)]
#[must_use = "a reservation is kept or given back once the engine has answered"]
pub struct Ticket(u64);

/// A payment to start, as the limits see it.
#[derive(Debug)]
pub struct Creation {
    client: ClientAddress,
    number: u64,
    order: u64,
}

/// What the limits say to a payment to start.
#[derive(Debug)]
pub enum Admission {
    /// The client (or someone, for this number) asked for this order already: a retry,
    /// which counts nothing.
    Retry,
    /// A new payment, counted under the ticket.
    New(Ticket),
}

/// Who sends a PIN: a client, and the browser session when it comes from the pages.
#[derive(Clone, Copy, Debug)]
pub struct PinSender {
    /// The client's address.
    pub address: ClientAddress,
    /// The session's fingerprint, from [`Limiter::session`].
    pub session: Option<u64>,
}

/// The limits, and what they remember: thread-safe, one short lock per call, never held
/// across an await.
pub struct Limiter {
    limits: Limits,
    /// The engine's `payment_ttl`: how long a payment being made may stay open.
    payment_ttl: Duration,
    table: Mutex<State>,
    /// Keys the fingerprints of numbers, orders and sessions: random per process.
    hasher: std::hash::RandomState,
}

struct State {
    table: Table,
    next_ticket: u64,
}

impl State {
    fn ticket(&mut self) -> u64 {
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.next_ticket
    }
}

impl Limiter {
    /// An empty limiter enforcing `limits`, for an engine whose payments live `payment_ttl`.
    pub fn new(limits: Limits, payment_ttl: Duration) -> Self {
        let windows = Windows {
            creation: limits.payment_window,
            pin: limits.pin_window,
        };
        let state = State {
            table: Table::new(limits.records, windows),
            next_ticket: 0,
        };
        Self {
            limits,
            payment_ttl,
            table: Mutex::new(state),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// The limits enforced.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The clients, sessions and numbers remembered now.
    #[allow(dead_code, reason = "the tests check the memory bound through it")]
    pub fn records(&self) -> usize {
        self.state().table.len()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic under the lock leaves at worst a log half-pruned: still a valid state.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fingerprint of the browser session whose form token is `token`.
    pub fn session(&self, token: &str) -> u64 {
        self.hasher.hash_one(("session", token))
    }

    fn number(&self, phone: &PhoneNumber) -> u64 {
        self.hasher.hash_one(("number", phone.as_str()))
    }

    /// The payment of the order `key` at `merchant`, for `phone`, asked for by `client`.
    pub fn creation(
        &self,
        client: ClientAddress,
        merchant: &MerchantId,
        key: &IdempotencyKey,
        phone: &PhoneNumber,
    ) -> Creation {
        Creation {
            client,
            number: self.number(phone),
            order: self
                .hasher
                .hash_one(("order", merchant.as_str(), key.as_str())),
        }
    }
}
