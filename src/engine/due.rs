//! The engine's own unfinished work, found in the store's due index and finished in due order.
//!
//! Every write of a payment or an enrollment tells the store when the record falls due
//! (`records.rs`, from `payment::due_at` and `enrollment::due_at`): an open payment at its
//! expiry, an authorized payment, a pending refund or a failed payment's spending share a
//! [`Policy::recovery_delay`](crate::Policy) after the step that should have finished it, an
//! open enrollment at its expiry. (On a store that batches, a failed payment gives its share
//! back in its own write, `together.rs`, and is due only at the end of its retention.)
//! [`Engine::recover_due`] reads the earliest due keys and finishes each; what it cannot
//! finish yet (a bank that does not answer) it writes back due one delay later, behind the
//! rest, so that nothing starves.
//!
//! A payment or an enrollment that ended with nothing left to do is due once more, when its
//! retention ([`Policy`](crate::Policy)) is over: [`Engine::recover_due`] then removes it
//! ([`Store::remove`], one call, at the version read), or, on a store that keeps every record,
//! writes it back with no due time. Nothing else is removed: an open or authorized payment, one
//! with a refund pending, or a failed one whose spending share is not yet given back still has
//! work left, and is due for that work instead.

use crate::Error;
use crate::enrollment;
use crate::enrollment::{AnyEnrollment, CodeAccepted, Enrollment, EnrollmentFailure};
use crate::host::{Bank, Clock, Entry, Key, SmsGateway, Store, StoreError, Write};
use crate::ids::{EnrollmentId, PaymentId};
use crate::payment::{self, AnyPayment};
use crate::time::Timestamp;

use super::Engine;
use super::trace::{step_span, traced};

/// What one call of [`Engine::recover_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DueWork {
    /// Due records read from the index.
    pub examined: usize,
    /// Of those, the ones now finished, or due again only at their own expiry or at the end
    /// of their retention.
    pub finished: usize,
    /// Of those, the ones whose work could not be finished yet (a bank or a store that did not
    /// answer): written back due a [`Policy::recovery_delay`](crate::Policy) later.
    pub postponed: usize,
    /// Of those, the ones that failed: a record that fails its integrity check, a key the
    /// engine does not make, a store error. Postponed too, when the store lets it.
    pub errors: usize,
    /// Of those, the ended payments and enrollments whose retention was over: removed from
    /// the store. (On a store that keeps every record, they are written back with no due time
    /// and counted as finished.)
    pub purged: usize,
}

impl DueWork {
    /// Whether the round read as many records as it was allowed: more may be due.
    #[must_use]
    pub const fn reached(&self, limit: usize) -> bool {
        self.examined >= limit
    }
}

/// When a record that its recovery left as it is falls due next.
#[derive(Clone, Copy)]
enum Due {
    /// At its own expiry, still to come.
    At(Timestamp),
    /// A recovery delay from now: its work could not be finished yet.
    Later,
    /// Now, for good: it ended and its retention is over.
    Purge,
}

/// What finishing one due record came to.
enum Outcome {
    Finished,
    Postponed,
    Purged,
}

/// A due key, as the engine reads it.
enum DueKey {
    Payment(PaymentId),
    Enrollment(EnrollmentId),
    Other,
}

/// When a record that ended, kept until `kept_until`, falls due at `now`: removed now when
/// its retention is over, due then otherwise.
fn ended(kept_until: Timestamp, now: Timestamp) -> Due {
    if kept_until <= now {
        Due::Purge
    } else {
        Due::At(kept_until)
    }
}

