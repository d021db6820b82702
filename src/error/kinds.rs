//! The kinds an [`Error`](crate::Error) names: the state a payment or an enrollment was found
//! in, and the spending limit a payment would exceed.

use core::fmt;

/// The state a payment is in, as a plain value (see [`Payment::kind`](crate::Payment::kind)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_enums,
    reason = "one variant per payment state: a new state is one every host must handle"
)]
pub enum StateKind {
    /// Created; waiting for the buyer's PIN.
    Initiated,
    /// The PIN was right; no code sent yet.
    PinVerified,
    /// A code was sent; waiting for the buyer to type it.
    OtpSent,
    /// The code was right and consumed; the debit is due (or in flight).
    Authorized,
    /// The buyer was debited; terminal.
    Confirmed,
    /// Expired, cancelled, too many wrong codes, or declined; terminal.
    Failed,
}

impl StateKind {
    /// Whether no transition leaves this state.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed)
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Initiated => "initiated",
            Self::PinVerified => "pin verified",
            Self::OtpSent => "otp sent",
            Self::Authorized => "authorized",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
        })
    }
}

/// The state an enrollment is in, as a plain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_enums,
    reason = "one variant per enrollment state: a new state is one every host must handle"
)]
pub enum EnrollmentKind {
    /// The code was sent; waiting for it, the PIN and the funding source.
    CodeSent,
    /// The code was right, and is used up; the account is being made. An enrollment stays here
    /// only when the call that typed the code failed before the end (a storage error).
    Accepted,
    /// The code was right and the account made; terminal.
    Enrolled,
    /// Expired, too many wrong codes, or the number already had an account; terminal.
    Failed,
}

impl fmt::Display for EnrollmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CodeSent => "code sent",
            Self::Accepted => "code accepted",
            Self::Enrolled => "enrolled",
            Self::Failed => "failed",
        })
    }
}

/// Which spending limit a payment would exceed (see [`Error::LimitExceeded`](crate::Error::LimitExceeded)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpendingLimit {
    /// The most one payment may be: [`Policy::max_per_payment`](crate::Policy::max_per_payment).
    PerPayment,
    /// The most reserved over any 24 hours: [`Policy::max_per_24_hours`](crate::Policy::max_per_24_hours).
    Per24Hours,
    /// The most reserved over any 30 days: [`Policy::max_per_30_days`](crate::Policy::max_per_30_days).
    Per30Days,
}

impl fmt::Display for SpendingLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PerPayment => "per-payment",
            Self::Per24Hours => "24-hour",
            Self::Per30Days => "30-day",
        })
    }
}
