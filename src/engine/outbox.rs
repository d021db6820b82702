//! Delivering the store's outbox: the durable events, each stored by the write of its change
//! (see [`EngineBuilder::durable_events`](crate::EngineBuilder::durable_events)).

use crate::Error;
use crate::events::{Event, EventDelivery};
use crate::host::{Bank, Clock, SmsGateway, Store};

use super::Engine;
use super::trace::{step_span, traced};

/// What one call of [`Engine::deliver_events`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivered {
    /// Events read from the outbox.
    pub examined: usize,
    /// Of those, the ones handed on and removed from the outbox.
    pub delivered: usize,
    /// Of those, the ones that failed their seal (a row the engine did not write, or sealed
    /// under a key no longer in the ring): never handed on, and removed.
    pub tampered: usize,
    /// Whether the delivery refused an event: it and every later one stay for the next round.
    pub stopped: bool,
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Hands up to `limit` events of the store's outbox to `to`, oldest first, and removes
    /// each from the outbox once `to` took it. The first one `to` refuses ends the round, so
    /// that each payment's events go in the order of its changes; it is tried again next time.
    ///
    /// Delivery is at least once: a crash between the hand-over and the removal, or two server
    /// instances delivering at the same time, hand an event on twice, under the same
    /// [`Event::id`]. Run it on a timer (every second or so, again at once while a round is
    /// full) from one or more instances.
    ///
    /// Events are sealed like records: keep a key in the [`Keys`](crate::Keys) ring until the
    /// events made under it are delivered, or they count as tampered.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the outbox cannot be read or the delivered events cannot be
    /// removed (they are then delivered again next time).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{DeliveryError, Event, EventDelivery};
    ///
    /// /// The merchant's order system, told of each payment's changes.
    /// struct OrderSystem;
    ///
    /// impl EventDelivery for OrderSystem {
    ///     async fn deliver(&self, event: &Event) -> Result<(), DeliveryError> {
    ///         // POST it, and answer Ok only on a 2xx: here, a line on standard output.
    ///         println!("{} {event}", event.id());
    ///         Ok(())
    ///     }
    /// }
    ///
    /// async fn delivery_job(engine: &Engine) {
    ///     loop {
    ///         match engine.deliver_events(&OrderSystem, 100).await {
    ///             Ok(round) if round.examined == 100 && !round.stopped => continue,
    ///             Ok(_) => {}
    ///             Err(error) => eprintln!("events: {error}"),
    ///         }
    ///         tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    ///     }
    /// }
    /// ```
    pub async fn deliver_events(
        &self,
        to: &impl EventDelivery,
        limit: usize,
    ) -> Result<Delivered, Error> {
        let span = step_span!("buyster.deliver_events", limit = limit);
        traced(span, async move {
            let waiting = self.store.outbox(limit).await.map_err(Error::Storage)?;
            let mut round = Delivered {
                examined: waiting.len(),
                ..Delivered::default()
            };
            let mut done = Vec::with_capacity(waiting.len());
            for entry in waiting {
                match Event::open(&entry.event, &self.keys) {
                    Ok(event) => {
                        if to.deliver(&event).await.is_err() {
                            round.stopped = true;
                            break;
                        }
                        round.delivered = round.delivered.saturating_add(1);
                    }
                    Err(_) => round.tampered = round.tampered.saturating_add(1),
                }
                done.push(entry.seq);
            }
            if !done.is_empty() {
                self.store
                    .acknowledge(&done)
                    .await
                    .map_err(Error::Storage)?;
            }
            Ok(round)
        })
        .await
    }
}
