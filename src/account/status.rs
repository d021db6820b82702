//! What the host and the buyer see of an account: its [`AccountStatus`], its
//! [`AccountDetails`], and the answer to a PIN change.

use core::fmt;

use crate::funding::FundingSource;
use crate::time::Timestamp;

/// Whether an account may pay.
///
/// Only an active account passes a PIN check. A suspended or closed one is answered exactly
/// like a number that has no account (a rejected PIN, counted towards the lock), so that its
/// status cannot be learned from the checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccountStatus {
    /// The account pays.
    Active,
    /// Paused by the host (a fraud check, a dispute); [`BackOffice::set_status`] makes it active
    /// again.
    ///
    /// [`BackOffice::set_status`]: crate::BackOffice::set_status
    Suspended,
    /// Closed for good: nothing reopens it. The number may be enrolled again, as a new
    /// account.
    Closed,
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Closed => "closed",
        })
    }
}

/// An account as the host's back office sees it (see [`BackOffice::account`]); never the PIN or
/// its hash.
///
/// [`BackOffice::account`]: crate::BackOffice::account
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDetails {
    pub(crate) status: AccountStatus,
    pub(crate) funding: FundingSource,
    pub(crate) enrolled_at: Timestamp,
}

impl AccountDetails {
    /// Whether the account may pay.
    #[must_use]
    pub fn status(&self) -> AccountStatus {
        self.status
    }

    /// The account that payments debit. Its `Debug` is masked.
    #[must_use]
    pub fn funding_source(&self) -> &FundingSource {
        &self.funding
    }

    /// When the account was created.
    #[must_use]
    pub fn enrolled_at(&self) -> Timestamp {
        self.enrolled_at
    }
}

/// The answer to [`Engine::change_pin`](crate::Engine::change_pin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two answers to a PIN change: a host handles each"
)]
pub enum PinChange {
    /// The old PIN was right: the new one is in force.
    Changed,
    /// The old PIN was wrong (or the number has no active account: the same answer);
    /// `attempts_left` more wrong PINs lock the number, as at a checkout (at least 1), with
    /// `next_lock`.
    Rejected {
        /// Wrong PINs left before the lock.
        attempts_left: u8,
        /// The lock they lead to: when it is [`NextLock::Permanent`](crate::NextLock), warn the
        /// payer before it is reached.
        next_lock: crate::guard::NextLock,
    },
}
