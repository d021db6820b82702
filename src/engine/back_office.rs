//! The host's back office, fenced behind [`Engine::back_office`]: an account's details and
//! status, its funding source, a PIN reset and an unlock.

use core::fmt;

use crate::Error;
use crate::account::{Account, AccountDetails, AccountStatus};
use crate::events::{Event, EventKind};
use crate::funding::FundingSource;
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::phone::PhoneNumber;
use crate::secret::Pin;

use super::Engine;
use super::trace::{step_span, traced};

/// The host's own operations on an account, which authenticate no one: see
/// [`Engine::back_office`].
pub struct BackOffice<'e, St, Sm, Bk, C> {
    engine: &'e Engine<St, Sm, Bk, C>,
}

// A handle is a reference to its engine: copied freely, so that a step's future can own it.
impl<St, Sm, Bk, C> Clone for BackOffice<'_, St, Sm, Bk, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<St, Sm, Bk, C> Copy for BackOffice<'_, St, Sm, Bk, C> {}

impl<St, Sm, Bk, C> fmt::Debug for BackOffice<'_, St, Sm, Bk, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackOffice").finish_non_exhaustive()
    }
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// The host's back office: the account of a number, its status, its funding source, a PIN
    /// reset and an unlock.
    ///
    /// # Security
    ///
    /// These operations authenticate no one, and tell whether a number is enrolled. Call them
    /// only from the host's own back office, for a person the host has identified by its own
    /// means (an identity check at a counter, a signed letter, its own strong authentication),
    /// never on the strength of the phone alone: an SMS code proves who holds a phone, not who
    /// owns the account. Keep them off every buyer-facing route.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # async fn f(engine: &buyster::Engine<MemoryStore, MemorySms, MemoryBank>)
    /// #     -> Result<(), buyster::Error> {
    /// use buyster::AccountStatus;
    ///
    /// // A support agent, having checked the caller's identity, suspends a stolen phone's
    /// // account.
    /// let phone = "+33612345678".parse()?;
    /// let back_office = engine.back_office();
    /// back_office.set_status(&phone, AccountStatus::Suspended).await?;
    /// assert_eq!(back_office.account(&phone).await?.status(), AccountStatus::Suspended);
    /// # Ok(()) }
    /// ```
    pub fn back_office(&self) -> BackOffice<'_, St, Sm, Bk, C> {
        BackOffice { engine: self }
    }

    /// [`BackOffice::account`], through [`Engine::back_office`].
    ///
    /// # Errors
    ///
    /// Those of [`BackOffice::account`].
    #[doc(hidden)]
    #[deprecated(note = "host-side: call it through `engine.back_office().account(..)`")]
    pub async fn account(&self, phone: &PhoneNumber) -> Result<AccountDetails, Error> {
        self.back_office().account(phone).await
    }

    /// [`BackOffice::set_status`], through [`Engine::back_office`].
    ///
    /// # Errors
    ///
    /// Those of [`BackOffice::set_status`].
    #[doc(hidden)]
    #[deprecated(note = "host-side: call it through `engine.back_office().set_status(..)`")]
    pub async fn set_status(
        &self,
        phone: &PhoneNumber,
        status: AccountStatus,
    ) -> Result<(), Error> {
        self.back_office().set_status(phone, status).await
    }

    /// [`BackOffice::replace_funding_source`], through [`Engine::back_office`].
    ///
    /// # Errors
    ///
    /// Those of [`BackOffice::replace_funding_source`].
    #[doc(hidden)]
    #[deprecated(
        note = "host-side: call it through `engine.back_office().replace_funding_source(..)`"
    )]
    pub async fn replace_funding_source(
        &self,
        phone: &PhoneNumber,
        funding: FundingSource,
    ) -> Result<(), Error> {
        self.back_office()
            .replace_funding_source(phone, funding)
            .await
    }

    /// [`BackOffice::reset_pin`], through [`Engine::back_office`].
    ///
    /// # Errors
    ///
    /// Those of [`BackOffice::reset_pin`].
    #[doc(hidden)]
    #[deprecated(note = "host-side: call it through `engine.back_office().reset_pin(..)`")]
    pub async fn reset_pin(&self, phone: &PhoneNumber, pin: &Pin) -> Result<(), Error> {
        self.back_office().reset_pin(phone, pin).await
    }

    /// [`BackOffice::unlock`], through [`Engine::back_office`].
    ///
    /// # Errors
    ///
    /// Those of [`BackOffice::unlock`].
    #[doc(hidden)]
    #[deprecated(note = "host-side: call it through `engine.back_office().unlock(..)`")]
    pub async fn unlock(&self, phone: &PhoneNumber) -> Result<(), Error> {
        self.back_office().unlock(phone).await
    }
}

