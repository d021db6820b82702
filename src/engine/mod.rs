//! [`Engine`]: thin async drivers over the pure steps of [`crate::payment`] and
//! [`crate::enrollment`].
//!
//! Every step reads what it needs through the record layer (`records.rs`), asks a pure function
//! for the next state, and writes it with one compare-and-swap `put` at the version it read; a
//! lost race reads again and decides again, in the one retry loop of the record layer. Each
//! file holds the steps of one concept: `start.rs` (initiate, initiate_once, load, resume),
//! `pin.rs`, `checkout.rs` (codes), `exempt.rs`, `settle.rs`, `cancel.rs`, `failing.rs` (expiry
//! and the share a failed payment gives back), `recover.rs`, `refund.rs`, `enrollment.rs` (and
//! `enrollment_code.rs`, what a typed enrollment code leads to), `pin_change.rs`, and
//! `back_office.rs` (the host's own operations, behind [`Engine::back_office`]); `together.rs`
//! writes a guard and a payment in one batch when the store can. `trace.rs`
//! gives each public step its span when the `tracing` feature is on, and is nothing otherwise.

mod back_office;
mod builder;
mod cancel;
mod checkout;
mod due;
mod enrollment;
mod enrollment_code;
mod exempt;
mod failing;
mod outbox;
mod pin;
mod pin_change;
mod records;
mod recover;
mod refund;
mod settle;
mod start;
mod together;
mod trace;

use core::fmt;
use std::sync::OnceLock;

pub use back_office::BackOffice;
pub use builder::{EngineBuilder, Unset};
pub use due::DueWork;
pub use outbox::Delivered;

use crate::events::{Event, EventKind, EventSink};
use crate::host::{Clock, Key, SystemClock, Version, Write};
use crate::ids::EventId;
use crate::keys::Keys;
use crate::phone::PhoneNumber;
use crate::policy::Policy;

/// The checkout engine. Build it once with [`Engine::builder`] and share it (it is `Send + Sync`;
/// wrap it in an `Arc` for a multi-threaded server).
///
/// See the [crate documentation](crate) for the flow and a complete example.
pub struct Engine<St, Sm, Bk, C = SystemClock> {
    store: St,
    sms: Sm,
    bank: Bk,
    clock: C,
    keys: Keys,
    policy: Policy,
    /// The account record checked for numbers that have none, and its key.
    decoy: (Key, Vec<u8>),
    /// Where audit events go; none unless the host gave a sink.
    events: Option<Box<dyn EventSink>>,
    /// Whether each change's events go in the store's outbox with the change.
    durable_events: bool,
    /// Whether the store writes batches ([`Store::put_together`](crate::Store)): asked once.
    batches: OnceLock<bool>,
}

impl<St, Sm, Bk, C> fmt::Debug for Engine<St, Sm, Bk, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("keys", &self.keys)
            .field("policy", &self.policy)
            .field("events", &self.events.is_some())
            .field("durable_events", &self.durable_events)
            .finish_non_exhaustive()
    }
}

impl<St, Sm, Bk, C: Clock> Engine<St, Sm, Bk, C> {
    /// The policy in force.
    ///
    /// # Examples
    ///
    /// ```
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # use buyster::{Engine, Keys, SecretKey};
    /// # let engine = Engine::builder(Keys::new(1, SecretKey::generate()))
    /// #     .store(MemoryStore::new()).sms(MemorySms::new()).bank(MemoryBank::new()).build()?;
    /// // The code page tells the buyer how long the code they received stays valid.
    /// let minutes = engine.policy().code_ttl.as_secs() / 60;
    /// let notice = format!("The code is valid for {minutes} minutes.");
    /// assert_eq!(notice, "The code is valid for 5 minutes.");
    /// # Ok::<(), buyster::Error>(())
    /// ```
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Hands the event `make` builds to the host's sink, if it gave one; nothing is built
    /// otherwise. For the events that change no record; call only after what the event
    /// reports happened.
    fn emit(&self, make: impl FnOnce() -> Event) {
        if let Some(sink) = &self.events {
            sink.record(&make());
        }
    }

    /// Whether events are made at all: for the sink, or for the outbox.
    fn announcing(&self) -> bool {
        self.durable_events || self.events.is_some()
    }

    /// The write `write`, carrying `event` into the outbox when events are durable.
    fn with_event(&self, mut write: Write, event: Option<&Event>) -> Write {
        if let (true, Some(event)) = (self.durable_events, event) {
            write.events.push(event.seal(&self.keys));
        }
        write
    }

    /// Hands `event`, now stored with its change, to the sink.
    fn emit_stored(&self, event: Option<&Event>) {
        if let (Some(sink), Some(event)) = (&self.events, event) {
            sink.record(event);
        }
    }

    /// The event of the number `phone`, of no payment, that a write of `key` over `replaced`
    /// reports; `None` when no one takes events.
    fn number_event(
        &self,
        key: &Key,
        replaced: Option<Version>,
        phone: &PhoneNumber,
        kind: EventKind,
    ) -> Option<Event> {
        self.announcing().then(|| {
            let now = self.clock.now();
            let replaced = replaced.map(Version::number);
            let id = EventId::of_write(key.as_str(), replaced, 0, now.as_unix_millis());
            Event::number(id, kind, phone, now)
        })
    }
}
