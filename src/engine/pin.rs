//! The PIN check of a payment, and the account lookup it shares with a PIN change.

use crate::Error;
use crate::account::{ACCOUNT_RECORD, Account};
use crate::events::{Event, EventKind};
use crate::funding::FundingSource;
use crate::guard::{Failure, Guard};
use crate::host::{Bank, Clock, Entry, Key, SmsGateway, Store, Version, Write};
use crate::ids::EventId;
use crate::payment::steps::{Accepted, pin_verified};
use crate::payment::{Initiated, Payment, PinCheck, PinVerified};
use crate::policy::Policy;
use crate::secret::Pin;
use crate::time::Timestamp;

use super::Engine;
use super::records::GuardRead;
use super::trace::{step_span, traced};

/// What a PIN check found.
pub(super) enum Found {
    /// No account for the number, or one that may not pay (suspended, closed), or a wrong
    /// PIN: answered alike.
    Refused,
    /// The right PIN of an active account.
    Right(RightPin),
}

/// An active account whose PIN was right, read whole, and the version it was read at.
pub(super) struct RightPin {
    pub(super) account: Account,
    pub(super) version: Version,
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Checks the buyer's PIN for `payment`.
    ///
    /// A wrong PIN is an answer, not an error: [`PinCheck::Rejected`] with the attempts left
    /// before the number locks. The failure that reaches the policy's limit is
    /// [`Error::Locked`]. Failures count per number across all its payments, and an unknown
    /// number (or one whose account is suspended or closed) is answered exactly like a known
    /// one with a wrong PIN, after the same store calls and the same HMAC work, and locks the
    /// same way.
    ///
    /// Every attempt, right or wrong, is written to the number's guard by compare-and-swap, so
    /// attempts made in parallel are answered one at a time: once the lock is reached, no
    /// further attempt is answered, not even a right one.
    ///
    /// A right PIN reserves the payment's amount within the policy's spending limits in that
    /// same write, and decides whether the low-value exemption applies
    /// ([`Payment::exemption`]). Over a limit, the payment stays `Initiated`, nothing is
    /// reserved and no SMS will be sent. On a store that writes batches
    /// ([`Store::put_together`]), the payment is stored `PinVerified` in that same write too;
    /// otherwise in a second one, after the guard's.
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] and [`Error::CurrencyNotAccepted`] (after a right PIN only; the
    /// latter when the policy changed since `initiate`), [`Error::Locked`] (now or already),
    /// [`Error::Expired`] (the payment is then `Failed`), [`Error::WrongState`] when the
    /// payment moved on meanwhile, [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, Initiated, PaymentId, Pin, PinCheck};
    ///
    /// /// `POST /payments/{id}/pin`: the PIN the buyer typed, then the code by SMS.
    /// async fn submit_pin(engine: &Engine, id: PaymentId, typed: &str) -> Result<String, Error> {
    ///     let pin: Pin = typed.parse()?;
    ///     let payment = engine.resume::<Initiated>(id).await?;
    ///     Ok(match engine.verify_pin(payment, &pin).await? {
    ///         PinCheck::Verified(verified) => {
    ///             engine.send_code(verified).await?;
    ///             "a code was sent by SMS".to_owned()
    ///         }
    ///         PinCheck::Rejected { attempts_left, .. } => {
    ///             format!("wrong PIN, {attempts_left} attempts left")
    ///         }
    ///     })
    /// }
    /// ```
    pub async fn verify_pin(
        &self,
        payment: Payment<Initiated>,
        pin: &Pin,
    ) -> Result<PinCheck, Error> {
        let span = step_span!("buyster.verify_pin", payment = %payment.id());
        traced(span, async move {
            let now = self.clock.now();
            if payment.is_expired(now) {
                return Err(self.expire(payment, now).await);
            }
            let keys = self.number_keys(payment.phone());
            let guard = self.open_guard(keys.guard, now).await?;
            let account_key = keys.account;
            match self.check_pin(&account_key, pin).await? {
                Found::Right(right) if self.batches().await => {
                    let funding = right.account.funding().clone();
                    let verified = self.verify_together(guard, payment, &funding, now).await;
                    if matches!(verified, Ok(_) | Err(Error::LimitExceeded { .. })) {
                        self.rehash(&account_key, right, pin).await;
                    }
                    Ok(PinCheck::Verified(verified?))
                }
                Found::Right(right) => {
                    let accepted = match self.accept_pin(guard, &payment, now).await {
                        Ok(accepted) => Ok(accepted),
                        Err(error @ Error::LimitExceeded { .. }) => {
                            Err(self.limit_refused(&payment, error, now))
                        }
                        // Not answered (the lock was reached meanwhile, or the store failed): the
                        // PIN was not accepted, and nothing is made from it.
                        Err(other) => return Err(other),
                    };
                    let funding = self.rehash(&account_key, right, pin).await;
                    let verified = self
                        .mark_pin_verified(payment, funding, now, accepted?)
                        .await?;
                    Ok(PinCheck::Verified(verified))
                }
                Found::Refused => self.pin_refused(payment, guard, now).await,
            }
        })
        .await
    }

    /// A wrong PIN (or a number without an active account): counted, then answered.
    async fn pin_refused(
        &self,
        payment: Payment<Initiated>,
        guard: GuardRead,
        now: Timestamp,
    ) -> Result<PinCheck, Error> {
        let failure = self
            .count_wrong_pin(guard, now, |failure, id| {
                Some(Event::payment(id, failure_event(failure), &payment, now))
            })
            .await?;
        match failure {
            Failure::AttemptsLeft { left, next_lock } => Ok(PinCheck::Rejected {
                payment,
                attempts_left: left,
                next_lock,
            }),
            Failure::Locked(until) => Err(Error::Locked { until }),
        }
    }

    /// Writes a right PIN to the number's guard, in one compare-and-swap: failures forgotten,
    /// the payment's amount reserved within the spending limits (and its exemption from the
    /// code decided), and the SMS of the code counted when the window has room and a code is
    /// needed (one round trip fewer per checkout).
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] once the reset guard is written without a reservation (the
    /// attempt was right, and is answered), and those of the store.
    async fn accept_pin(
        &self,
        guard: GuardRead,
        payment: &Payment<Initiated>,
        now: Timestamp,
    ) -> Result<Accepted, Error> {
        self.update_guard(guard, |g| {
            let (next, accepted) = accepting(g, payment, now, &self.policy)?;
            Ok((Some(next), accepted))
        })
        .await?
    }

    /// `error`, a refusal of the spending limits after a right PIN, once its event is handed to
    /// the sink (it changes no record: the guard was only reset).
    pub(super) fn limit_refused(
        &self,
        payment: &Payment<Initiated>,
        error: Error,
        now: Timestamp,
    ) -> Error {
        if let Error::LimitExceeded { limit, frees_at } = error {
            let kind = EventKind::LimitExceeded { limit, frees_at };
            self.emit(|| {
                let key = payment.key().as_str();
                let id =
                    EventId::after_write(key, payment.version().number(), now.as_unix_millis());
                Event::payment(id, kind, payment, now)
            });
        }
        error
    }

    /// The number's guard under `key`, refused while it is locked at `now`.
    pub(super) async fn open_guard(&self, key: Key, now: Timestamp) -> Result<GuardRead, Error> {
        let read = self.read_guard(key).await?;
        read.guard.check_open(now)?;
        Ok(read)
    }

    /// Counts one wrong PIN in the number's guard by compare-and-swap.
    pub(super) async fn count_wrong_pin(
        &self,
        guard: GuardRead,
        now: Timestamp,
        report: impl Fn(Failure, EventId) -> Option<Event> + Sync,
    ) -> Result<Failure, Error> {
        let policy = &self.policy;
        self.update_guard_reporting(
            guard,
            |g| {
                g.check_open(now)?;
                let (next, failure) = g.after_failure(now, policy);
                Ok((Some(next), failure))
            },
            |failure, id| report(*failure, id),
        )
        .await
    }

    /// The account's funding source, after making its PIN hash again under the current key
    /// when an older key made it; only once the guard accepted the PIN. Best effort: a lost
    /// race or a failed write leaves the old hash, which the ring still checks, to be made
    /// again at the next right PIN.
    async fn rehash(&self, key: &Key, right: RightPin, pin: &Pin) -> FundingSource {
        let funding = right.account.funding().clone();
        if right.account.needs_rehash(&self.keys) {
            let record = right
                .account
                .with_pin(&self.keys, pin)
                .encode(&self.keys, key);
            let _ = self
                .try_put(key, Some(right.version), Write::new(record))
                .await;
        }
        funding
    }

    /// Checks `pin` against the account under `key`, with the same work for an unknown number,
    /// an account that may not pay and a wrong PIN: one record of the same size verified and
    /// read (the engine's decoy when there is no account), one PIN hash compared.
    pub(super) async fn check_pin(&self, key: &Key, pin: &Pin) -> Result<Found, Error> {
        let entry = self.read(key).await?;
        let (record_key, record) = self.account_or_decoy(key, entry.as_ref())?;
        let account = Account::open(&self.keys, &record_key, &record)?;
        // Only an active account passes; a suspended or closed one is refused after the same
        // work, like a number without an account.
        let right = account.pin_matches(&self.keys, pin)? & account.is_active();
        match entry.filter(|_| right) {
            Some(entry) => Ok(Found::Right(RightPin {
                account: account.to_account()?,
                version: entry.version(),
            })),
            None => Ok(Found::Refused),
        }
    }

    /// The account's record and key, or the decoy's when there is none. Both records are read
    /// whole and one is selected byte by byte into the same place, so that the work and the
    /// memory touched do not depend on which it is.
    fn account_or_decoy(
        &self,
        key: &Key,
        entry: Option<&Entry>,
    ) -> Result<(Key, [u8; ACCOUNT_RECORD]), Error> {
        let (decoy_key, decoy) = (&self.decoy.0, self.decoy.1.as_slice());
        let found = entry.map_or(decoy, Entry::value);
        if found.len() != ACCOUNT_RECORD || decoy.len() != ACCOUNT_RECORD {
            return Err(Error::Tampered);
        }
        let keep = 0u8.wrapping_sub(u8::from(entry.is_some()));
        let record_key = Key::select(key, decoy_key, keep).ok_or(Error::Tampered)?;
        let mut record = [0u8; ACCOUNT_RECORD];
        for ((to, mine), spare) in record.iter_mut().zip(found).zip(decoy) {
            *to = (mine & keep) | (spare & !keep);
        }
        Ok((record_key, record))
    }

    /// Stores the payment as `PinVerified`, the guard having accepted its PIN.
    async fn mark_pin_verified(
        &self,
        payment: Payment<Initiated>,
        funding: FundingSource,
        now: Timestamp,
        accepted: Accepted,
    ) -> Result<Payment<PinVerified>, Error> {
        let funding = &funding;
        self.update_payment(payment, |payment| {
            Box::pin(async move {
                let next = pin_verified(payment, funding.clone(), now, accepted);
                self.replace_reporting(next, EventKind::PinVerified, now)
                    .await
            })
        })
        .await
    }
}