impl<'e, St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> BackOffice<'e, St, Sm, Bk, C> {
    /// The account of `phone`: its status, funding source and enrollment date.
    ///
    /// # Errors
    ///
    /// [`Error::NotEnrolled`], [`Error::Tampered`], [`Error::Storage`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, PhoneNumber};
    ///
    /// /// The support screen for a caller whose identity the agent checked.
    /// async fn support_screen(engine: &Engine, phone: &PhoneNumber) -> Result<String, Error> {
    ///     let account = engine.back_office().account(phone).await?;
    ///     // The funding source's `Debug` is masked.
    ///     let (status, since) = (account.status(), account.enrolled_at());
    ///     Ok(format!("{status} since {since}, debits {:?}", account.funding_source()))
    /// }
    /// ```
    pub async fn account(self, phone: &PhoneNumber) -> Result<AccountDetails, Error> {
        let span = step_span!("buyster.back_office.account", phone = %phone.masked());
        traced(span, async move {
            let key = self.engine.number_keys(phone).account;
            let (account, _) = self.engine.read_account(&key).await?;
            Ok(account.details())
        })
        .await
    }

    /// Sets the account's status: suspend it, make it active again, or close it for good.
    ///
    /// Takes effect at the next PIN check: a suspended or closed account is then answered like
    /// an unknown number. A payment already past its PIN goes on unless the host cancels it
    /// ([`CancelReason::Fraud`](crate::CancelReason::Fraud)). Setting the status it has already
    /// changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::AccountClosed`] to leave [`AccountStatus::Closed`], [`Error::NotEnrolled`],
    /// [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{AccountStatus, Error, PhoneNumber};
    ///
    /// /// The holder, identified at the counter, closes their account for good.
    /// async fn close(engine: &Engine, phone: &PhoneNumber) -> Result<(), Error> {
    ///     engine.back_office().set_status(phone, AccountStatus::Closed).await
    /// }
    /// ```
    pub async fn set_status(self, phone: &PhoneNumber, status: AccountStatus) -> Result<(), Error> {
        let span =
            step_span!("buyster.back_office.set_status", phone = %phone.masked(), status = %status);
        traced(span, async move {
            let key = self.engine.number_keys(phone).account;
            let decide = |account: Account| match account.status() {
                current if current == status => Ok(None),
                AccountStatus::Closed => Err(Error::AccountClosed),
                _ => Ok(Some(account.with_status(status))),
            };
            let report = Some((phone, EventKind::StatusChanged(status)));
            self.engine.update_account(&key, decide, report).await?;
            Ok(())
        })
        .await
    }

    /// Replaces the account that payments debit. Payments already past their PIN keep the
    /// source they were verified with.
    ///
    /// # Errors
    ///
    /// [`Error::AccountClosed`], [`Error::NotEnrolled`], [`Error::Tampered`],
    /// [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, FundingSource, PhoneNumber};
    ///
    /// /// A new bank account for the holder, once the host received its signed mandate.
    /// async fn new_account(
    ///     engine: &Engine,
    ///     phone: &PhoneNumber,
    ///     iban: &str,
    /// ) -> Result<(), Error> {
    ///     let funding: FundingSource = iban.parse()?;
    ///     engine.back_office().replace_funding_source(phone, funding).await
    /// }
    /// ```
    pub async fn replace_funding_source(
        self,
        phone: &PhoneNumber,
        funding: FundingSource,
    ) -> Result<(), Error> {
        let span =
            step_span!("buyster.back_office.replace_funding_source", phone = %phone.masked());
        traced(span, async move {
            let key = self.engine.number_keys(phone).account;
            let decide = |account: Account| {
                still_open(&account)?;
                Ok(Some(account.with_funding(funding.clone())))
            };
            let report = Some((phone, EventKind::FundingSourceReplaced));
            self.engine.update_account(&key, decide, report).await?;
            Ok(())
        })
        .await
    }

