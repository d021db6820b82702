//! The host's back office: an account's status, funding source, PIN reset and unlock, and the
//! record steps that enrollment shares.
//!
//! These are host-side operations. They authenticate no one: call them only for a person the
//! host has identified by its own means (an identity check at a counter, a signed letter, its
//! own strong authentication), never on the strength of the phone alone.

use crate::Error;
use crate::account::{Account, AccountDetails, AccountStatus};
use crate::events::{Event, EventKind};
use crate::funding::FundingSource;
use crate::host::{Bank, Clock, Key, SmsGateway, Store, Version};
use crate::phone::PhoneNumber;
use crate::secret::Pin;

use super::{Engine, MAX_RACES};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// The account of `phone`, as the host's back office may see it.
    ///
    /// Host-side: it tells whether a number is enrolled, which a buyer-facing page must not.
    ///
    /// # Errors
    ///
    /// [`Error::NotEnrolled`], [`Error::Tampered`], [`Error::Storage`].
    pub async fn account(&self, phone: &PhoneNumber) -> Result<AccountDetails, Error> {
        let (account, _) = self.read_account(&self.account_key(phone)).await?;
        Ok(account.details())
    }

    /// Sets the account's status: suspend it, make it active again, or close it for good.
    ///
    /// Takes effect at the next PIN check: a suspended or closed account is then answered like
    /// an unknown number. A payment already past its PIN goes on unless the host cancels it
    /// ([`CancelReason::Fraud`](crate::CancelReason::Fraud)). Setting the status it has already
    /// changes nothing.
    ///
    /// # Security
    ///
    /// Host-side: call it only for a person the host has identified by its own means, never on
    /// the strength of the phone alone (an SMS code proves who holds a phone, not who owns the
    /// account).
    ///
    /// # Errors
    ///
    /// [`Error::AccountClosed`] to leave [`AccountStatus::Closed`], [`Error::NotEnrolled`],
    /// [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    pub async fn set_status(
        &self,
        phone: &PhoneNumber,
        status: AccountStatus,
    ) -> Result<(), Error> {
        let changed = self
            .update_account(phone, |account| match account.status() {
                current if current == status => Ok(None),
                AccountStatus::Closed => Err(Error::AccountClosed),
                _ => Ok(Some(account.with_status(status))),
            })
            .await?;
        if changed {
            self.emit_for(phone, EventKind::StatusChanged(status));
        }
        Ok(())
    }

    /// Replaces the account that payments debit. Payments already past their PIN keep the
    /// source they were verified with.
    ///
    /// # Security
    ///
    /// Host-side: call it only for a person the host has identified by its own means, never on
    /// the strength of the phone alone (an SMS code proves who holds a phone, not who owns the
    /// account).
    ///
    /// # Errors
    ///
    /// [`Error::AccountClosed`], [`Error::NotEnrolled`], [`Error::Tampered`],
    /// [`Error::Storage`], [`Error::Conflict`].
    pub async fn replace_funding_source(
        &self,
        phone: &PhoneNumber,
        funding: FundingSource,
    ) -> Result<(), Error> {
        self.update_account(phone, |account| {
            still_open(&account)?;
            Ok(Some(account.with_funding(funding.clone())))
        })
        .await?;
        self.emit_for(phone, EventKind::FundingSourceReplaced);
        Ok(())
    }

    /// Sets a new PIN for a buyer who lost theirs, and lifts the number's lock: guesses at the
    /// old PIN say nothing of the new one. The new PIN must pass the policy's rules.
    ///
    /// While it runs, the number's PIN checks are refused as locked: the guard is frozen by
    /// compare-and-swap before the new PIN is stored and cleared after, so that no guess, at
    /// the old PIN or at the new one, is answered and then forgotten by the clearing.
    ///
    /// # Security
    ///
    /// Host-side: call it only for a person the host has identified by its own means, never on
    /// the strength of the phone alone (an SMS code proves who holds a phone, not who owns the
    /// account).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`], [`Error::WeakPin`], [`Error::AccountClosed`],
    /// [`Error::NotEnrolled`], [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    /// When the new PIN could not be stored, the number's failures and lock are put back as
    /// they were; when the store failed at that point or after the new PIN was stored, the
    /// number stays locked until `reset_pin` or [`Engine::unlock`] succeeds.
    pub async fn reset_pin(&self, phone: &PhoneNumber, pin: &Pin) -> Result<(), Error> {
        self.policy.check_new_pin(pin)?;
        let (account, _) = self.read_account(&self.account_key(phone)).await?;
        still_open(&account)?;
        let key = Key::guard(&self.keys.account_index(phone));
        let current = self.read_guard(&key).await?;
        let before = self
            .update_guard(&key, current, |g| Ok((g.frozen(), g.clone())))
            .await?;
        let stored = self
            .update_account(phone, |account| {
                still_open(&account)?;
                Ok(Some(account.with_pin(&self.keys, pin)))
            })
            .await;
        let current = self.read_guard(&key).await?;
        match stored {
            Ok(_) => {
                self.update_guard(&key, current, |g| Ok((g.after_success(), ())))
                    .await?;
                self.emit_for(phone, EventKind::PinReset);
                Ok(())
            }
            Err(error) => {
                // The PIN is as it was, and nothing was counted meanwhile: so are its counts.
                self.update_guard(&key, current, |g| Ok((g.with_pin_state_of(&before), ())))
                    .await?;
                Err(error)
            }
        }
    }

    /// Lifts the number's PIN lock, temporary or permanent, and forgets its failures. Works for
    /// a number without an account too (its guesses lock it all the same), not for a closed
    /// account.
    ///
    /// # Security
    ///
    /// Host-side: call it only for a person the host has identified by its own means, never on
    /// the strength of the phone alone (an SMS code proves who holds a phone, not who owns the
    /// account).
    ///
    /// # Errors
    ///
    /// [`Error::AccountClosed`], [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    pub async fn unlock(&self, phone: &PhoneNumber) -> Result<(), Error> {
        match self.read_account(&self.account_key(phone)).await {
            Ok((account, _)) => still_open(&account)?,
            Err(Error::NotEnrolled) => {}
            Err(error) => return Err(error),
        }
        if self.clear_lock(phone).await? {
            self.emit_for(phone, EventKind::Unlocked);
        }
        Ok(())
    }

    /// Forgets the number's PIN failures and locks; whether there were any to forget.
    async fn clear_lock(&self, phone: &PhoneNumber) -> Result<bool, Error> {
        let key = Key::guard(&self.keys.account_index(phone));
        let current = self.read_guard(&key).await?;
        if current.1.is_none() || current.0.is_clear() {
            return Ok(false);
        }
        self.update_guard(&key, current, |g| Ok((g.after_success(), ())))
            .await?;
        Ok(true)
    }

    /// Stores `account` as the account under `key`: a new one, or in place of a closed one.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyEnrolled`] when an active or suspended account is there.
    pub(super) async fn create_account(&self, key: &Key, account: &Account) -> Result<(), Error> {
        let record = account.encode(&self.keys, key);
        let mut expected = None;
        for _ in 0..MAX_RACES {
            if self.try_put(key, expected, record.clone()).await?.is_some() {
                return Ok(());
            }
            expected = match self.read(key).await? {
                Some(entry) => {
                    let stored = Account::decode(&self.keys, key, entry.value())?;
                    if stored.status() != AccountStatus::Closed {
                        return Err(Error::AlreadyEnrolled);
                    }
                    Some(entry.version())
                }
                None => None,
            };
        }
        Err(Error::Conflict)
    }

    /// Applies `decide` to the account of `phone` by compare-and-swap, reading again after a
    /// lost race; `decide` answers `None` when there is nothing to write. Whether it wrote.
    async fn update_account(
        &self,
        phone: &PhoneNumber,
        decide: impl Fn(Account) -> Result<Option<Account>, Error>,
    ) -> Result<bool, Error> {
        let key = self.account_key(phone);
        for _ in 0..MAX_RACES {
            let (account, version) = self.read_account(&key).await?;
            let Some(next) = decide(account)? else {
                return Ok(false);
            };
            let record = next.encode(&self.keys, &key);
            if self.try_put(&key, Some(version), record).await?.is_some() {
                return Ok(true);
            }
        }
        Err(Error::Conflict)
    }

    /// The account under `key`, verified and read whole, and its version.
    async fn read_account(&self, key: &Key) -> Result<(Account, Version), Error> {
        let entry = self.read(key).await?.ok_or(Error::NotEnrolled)?;
        let account = Account::decode(&self.keys, key, entry.value())?;
        Ok((account, entry.version()))
    }

    pub(super) fn account_key(&self, phone: &PhoneNumber) -> Key {
        Key::account(&self.keys.account_index(phone))
    }

    /// Hands an event of the number `phone` to the sink.
    pub(super) fn emit_for(&self, phone: &PhoneNumber, kind: EventKind) {
        self.emit(|| Event::number(kind, phone, self.clock.now()));
    }
}

/// `Err(AccountClosed)` for a closed account.
fn still_open(account: &Account) -> Result<(), Error> {
    match account.status() {
        AccountStatus::Closed => Err(Error::AccountClosed),
        AccountStatus::Active | AccountStatus::Suspended => Ok(()),
    }
}