impl DueKey {
    fn of(key: &Key) -> Self {
        let text = key.as_str();
        if let Some(id) = text
            .strip_prefix("payment/")
            .and_then(|hex| hex.parse().ok())
        {
            return Self::Payment(id);
        }
        if let Some(id) = text
            .strip_prefix("enrollment/")
            .and_then(|hex| hex.parse().ok())
        {
            return Self::Enrollment(id);
        }
        Self::Other
    }
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Finishes up to `limit` records of the store's due index, earliest first: the engine's
    /// own unfinished work, found without the host keeping any id.
    ///
    /// - A payment past its time to live: `Failed(Expired)`, its share of the spending limits
    ///   given back.
    /// - A payment left `Authorized` (a crash or a bank outage between the code and the
    ///   debit): settled with the idempotency key of every earlier attempt, so a debit the bank
    ///   made is found, never repeated.
    /// - A failed payment whose spending share a crash kept: the share given back (on a store
    ///   that does not batch; one that does writes the failure and the share together).
    /// - A refund left pending: asked again under its own key.
    /// - An enrollment past its time to live: `Failed(Expired)`. One whose code was accepted
    ///   but whose call died before the end: `Enrolled` if its account was made, `Failed`
    ///   otherwise (the PIN is not kept: the applicant starts again).
    /// - A payment or an enrollment that ended, nothing left to do, once its retention is over
    ///   ([`Policy::failed_payment_retention`](crate::Policy),
    ///   `confirmed_payment_retention`, `enrollment_retention`): removed with one
    ///   [`Store::remove`] at the version read, and counted in [`DueWork::purged`]; a write
    ///   that raced it wins, and the record stays. [`Engine::load`] then answers
    ///   [`Error::NotFound`], and an order's idempotency key is free again. No event is
    ///   reported: the payment's outcome was reported when it ended, and its removal is the
    ///   policy's, known in advance, not news of the payment. On a store that keeps every
    ///   record ([`Store::remove`] answers `None`), the record is written back with no due
    ///   time instead: it leaves the index, and the host archives it.
    ///
    /// What it cannot finish yet (the bank still does not answer) is written back due a
    /// [`Policy::recovery_delay`](crate::Policy) later, behind the rest. Its cost grows with
    /// the work due, not with the history: it reads the store's index ordered by due time.
    ///
    /// Run it on a timer from every server instance (every few seconds, with a `limit` of a
    /// few hundred, again at once while [`DueWork::reached`] says more may be due). Instances
    /// may run it at the same time, with each other and with buyers: every change is a
    /// compare-and-swap, like the buyer's own.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the due index cannot be read. A record that fails on its own
    /// is counted in [`DueWork::errors`] and the round goes on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use std::time::Duration;
    ///
    /// /// A background task of every server instance.
    /// async fn recovery_loop(engine: &Engine) {
    ///     loop {
    ///         match engine.recover_due(200).await {
    ///             Ok(work) if work.reached(200) => continue, // more is due: at once
    ///             Ok(_) => {}
    ///             Err(error) => eprintln!("recovery: {error}"),
    ///         }
    ///         tokio::time::sleep(Duration::from_secs(5)).await;
    ///     }
    /// }
    /// ```
    pub async fn recover_due(&self, limit: usize) -> Result<DueWork, Error> {
        let span = step_span!(
            "buyster.recover_due",
            limit = limit,
            examined = ::tracing::field::Empty,
            finished = ::tracing::field::Empty,
            postponed = ::tracing::field::Empty,
            purged = ::tracing::field::Empty
        );
        traced(span, async move {
            let now = self.clock.now();
            let due = self.store.due(now, limit).await.map_err(Error::Storage)?;
            let mut work = DueWork {
                examined: due.len(),
                ..DueWork::default()
            };
            for entry in due {
                let done = match DueKey::of(&entry.key) {
                    DueKey::Payment(id) => self.finish_due_payment(id, &entry.key, now).await,
                    DueKey::Enrollment(id) => self.finish_due_enrollment(id, &entry.key, now).await,
                    DueKey::Other => Err(Error::Tampered),
                };
                match done {
                    Ok(Outcome::Finished) => work.finished = work.finished.saturating_add(1),
                    Ok(Outcome::Postponed) => work.postponed = work.postponed.saturating_add(1),
                    Ok(Outcome::Purged) => work.purged = work.purged.saturating_add(1),
                    Err(_) => {
                        work.errors = work.errors.saturating_add(1);
                        // Behind the rest, so that a record the engine cannot handle never
                        // holds the head of the index; a store error may refuse this too.
                        let _ = self.postpone(&entry.key, None, now).await;
                    }
                }
            }
            Ok(work)
        })
        .await
    }

    /// Brings the enrollment `id` as far as it can go without the applicant, and returns it
    /// as it now stands: past its time to live, `Failed(Expired)`; accepted but left
    /// unfinished by a call that died, `Enrolled` when its account was made and `Failed`
    /// otherwise. Anything else is returned unchanged.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{AnyEnrollment, EnrollmentId, Error};
    ///
    /// /// A support tool: end an applicant's enrollment that stopped half-way.
    /// async fn settle_enrollment(engine: &Engine, id: EnrollmentId) -> Result<String, Error> {
    ///     Ok(match engine.recover_enrollment(id).await? {
    ///         AnyEnrollment::Enrolled(_) => "enrolled".to_owned(),
    ///         other => format!("{}", other.kind()),
    ///     })
    /// }
    /// ```
    pub async fn recover_enrollment(&self, id: EnrollmentId) -> Result<AnyEnrollment, Error> {
        let span = step_span!("buyster.recover_enrollment", enrollment = %id);
        traced(span, async move {
            let now = self.clock.now();
            match self.read_enrollment(id).await? {
                AnyEnrollment::CodeSent(open) if open.is_expired(now) => {
                    match self.expire_enrollment(open, now).await {
                        Error::Expired | Error::WrongEnrollmentState { .. } => {
                            self.read_enrollment(id).await
                        }
                        error => Err(error),
                    }
                }
                AnyEnrollment::Accepted(accepted) => {
                    self.finish_accepted(accepted, now).await?;
                    self.read_enrollment(id).await
                }
                other => Ok(other),
            }
        })
        .await
    }

