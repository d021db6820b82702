//! [`Table`]: what the limiter remembers of each client and number, in a map of bounded size.
//!
//! Every record is a few short sliding-window logs, each bounded by its limit (a request over
//! the limit is refused, not logged). The map holds at most `capacity` records: when it is
//! full, the records with nothing left in their windows are swept away, and if that frees too
//! little, the least recently seen ones are dropped too, down to seven eighths of the capacity,
//! so that the next sweep is many insertions away (the cost of a sweep is spread over them).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use buyster::{PaymentId, Timestamp};

use super::client::ClientAddress;

/// How often a full table says so, at most.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Whose record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A client, by its address.
    Address(ClientAddress),
    /// A browser session of the checkout pages, by a fingerprint of its form token.
    Session(u64),
    /// A phone number, by its fingerprint.
    Number(u64),
}

/// One logged event: when, a fingerprint of what (an order, a number), and the reservation
/// that logged it, so that a reservation can be given back.
#[derive(Clone, Copy, Debug)]
pub struct Logged {
    /// When.
    pub at: Timestamp,
    /// The order's fingerprint (creations), or the number's (wrong PINs).
    pub what: u64,
    /// The reservation.
    pub ticket: u64,
}

/// A payment a client started that is not finished yet, as far as this server knows.
#[derive(Clone, Copy, Debug)]
pub struct Open {
    /// The payment, once the engine made it; `None` while it is being made.
    pub id: Option<PaymentId>,
    /// The order's fingerprint.
    pub order: u64,
    /// When the payment expires: its slot is free then, whatever became of it.
    pub expires_at: Timestamp,
    /// The reservation.
    pub ticket: u64,
}

/// What is remembered of one client, session or number.
#[derive(Debug)]
pub struct Record {
    /// Payments started (by a client, or for a number), within the creation window.
    pub creations: VecDeque<Logged>,
    /// Wrong PINs (by a client or a session), within the PIN window.
    pub wrong_pins: VecDeque<Logged>,
    /// Unfinished payments of a client.
    pub open: Vec<Open>,
    /// The last time the record was used: the least recently seen go first when the table
    /// is full.
    seen: Timestamp,
}

impl Record {
    fn new(now: Timestamp) -> Self {
        Self {
            creations: VecDeque::new(),
            wrong_pins: VecDeque::new(),
            open: Vec::new(),
            seen: now,
        }
    }

    /// Forgets what is out of its window at `now`; the ids of the open payments that expired.
    pub fn prune(&mut self, now: Timestamp, windows: Windows) -> Vec<PaymentId> {
        drop_older(&mut self.creations, now, windows.creation);
        drop_older(&mut self.wrong_pins, now, windows.pin);
        let mut expired = Vec::new();
        self.open.retain(|open| {
            let live = open.expires_at > now;
            if !live {
                expired.extend(open.id);
            }
            live
        });
        expired
    }

    /// Whether nothing is left in any window.
    fn is_idle(&self) -> bool {
        self.creations.is_empty() && self.wrong_pins.is_empty() && self.open.is_empty()
    }

    /// Gives back what `ticket` logged.
    pub fn refund(&mut self, ticket: u64) {
        self.creations.retain(|logged| logged.ticket != ticket);
        self.wrong_pins.retain(|logged| logged.ticket != ticket);
        self.open.retain(|open| open.ticket != ticket);
    }
}

fn drop_older(log: &mut VecDeque<Logged>, now: Timestamp, window: Duration) {
    while log
        .front()
        .is_some_and(|logged| logged.at.saturating_add(window) <= now)
    {
        log.pop_front();
    }
}

/// The lengths of the sliding windows.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// Of the creation limits.
    pub creation: Duration,
    /// Of the PIN limits.
    pub pin: Duration,
}

/// The records, at most `capacity` of them, and the open payments' owners.
#[derive(Debug)]
pub struct Table {
    records: HashMap<Key, Record>,
    /// Which client's record holds each open payment, so that a payment that ends frees its
    /// slot.
    owners: HashMap<PaymentId, Key>,
    capacity: usize,
    windows: Windows,
    /// When the table last said it was full: it says so at most once a minute.
    warned_at: Option<Timestamp>,
}

impl Table {
    /// An empty table of at most `capacity` records (at least 8).
    pub fn new(capacity: usize, windows: Windows) -> Self {
        Self {
            records: HashMap::new(),
            owners: HashMap::new(),
            capacity: capacity.max(8),
            windows,
            warned_at: None,
        }
    }

    /// The number of records.
    #[allow(dead_code, reason = "the tests check the memory bound through it")]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The record of `key`, pruned at `now`; made (room first) if there is none.
    pub fn record(&mut self, key: Key, now: Timestamp) -> &mut Record {
        if !self.records.contains_key(&key) && self.records.len() >= self.capacity {
            self.make_room(now);
        }
        let record = self.records.entry(key).or_insert_with(|| Record::new(now));
        record.seen = record.seen.max(now);
        for id in record.prune(now, self.windows) {
            self.owners.remove(&id);
        }
        record
    }

    /// The record of `key` if there is one, as it stands.
    pub fn existing(&mut self, key: &Key) -> Option<&mut Record> {
        self.records.get_mut(key)
    }

    /// Notes that the open payment `id` belongs to `owner`.
    pub fn own(&mut self, id: PaymentId, owner: Key) {
        self.owners.insert(id, owner);
    }

    /// Frees the slot of the payment `id`, which ended.
    pub fn close(&mut self, id: PaymentId) {
        if let Some(owner) = self.owners.remove(&id)
            && let Some(record) = self.records.get_mut(&owner)
        {
            record.open.retain(|open| open.id != Some(id));
        }
    }

    /// Sweeps the idle records; then, if fewer than an eighth of the capacity is free, drops
    /// the least recently seen records until it is.
    fn make_room(&mut self, now: Timestamp) {
        let windows = self.windows;
        let mut expired = Vec::new();
        self.records.retain(|_, record| {
            expired.extend(record.prune(now, windows));
            !record.is_idle()
        });
        let target = self.capacity.saturating_sub(self.capacity / 8);
        if self.records.len() > target {
            let excess = self.records.len().saturating_sub(target);
            let mut seen: Vec<(Timestamp, Key)> = self
                .records
                .iter()
                .map(|(key, record)| (record.seen, *key))
                .collect();
            seen.select_nth_unstable_by_key(excess.saturating_sub(1), |(at, _)| *at);
            for (_, key) in seen.iter().take(excess) {
                if let Some(record) = self.records.remove(key) {
                    expired.extend(record.open.iter().filter_map(|open| open.id));
                }
            }
            let quiet = self
                .warned_at
                .is_some_and(|at| at.saturating_add(WARN_EVERY) > now);
            if !quiet {
                self.warned_at = Some(now);
                eprintln!(
                    "warning: the abuse limiter is full ({} records): the least recently seen \
                     are forgotten; raise --limiter-records if this happens under normal load",
                    self.capacity
                );
            }
        }
        for id in expired {
            self.owners.remove(&id);
        }
    }
}
