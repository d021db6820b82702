//! The creation limits: payments per client and per number in the window, open payments per
//! client.
//!
//! A request is admitted and counted (a [`Ticket`]) before it reaches the engine, so that
//! concurrent requests cannot all slip under a limit; once the engine has answered, the
//! ticket is kept when the payment is new, given back otherwise (the order's payment existed
//! already, or nothing was made).

use std::collections::VecDeque;
use std::time::Duration;

use buyster::{AnyPayment, PaymentId, Timestamp};

use super::table::Record;
use super::{Admission, Creation, Key, Limiter, Logged, Open, Ticket, TooMany};

impl Limiter {
    /// Admits `creation` at `now`, or says which limit refuses it.
    ///
    /// An order this client asked for within the window, or one of its open payments, or one
    /// asked for this number within the window, is a [`Admission::Retry`]: it reaches the
    /// engine, which answers the order's payment, and counts nothing.
    pub fn admit_creation(
        &self,
        creation: &Creation,
        now: Timestamp,
    ) -> Result<Admission, TooMany> {
        let limits = &self.limits;
        let mut state = self.state();
        let ticket = state.ticket();
        let table = &mut state.table;
        let number = Key::Number(creation.number);
        let client = Key::Address(creation.client);
        let known = |record: &Record| {
            record.creations.iter().any(|c| c.what == creation.order)
                || record.open.iter().any(|open| open.order == creation.order)
        };
        if known(table.record(client, now)) || known(table.record(number, now)) {
            return Ok(Admission::Retry);
        }
        let window = limits.payment_window;
        let by_client = table.record(client, now);
        if let Some(retry_at) = full(&by_client.creations, limits.payments_per_client, window) {
            return Err(TooMany::Payments { retry_at });
        }
        if by_client.open.len() >= usize_of(limits.open_payments_per_client) {
            let retry_at = by_client.open.iter().map(|open| open.expires_at).min();
            return Err(TooMany::OpenPayments {
                retry_at: retry_at.unwrap_or(now),
            });
        }
        let by_number = table.record(number, now);
        if let Some(retry_at) = full(&by_number.creations, limits.payments_per_number, window) {
            return Err(TooMany::PaymentsForNumber { retry_at });
        }
        let logged = Logged {
            at: now,
            what: creation.order,
            ticket,
        };
        by_number.creations.push_back(logged);
        let by_client = table.record(client, now);
        by_client.creations.push_back(logged);
        by_client.open.push(Open {
            id: None,
            order: creation.order,
            // Until the engine answers: a payment lives no longer than this.
            expires_at: now.saturating_add(self.payment_ttl),
            ticket,
        });
        Ok(Admission::New(Ticket(ticket)))
    }

    /// What the engine answered to `creation`: `payment`, new if it was created at or after
    /// `asked_at`. A new payment keeps its ticket (and is counted now if it came as a retry:
    /// the order's payment had been archived meanwhile); any other answer gives it back.
    pub fn created(
        &self,
        creation: &Creation,
        admission: Admission,
        payment: &AnyPayment,
        asked_at: Timestamp,
    ) {
        let is_new = match payment {
            AnyPayment::Initiated(initiated) => initiated.created_at() >= asked_at,
            _ => false,
        };
        let mut state = self.state();
        let ticket = match (admission, is_new) {
            (Admission::New(Ticket(ticket)), true) => ticket,
            (Admission::New(Ticket(ticket)), false) => {
                refund(&mut state.table, creation, ticket);
                return;
            }
            (Admission::Retry, true) => {
                let ticket = state.ticket();
                let logged = Logged {
                    at: asked_at,
                    what: creation.order,
                    ticket,
                };
                let table = &mut state.table;
                table
                    .record(Key::Number(creation.number), asked_at)
                    .creations
                    .push_back(logged);
                table
                    .record(Key::Address(creation.client), asked_at)
                    .creations
                    .push_back(logged);
                ticket
            }
            (Admission::Retry, false) => return,
        };
        let open = Open {
            id: Some(payment.id()),
            order: creation.order,
            expires_at: payment.expires_at(),
            ticket,
        };
        let client = Key::Address(creation.client);
        let record = state.table.record(client, asked_at);
        record.open.retain(|slot| slot.ticket != ticket);
        record.open.push(open);
        state.table.own(payment.id(), client);
    }

    /// The engine made nothing for `creation` (a refusal, a bad order): the ticket is given
    /// back. Not for an answer that was lost: the payment may exist, and stays counted.
    pub fn not_created(&self, creation: &Creation, admission: Admission) {
        if let Admission::New(Ticket(ticket)) = admission {
            refund(&mut self.state().table, creation, ticket);
        }
    }

    /// The payment `id` is seen finished (authorized, confirmed or failed): its client's slot
    /// is free. A payment that ends without being seen here frees its slot when it expires.
    pub fn ended(&self, id: PaymentId) {
        self.state().table.close(id);
    }
}

/// When a log of `limit` entries in `window` has room again; `None` when it has room now.
pub(super) fn full(log: &VecDeque<Logged>, limit: u32, window: Duration) -> Option<Timestamp> {
    if log.len() < usize_of(limit) {
        return None;
    }
    // The log is pruned and oldest first: room comes when its oldest leaves the window.
    let oldest = log.len().saturating_sub(usize_of(limit));
    log.get(oldest)
        .map(|logged| logged.at.saturating_add(window))
}

fn refund(table: &mut super::Table, creation: &Creation, ticket: u64) {
    for key in [Key::Address(creation.client), Key::Number(creation.number)] {
        if let Some(record) = table.existing(&key) {
            record.refund(ticket);
        }
    }
}

/// `limit` as a length (a `u32` always fits on the platforms the server runs on).
pub(super) fn usize_of(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}