    /// Closes an enrollment whose code was accepted by a call that died before the end.
    async fn finish_accepted(
        &self,
        accepted: Enrollment<CodeAccepted>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let key = self.number_keys(accepted.phone()).account;
        let reason = match self.read_account(&key).await {
            // Made by this enrollment's own call: it dates the account with the acceptance.
            Ok((account, _))
                if account.details().enrolled_at() == accepted.state().accepted_at() =>
            {
                None
            }
            Ok(_) => Some(EnrollmentFailure::AlreadyEnrolled),
            Err(Error::NotEnrolled) => Some(EnrollmentFailure::Expired),
            Err(error) => return Err(error),
        };
        match self.close_enrollment(accepted, reason, now).await {
            Ok(_) | Err(Error::AlreadyEnrolled) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Finishes the due payment `id` stored under `key`.
    async fn finish_due_payment(
        &self,
        id: PaymentId,
        key: &Key,
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        let before = self.read(key).await?.ok_or(Error::NotFound)?;
        let any = payment::decode(&self.keys, key.clone(), &id, &before)?;
        let stands = match any {
            AnyPayment::Failed(failed) => {
                // A crash may have kept its share: given back before the record is finished.
                self.try_release_share(failed.phone(), id).await?;
                AnyPayment::Failed(failed)
            }
            _ => self.recover(id).await?,
        };
        let due = match &stands {
            AnyPayment::Failed(_) | AnyPayment::Confirmed(_) => {
                // `None`: a refund still pending, asked again by `recover` above.
                payment::kept_until(&stands, &self.policy).map_or(Due::Later, |at| ended(at, now))
            }
            AnyPayment::Authorized(_) => Due::Later,
            open if now < open.expires_at() => Due::At(open.expires_at()),
            _ => Due::Later,
        };
        self.settle_due(key, &before, due, now).await
    }

    /// Finishes the due enrollment `id` stored under `key`.
    async fn finish_due_enrollment(
        &self,
        id: EnrollmentId,
        key: &Key,
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        let before = self.read(key).await?.ok_or(Error::NotFound)?;
        let due = match self.recover_enrollment(id).await? {
            AnyEnrollment::CodeSent(open) if !open.is_expired(now) => Due::At(open.expires_at()),
            AnyEnrollment::CodeSent(_) | AnyEnrollment::Accepted(_) => Due::Later,
            AnyEnrollment::Enrolled(done) => ended(
                enrollment::kept_until(done.state().enrolled_at(), &self.policy),
                now,
            ),
            AnyEnrollment::Failed(failed) => ended(
                enrollment::kept_until(failed.state().failed_at(), &self.policy),
                now,
            ),
        };
        self.settle_due(key, &before, due, now).await
    }

    /// After the work on the record under `key`, read as `before`, that left it standing
    /// `due`: when a write moved it, that write set its own due time; otherwise the record is
    /// written back, unchanged, with the due time it now has, or removed when it is to be
    /// purged.
    async fn settle_due(
        &self,
        key: &Key,
        before: &Entry,
        due: Due,
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        let after = self.read(key).await?.ok_or(Error::NotFound)?;
        let moved = after.version() != before.version();
        let at = match due {
            Due::Later if moved => return Ok(Outcome::Postponed),
            Due::Later => {
                self.postpone(key, Some(after), now).await?;
                return Ok(Outcome::Postponed);
            }
            Due::At(_) | Due::Purge if moved => return Ok(Outcome::Finished),
            Due::Purge => return self.purge(key, after).await,
            Due::At(at) => at,
        };
        let write = Write::new(after.value().to_vec()).due_at(at);
        // A racing write set its own due time: nothing more to do.
        let _ = self.try_put(key, Some(after.version()), write).await?;
        Ok(Outcome::Finished)
    }

    /// Removes the record under `key`, read as `entry`, whose retention is over: at its
    /// version, so that a write that raced the round wins and keeps it. On a store that keeps
    /// every record, writes it back with no due time instead.
    async fn purge(&self, key: &Key, entry: Entry) -> Result<Outcome, Error> {
        let version = entry.version();
        match self.store.remove(key, version).await {
            Some(Ok(())) => Ok(Outcome::Purged),
            // A racing write set its own due time: it stays, as that write left it.
            Some(Err(StoreError::Conflict)) => Ok(Outcome::Finished),
            Some(Err(error)) => Err(Error::Storage(error)),
            None => {
                let write = Write::new(entry.into_value());
                let _ = self.try_put(key, Some(version), write).await?;
                Ok(Outcome::Finished)
            }
        }
    }

    /// Writes the record under `key` (as `read`, or read now) back unchanged, due a recovery
    /// delay after `now`.
    async fn postpone(&self, key: &Key, read: Option<Entry>, now: Timestamp) -> Result<(), Error> {
        let entry = match read {
            Some(entry) => entry,
            None => self.read(key).await?.ok_or(Error::NotFound)?,
        };
        let write = Write::new(entry.value().to_vec())
            .due_at(now.saturating_add(self.policy.recovery_delay));
        let _ = self.try_put(key, Some(entry.version()), write).await?;
        Ok(())
    }
}
