//! The PIN limits: wrong PINs per client and per session in the window, and the numbers they
//! were for.
//!
//! A PIN is admitted (and counted as wrong, under a [`Ticket`]) before it reaches the engine,
//! so that a refused one never touches the number's guard and parallel attempts cannot all
//! slip under the limit; the ticket is given back when the engine finds the PIN right, or
//! never checks it.

use std::collections::VecDeque;
use std::time::Duration;

use buyster::{PhoneNumber, Timestamp};

use super::creation::{full, usize_of};
use super::{Key, Limiter, Logged, PinSender, Ticket, TooMany};

impl Limiter {
    /// Admits a PIN from `sender` for the number `phone` at `now`, or says which limit
    /// refuses it.
    pub fn admit_pin(
        &self,
        sender: PinSender,
        phone: &PhoneNumber,
        now: Timestamp,
    ) -> Result<Ticket, TooMany> {
        let number = self.number(phone);
        let window = self.limits.pin_window;
        let mut state = self.state();
        let ticket = state.ticket();
        let keys = self.pin_keys(sender);
        for (key, wrong, numbers) in keys.iter().flatten() {
            let log = &state.table.record(*key, now).wrong_pins;
            check(log, number, *wrong, *numbers, window)?;
        }
        let logged = Logged {
            at: now,
            what: number,
            ticket,
        };
        for (key, _, _) in keys.iter().flatten() {
            state.table.record(*key, now).wrong_pins.push_back(logged);
        }
        Ok(Ticket(ticket))
    }

    /// The PIN admitted under `ticket` was not a wrong one (right, or never checked): it
    /// counts nothing.
    pub fn pin_not_wrong(&self, sender: PinSender, ticket: Ticket) {
        let mut state = self.state();
        for (key, _, _) in self.pin_keys(sender).iter().flatten() {
            if let Some(record) = state.table.existing(key) {
                record.refund(ticket.0);
            }
        }
    }

    /// The records a PIN from `sender` counts in, each with its limits of wrong PINs and of
    /// numbers.
    fn pin_keys(&self, sender: PinSender) -> [Option<(Key, u32, u32)>; 2] {
        let limits = &self.limits;
        [
            Some((
                Key::Address(sender.address),
                limits.wrong_pins_per_client,
                limits.wrong_pin_numbers_per_client,
            )),
            sender.session.map(|session| {
                (
                    Key::Session(session),
                    limits.wrong_pins_per_session,
                    limits.wrong_pin_numbers_per_session,
                )
            }),
        ]
    }
}

/// Whether one more wrong PIN for `number` fits in `log`: fewer than `wrong` in the window,
/// and `number` already among them or fewer than `numbers` numbers.
fn check(
    log: &VecDeque<Logged>,
    number: u64,
    wrong: u32,
    numbers: u32,
    window: Duration,
) -> Result<(), TooMany> {
    if let Some(retry_at) = full(log, wrong, window) {
        return Err(TooMany::PinAttempts { retry_at });
    }
    if log.iter().any(|logged| logged.what == number) {
        return Ok(());
    }
    // Each number in the window, with its last wrong PIN: it leaves the window after that.
    let mut last: Vec<(u64, Timestamp)> = Vec::new();
    for logged in log {
        match last.iter_mut().find(|(what, _)| *what == logged.what) {
            Some((_, at)) => *at = (*at).max(logged.at),
            None => last.push((logged.what, logged.at)),
        }
    }
    let limit = usize_of(numbers);
    if last.len() < limit {
        return Ok(());
    }
    last.sort_unstable_by_key(|(_, at)| *at);
    // Room for another number once all but `limit - 1` of them have left.
    let leaving = last.len().saturating_sub(limit);
    let retry_at = last
        .get(leaving)
        .map_or(Timestamp::from_unix_millis(0), |(_, at)| {
            at.saturating_add(window)
        });
    Err(TooMany::PinNumbers { retry_at })
}