/// The guard `g` after a right PIN for `payment` at `now`: failures forgotten, the payment's
/// amount reserved within the spending limits (and its exemption from the code decided), and
/// the SMS of the code counted when the window has room and a code is needed (one round trip
/// fewer per checkout). Over a limit, the guard is only reset, and the refusal is the answer.
///
/// # Errors
///
/// [`Error::Locked`] while the guard is locked at `now`: nothing to write.
pub(super) fn accepting(
    g: &Guard,
    payment: &Payment<Initiated>,
    now: Timestamp,
    policy: &Policy,
) -> Result<(Guard, Result<Accepted, Error>), Error> {
    let (id, amount, lapses_at) = (payment.id(), payment.order().amount(), payment.expires_at());
    g.check_open(now)?;
    let reset = g.after_success();
    let reserved = reset.ledger().reserve(id, amount, now, lapses_at, policy);
    let (reserved, exempt) = match reserved {
        Ok((ledger, exempt)) => (reset.with_ledger(ledger), exempt),
        Err(refusal) => return Ok((reset, Err(refusal))),
    };
    let counted = (!exempt).then(|| reserved.after_sms(now, policy).ok());
    Ok(match counted.flatten() {
        Some(counted) => (counted, Ok(Accepted::new(true, exempt))),
        None => (reserved, Ok(Accepted::new(false, exempt))),
    })
}

/// The event of a counted wrong PIN.
pub(super) fn failure_event(failure: Failure) -> EventKind {
    match failure {
        Failure::AttemptsLeft { left, .. } => EventKind::PinRejected {
            attempts_left: left,
        },
        Failure::Locked(until) => EventKind::Locked { until },
    }
}
