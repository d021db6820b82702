//! [`MemoryEvents`]: an audit trail in memory.

use std::sync::{Arc, Mutex};

use crate::events::{Event, EventKind, EventSink};

use super::lock;

/// An [`EventSink`] that keeps every event, in order, for tests and demos to read. Clones
/// share the same trail.
#[derive(Clone, Debug, Default)]
pub struct MemoryEvents(Arc<Mutex<Vec<Event>>>);

impl MemoryEvents {
    /// An empty trail.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event recorded, oldest first.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        lock(&self.0).clone()
    }

    /// The kinds of the events recorded, oldest first.
    #[must_use]
    pub fn kinds(&self) -> Vec<EventKind> {
        lock(&self.0).iter().map(|e| e.kind().clone()).collect()
    }

    /// Forgets the events recorded so far.
    pub fn clear(&self) {
        lock(&self.0).clear();
    }
}

impl EventSink for MemoryEvents {
    fn record(&self, event: &Event) {
        lock(&self.0).push(event.clone());
    }
}
