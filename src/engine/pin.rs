//! Enrollment and the PIN check.

use crate::Error;
use crate::account::{ACCOUNT_RECORD, Account};
use crate::events::{Event, EventKind};
use crate::funding::FundingSource;
use crate::guard::Failure;
use crate::host::{Bank, Clock, Entry, Key, SmsGateway, Store, Timestamp, Version};
use crate::payment::transitions::pin_verified;
use crate::payment::{Initiated, Payment, PinCheck, PinVerified};
use crate::phone::PhoneNumber;
use crate::secret::Pin;
use crate::weak_pin::check_new_pin;

use super::{Engine, MAX_RACES};

/// What a PIN check found.
enum Found {
    /// No account for the number: answered exactly like a wrong PIN.
    Unknown,
    /// An account, and a wrong PIN.
    Wrong,
    /// The right PIN, the account's funding source, and the account re-hashed under the
    /// current key (with the version to replace) when its PIN hash was made under an older one.
    Right {
        funding: FundingSource,
        rehash: Option<(Vec<u8>, Version)>,
    },
}

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Enrolls `phone` with `pin` and the account to debit.
    ///
    /// For hosts that have verified by their own means that the person holds `phone` (a signed
    /// contract, a bank's strong authentication). The PIN is stored only as a salted, peppered
    /// HMAC.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`] when the PIN's length is outside the policy's range,
    /// [`Error::WeakPin`] when it follows a pattern too easy to guess ([`WeakPinRule`](crate::WeakPinRule)),
    /// [`Error::AlreadyEnrolled`] when the number has an account, [`Error::Storage`].
    pub async fn enroll(
        &self,
        phone: &PhoneNumber,
        pin: &Pin,
        funding: FundingSource,
    ) -> Result<(), Error> {
        check_new_pin(pin, &self.policy)?;
        let key = Key::account(&self.keys.account_index(phone));
        let account = Account::new(&self.keys, pin, funding, self.clock.now());
        match self
            .try_put(&key, None, account.encode(&self.keys, &key))
            .await?
        {
            Some(_) => Ok(()),
            None => Err(Error::AlreadyEnrolled),
        }
    }

    /// Checks the buyer's PIN for `payment`.
    ///
    /// A wrong PIN is an answer, not an error: [`PinCheck::Rejected`] with the attempts left
    /// before the number locks. The failure that reaches the policy's limit is
    /// [`Error::Locked`]. Failures count per number across all its payments, and an unknown
    /// number is answered exactly like a known one with a wrong PIN, after the same store calls
    /// and the same HMAC work, and locks the same way.
    ///
    /// Every attempt, right or wrong, is written to the number's guard by compare-and-swap, so
    /// attempts made in parallel are answered one at a time: once the lock is reached, no
    /// further attempt is answered, not even a right one.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] (now or already), [`Error::Expired`] (the payment is then `Failed`),
    /// [`Error::WrongState`] when the payment moved on meanwhile, [`Error::Tampered`],
    /// [`Error::Storage`], [`Error::Conflict`].
    pub async fn verify_pin(
        &self,
        payment: Payment<Initiated>,
        pin: &Pin,
    ) -> Result<PinCheck, Error> {
        let now = self.clock.now();
        if payment.is_expired(now) {
            return Err(self.expire(payment, now).await);
        }
        let index = self.keys.account_index(payment.phone());
        let guard_key = Key::guard(&index);
        let guard = self.read_guard(&guard_key).await?;
        guard.0.check_open(now)?;
        let account_key = Key::account(&index);
        let found = self.check_pin(&account_key, pin).await?;
        let policy = &self.policy;
        match found {
            Found::Right { funding, rehash } => {
                // The same write counts the SMS that `send_code` sends next, when the window
                // has room: one round trip fewer per checkout.
                let sms_counted = self
                    .update_guard(&guard_key, guard, |g| {
                        g.check_open(now)?;
                        let reset = g.after_success();
                        Ok(match reset.after_sms(now, policy) {
                            Ok(counted) => (counted, true),
                            Err(_) => (reset, false),
                        })
                    })
                    .await?;
                if let Some((record, version)) = rehash {
                    // Best effort: a lost race or a failed write leaves the old hash, which
                    // the ring still checks, to be re-made at the next right PIN.
                    let _ = self.try_put(&account_key, Some(version), record).await;
                }
                let verified = self
                    .mark_pin_verified(payment, funding, now, sms_counted)
                    .await?;
                self.emit(|| Event::payment(EventKind::PinVerified, &verified, now));
                Ok(PinCheck::Verified(verified))
            }
            Found::Unknown | Found::Wrong => {
                let failure = self.update_guard(&guard_key, guard, |g| {
                    g.check_open(now)?;
                    Ok(g.after_failure(now, policy))
                });
                let (kind, answer) = match failure.await? {
                    Failure::AttemptsLeft(attempts_left) => {
                        (EventKind::PinRejected { attempts_left }, Ok(attempts_left))
                    }
                    Failure::Locked(until) => (EventKind::Locked { until }, Err(until)),
                };
                self.emit(|| Event::payment(kind, &payment, now));
                match answer {
                    Ok(attempts_left) => Ok(PinCheck::Rejected {
                        payment,
                        attempts_left,
                    }),
                    Err(until) => Err(Error::Locked { until }),
                }
            }
        }
    }

    /// Checks `pin` against the account under `key`, with the same work for an unknown number
    /// and a wrong PIN: one record of the same size verified and read (the engine's decoy when
    /// there is no account), one PIN hash compared.
    async fn check_pin(&self, key: &Key, pin: &Pin) -> Result<Found, Error> {
        let entry = self.read(key).await?;
        // One path for both: the account's record, or the decoy when there is none. Both the
        // found record and the decoy are read whole and one is selected byte by byte into the
        // same place, so that the work and the memory touched do not depend on which it is.
        let (decoy_key, decoy) = (&self.decoy.0, self.decoy.1.as_slice());
        let found = entry.as_ref().map_or(decoy, Entry::value);
        if found.len() != ACCOUNT_RECORD || decoy.len() != ACCOUNT_RECORD {
            return Err(Error::Tampered);
        }
        let keep = 0u8.wrapping_sub(u8::from(entry.is_some()));
        let record_key = Key::select(key, decoy_key, keep).ok_or(Error::Tampered)?;
        let mut record = [0u8; ACCOUNT_RECORD];
        for ((to, mine), spare) in record.iter_mut().zip(found).zip(decoy) {
            *to = (mine & keep) | (spare & !keep);
        }
        let version = entry.map(|entry| entry.version());
        let account = Account::open(&self.keys, &record_key, &record)?;
        let right = account.pin_matches(&self.keys, pin)?;
        let Some(version) = version.filter(|_| right) else {
            // A wrong PIN, or no account (whatever the decoy said).
            return Ok(if version.is_some() {
                Found::Wrong
            } else {
                Found::Unknown
            });
        };
        let rehash = if account.needs_rehash(&self.keys) {
            let record = account.rehashed(&self.keys, pin)?.encode(&self.keys, key);
            Some((record, version))
        } else {
            None
        };
        Ok(Found::Right {
            funding: account.funding()?,
            rehash,
        })
    }

    async fn mark_pin_verified(
        &self,
        payment: Payment<Initiated>,
        funding: FundingSource,
        now: Timestamp,
        sms_counted: bool,
    ) -> Result<Payment<PinVerified>, Error> {
        let id = payment.id();
        let mut payment = payment;
        for _ in 0..MAX_RACES {
            if let Some(stored) = self
                .replace(pin_verified(payment, funding.clone(), now, sms_counted))
                .await?
            {
                return Ok(stored);
            }
            payment = self.resume::<Initiated>(id).await?;
        }
        Err(Error::Conflict)
    }
}
