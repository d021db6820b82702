//! [`EngineBuilder`]: the host's parts go in, a validated [`Engine`] comes out.

use core::fmt;

use crate::Error;
use crate::account::Account;
use crate::events::EventSink;
use crate::host::{Bank, Clock, SmsGateway, Store, SystemClock};
use crate::keys::Keys;
use crate::policy::Policy;

use super::Engine;

/// A builder slot not filled yet: [`EngineBuilder::build`] exists only once the store, the SMS
/// gateway and the bank are given.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs, reason = "a marker with nothing to add")]
pub struct Unset;

impl Engine<Unset, Unset, Unset, SystemClock> {
    /// Starts building an engine that tags and checks everything with `keys`.
    ///
    /// `.store(..)`, `.sms(..)` and `.bank(..)` are required; `.clock(..)` defaults to
    /// [`SystemClock`] and `.policy(..)` to [`Policy::default`].
    ///
    /// # Examples
    ///
    /// Once, at the server's start, from the host's parts; then shared (in an `Arc`, or as
    /// the web framework's state):
    ///
    /// ```
    /// use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// use buyster::{Engine, Keys, Policy, SecretKey};
    ///
    /// // 64 hex digits from a secret manager; a throwaway key for a demo.
    /// let master = SecretKey::generate();
    /// let engine = Engine::builder(Keys::new(1, master))
    ///     .store(MemoryStore::new())
    ///     .sms(MemorySms::new())
    ///     .bank(MemoryBank::new())
    ///     .policy(Policy::default())
    ///     .build()?;
    /// let engine = std::sync::Arc::new(engine);
    /// # let _ = engine;
    /// # Ok::<(), buyster::Error>(())
    /// ```
    ///
    /// The store, the SMS gateway and the bank are required:
    ///
    /// ```compile_fail
    /// # use buyster::{Engine, Keys, SecretKey};
    /// // No store, no SMS gateway, no bank: `build` does not exist yet.
    /// let engine = Engine::builder(Keys::new(1, SecretKey::generate())).build();
    /// ```
    pub fn builder(keys: Keys) -> EngineBuilder<Unset, Unset, Unset, SystemClock> {
        EngineBuilder {
            keys,
            store: Unset,
            sms: Unset,
            bank: Unset,
            clock: SystemClock,
            policy: Policy::default(),
            events: None,
            durable_events: false,
        }
    }
}

/// Collects the parts of an [`Engine`]; see [`Engine::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct EngineBuilder<St, Sm, Bk, C> {
    keys: Keys,
    store: St,
    sms: Sm,
    bank: Bk,
    clock: C,
    policy: Policy,
    events: Option<Box<dyn EventSink>>,
    durable_events: bool,
}

impl<St, Sm, Bk, C> EngineBuilder<St, Sm, Bk, C> {
    /// The store of payments, accounts and guards.
    pub fn store<S: Store>(self, store: S) -> EngineBuilder<S, Sm, Bk, C> {
        EngineBuilder {
            keys: self.keys,
            store,
            sms: self.sms,
            bank: self.bank,
            clock: self.clock,
            policy: self.policy,
            events: self.events,
            durable_events: self.durable_events,
        }
    }

    /// The SMS gateway.
    pub fn sms<M: SmsGateway>(self, sms: M) -> EngineBuilder<St, M, Bk, C> {
        EngineBuilder {
            keys: self.keys,
            store: self.store,
            sms,
            bank: self.bank,
            clock: self.clock,
            policy: self.policy,
            events: self.events,
            durable_events: self.durable_events,
        }
    }

    /// The bank that debits buyers.
    pub fn bank<B: Bank>(self, bank: B) -> EngineBuilder<St, Sm, B, C> {
        EngineBuilder {
            keys: self.keys,
            store: self.store,
            sms: self.sms,
            bank,
            clock: self.clock,
            policy: self.policy,
            events: self.events,
            durable_events: self.durable_events,
        }
    }

    /// The clock; [`SystemClock`] unless given.
    pub fn clock<T: Clock>(self, clock: T) -> EngineBuilder<St, Sm, Bk, T> {
        EngineBuilder {
            keys: self.keys,
            store: self.store,
            sms: self.sms,
            bank: self.bank,
            clock,
            policy: self.policy,
            events: self.events,
            durable_events: self.durable_events,
        }
    }

    /// The limits; [`Policy::default`] unless given. Validated by [`build`](Self::build).
    pub fn policy(self, policy: Policy) -> Self {
        Self { policy, ..self }
    }

    /// Where audit events go ([`EventSink`]); none are made unless a sink is given.
    pub fn events(self, sink: impl EventSink + 'static) -> Self {
        Self {
            events: Some(Box::new(sink)),
            ..self
        }
    }

    /// Keeps every state change's event durable: stored in the store's outbox by the same
    /// compare-and-swap write as the change, and delivered from there at least once by
    /// [`Engine::deliver_events`], so that a crash between the change and its delivery loses
    /// nothing. Off unless asked: an outbox that no one delivers from only grows.
    ///
    /// The events of the buyer's steps that report an SMS handed to the gateway
    /// ([`EventKind::CodeSent`](crate::EventKind::CodeSent),
    /// [`EventKind::EnrollmentStarted`](crate::EventKind::EnrollmentStarted)) and a refusal that
    /// stores nothing ([`EventKind::LimitExceeded`](crate::EventKind::LimitExceeded)) change no
    /// record: they go to the [`EventSink`] only.
    pub fn durable_events(self) -> Self {
        Self {
            durable_events: true,
            ..self
        }
    }
}

impl<St: fmt::Debug, Sm: fmt::Debug, Bk: fmt::Debug, C: fmt::Debug> fmt::Debug
    for EngineBuilder<St, Sm, Bk, C>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("keys", &self.keys)
            .field("store", &self.store)
            .field("sms", &self.sms)
            .field("bank", &self.bank)
            .field("clock", &self.clock)
            .field("policy", &self.policy)
            .field("events", &self.events.is_some())
            .field("durable_events", &self.durable_events)
            .finish()
    }
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> EngineBuilder<St, Sm, Bk, C> {
    /// The engine.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPolicy`] naming the first [`Policy`] field out of range.
    pub fn build(self) -> Result<Engine<St, Sm, Bk, C>, Error> {
        self.policy.validate()?;
        let decoy = Account::decoy(&self.keys);
        Ok(Engine {
            store: self.store,
            sms: self.sms,
            bank: self.bank,
            clock: self.clock,
            keys: self.keys,
            policy: self.policy,
            decoy,
            events: self.events,
            durable_events: self.durable_events,
            batches: std::sync::OnceLock::new(),
        })
    }
}