    /// Sets a new PIN for a buyer who lost theirs, and lifts the number's lock: guesses at the
    /// old PIN say nothing of the new one. The new PIN must pass the policy's rules.
    ///
    /// While it runs, the number's PIN checks are refused as locked: the guard is frozen by
    /// compare-and-swap before the new PIN is stored and cleared after, so that no guess, at
    /// the old PIN or at the new one, is answered and then forgotten by the clearing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`], [`Error::WeakPin`], [`Error::AccountClosed`],
    /// [`Error::NotEnrolled`], [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    /// When the new PIN could not be stored, the number's failures and lock are put back as
    /// they were; when the store failed at that point or after the new PIN was stored, the
    /// number stays locked until `reset_pin` or [`BackOffice::unlock`] succeeds.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, PhoneNumber, Pin};
    ///
    /// /// A lost PIN: the holder, identified at the counter, types a new one on its keypad.
    /// async fn new_pin(engine: &Engine, phone: &PhoneNumber, typed: &str) -> Result<(), Error> {
    ///     let pin: Pin = typed.parse()?;
    ///     engine.back_office().reset_pin(phone, &pin).await
    /// }
    /// ```
    pub async fn reset_pin(self, phone: &PhoneNumber, pin: &Pin) -> Result<(), Error> {
        let span = step_span!("buyster.back_office.reset_pin", phone = %phone.masked());
        traced(span, async move {
            let engine = self.engine;
            engine.policy.check_new_pin(pin)?;
            let keys = engine.number_keys(phone);
            let (account, _) = engine.read_account(&keys.account).await?;
            still_open(&account)?;
            let read = engine.read_guard(keys.guard.clone()).await?;
            let before = engine
                .update_guard(read, |g| Ok((Some(g.frozen()), g.clone())))
                .await?;
            let decide = |account: Account| {
                still_open(&account)?;
                Ok(Some(account.with_pin(&engine.keys, pin)))
            };
            let report = Some((phone, EventKind::PinReset));
            let stored = engine.update_account(&keys.account, decide, report).await;
            let read = engine.read_guard(keys.guard).await?;
            match stored {
                Ok(_) => {
                    engine
                        .update_guard(read, |g| Ok((Some(g.after_success()), ())))
                        .await?;
                    Ok(())
                }
                Err(error) => {
                    // The PIN is as it was, and nothing was counted meanwhile: so are its counts.
                    let earlier =
                        |g: &crate::guard::Guard| Ok((Some(g.with_pin_state_of(&before)), ()));
                    engine.update_guard(read, earlier).await?;
                    Err(error)
                }
            }
        })
        .await
    }

    /// Lifts the number's PIN lock, temporary or permanent, and forgets its failures. Works for
    /// a number without an account too (its guesses lock it all the same), not for a closed
    /// account.
    ///
    /// # Errors
    ///
    /// [`Error::AccountClosed`], [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, PhoneNumber};
    ///
    /// /// A support call: the holder, identified, is sure of their PIN again; lift the lock.
    /// async fn unlock(engine: &Engine, phone: &PhoneNumber) -> Result<(), Error> {
    ///     engine.back_office().unlock(phone).await
    /// }
    /// ```
    pub async fn unlock(self, phone: &PhoneNumber) -> Result<(), Error> {
        let span = step_span!("buyster.back_office.unlock", phone = %phone.masked());
        traced(span, async move {
            let engine = self.engine;
            let keys = engine.number_keys(phone);
            match engine.read_account(&keys.account).await {
                Ok((account, _)) => still_open(&account)?,
                Err(Error::NotEnrolled) => {}
                Err(error) => return Err(error),
            }
            let read = engine.read_guard(keys.guard).await?;
            engine
                .update_guard_reporting(
                    read,
                    |g| {
                        // Nothing to forget: nothing written, nothing reported.
                        Ok(match g.is_clear() {
                            true => (None, ()),
                            false => (Some(g.after_success()), ()),
                        })
                    },
                    |(), id| {
                        Some(Event::number(
                            id,
                            EventKind::Unlocked,
                            phone,
                            engine.clock.now(),
                        ))
                    },
                )
                .await?;
            Ok(())
        })
        .await
    }
}

/// `Err(AccountClosed)` for a closed account.
fn still_open(account: &Account) -> Result<(), Error> {
    match account.status() {
        AccountStatus::Closed => Err(Error::AccountClosed),
        AccountStatus::Active | AccountStatus::Suspended => Ok(()),
    }
}
