//! The buyer's own PIN change.

use crate::Error;
use crate::account::PinChange;
use crate::events::{Event, EventKind};
use crate::guard::Failure;
use crate::host::{Bank, Clock, Key, SmsGateway, Store, Write};
use crate::phone::PhoneNumber;
use crate::secret::Pin;

use super::Engine;
use super::pin::{Found, failure_event};
use super::records::Attempt;
use super::trace::{step_span, traced};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Replaces the buyer's PIN, on the strength of the old one.
    ///
    /// The old PIN is checked exactly as at a checkout: a wrong one counts in the number's
    /// guard towards the same lock ([`PinChange::Rejected`], then [`Error::Locked`]), a number
    /// without an active account is answered alike, and a right one resets the count. The new
    /// PIN must pass the policy's rules, checked first (a refused new PIN costs no attempt);
    /// it is hashed under a fresh salt and the current key.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`], [`Error::WeakPin`], [`Error::Locked`], [`Error::Tampered`],
    /// [`Error::Storage`], [`Error::Conflict`] (also when the PIN was changed by a racing call).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, PhoneNumber, Pin, PinChange};
    ///
    /// /// `POST /account/pin`: the buyer's own PIN change, old PIN then new.
    /// async fn change(
    ///     engine: &Engine,
    ///     phone: &PhoneNumber,
    ///     old: &str,
    ///     new: &str,
    /// ) -> Result<String, Error> {
    ///     let (old, new): (Pin, Pin) = (old.parse()?, new.parse()?);
    ///     Ok(match engine.change_pin(phone, &old, &new).await? {
    ///         PinChange::Changed => "PIN changed".to_owned(),
    ///         PinChange::Rejected { attempts_left, .. } => {
    ///             format!("wrong PIN, {attempts_left} attempts left")
    ///         }
    ///     })
    /// }
    /// ```
    pub async fn change_pin(
        &self,
        phone: &PhoneNumber,
        old_pin: &Pin,
        new_pin: &Pin,
    ) -> Result<PinChange, Error> {
        let span = step_span!("buyster.change_pin", phone = %phone.masked());
        traced(span, async move {
            self.policy.check_new_pin(new_pin)?;
            let now = self.clock.now();
            let keys = self.number_keys(phone);
            let guard = self.open_guard(keys.guard, now).await?;
            let key = keys.account;
            let found = self.check_pin(&key, old_pin).await?;
            if let Found::Refused = found {
                let failure = self
                    .count_wrong_pin(guard, now, |failure, id| {
                        Some(Event::number(id, failure_event(failure), phone, now))
                    })
                    .await?;
                return match failure {
                    Failure::AttemptsLeft { left, next_lock } => Ok(PinChange::Rejected {
                        attempts_left: left,
                        next_lock,
                    }),
                    Failure::Locked(until) => Err(Error::Locked { until }),
                };
            }
            self.update_guard(guard, |g| {
                g.check_open(now)?;
                Ok((Some(g.after_success()), ()))
            })
            .await?;
            self.store_new_pin(&key, found, (old_pin, new_pin), phone)
                .await?;
            Ok(PinChange::Changed)
        })
        .await
    }

    /// Writes the account of `found` with `new_pin` by compare-and-swap; after a lost race,
    /// reads it again and checks `old_pin` again before writing.
    async fn store_new_pin(
        &self,
        key: &Key,
        found: Found,
        (old_pin, new_pin): (&Pin, &Pin),
        phone: &PhoneNumber,
    ) -> Result<(), Error> {
        self.retry(found, |found| {
            Box::pin(async move {
                let Found::Right(right) = found else {
                    // Changed meanwhile by a racing call: the old PIN is no longer the PIN.
                    return Err(Error::Conflict);
                };
                let account = right.account.with_pin(&self.keys, new_pin);
                let record = account.encode(&self.keys, key);
                let version = Some(right.version);
                let event = self.number_event(key, version, phone, EventKind::PinChanged);
                let write = self.with_event(Write::new(record), event.as_ref());
                Ok(match self.try_put(key, version, write).await? {
                    Some(_) => {
                        self.emit_stored(event.as_ref());
                        Attempt::Done(())
                    }
                    None => Attempt::Again(self.check_pin(key, old_pin).await?),
                })
            })
        })
        .await
    }
}
