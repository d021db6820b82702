//! The byte each stored enum is written as: one table per enum, here and nowhere else.
//!
//! A byte once given to a value is never given to another: records written by an earlier
//! release must read back as they were.

use crate::account::AccountStatus;
use crate::enrollment::EnrollmentFailure;
use crate::host::{DeclineReason, RefundReason};
use crate::money::Currency;
use crate::order::Channel;
use crate::payment::CancelReason;

/// An enum stored as one byte of a record: every value, and the byte of each.
pub(crate) trait RecordByte: Copy + PartialEq + Sized + 'static {
    /// Every value of the enum.
    const ALL: &'static [Self];

    /// The value's byte; an exhaustive match, so that a new value cannot be left without one.
    fn byte(self) -> u8;

    /// The value written as `byte`, if any.
    fn from_byte(byte: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.byte() == byte)
    }
}

impl RecordByte for Currency {
    const ALL: &'static [Self] = &[Self::EUR, Self::GBP, Self::CHF, Self::USD];

    fn byte(self) -> u8 {
        match self {
            Self::EUR => 1,
            Self::GBP => 2,
            Self::CHF => 3,
            Self::USD => 4,
        }
    }
}

impl RecordByte for Channel {
    const ALL: &'static [Self] = &[Self::Web, Self::Mobile, Self::Tv];

    fn byte(self) -> u8 {
        match self {
            Self::Web => 0,
            Self::Mobile => 1,
            Self::Tv => 2,
        }
    }
}

impl RecordByte for AccountStatus {
    const ALL: &'static [Self] = &[Self::Active, Self::Suspended, Self::Closed];

    fn byte(self) -> u8 {
        match self {
            Self::Active => 1,
            Self::Suspended => 2,
            Self::Closed => 3,
        }
    }
}

impl RecordByte for CancelReason {
    const ALL: &'static [Self] = &[Self::Buyer, Self::Merchant, Self::Fraud];

    fn byte(self) -> u8 {
        match self {
            Self::Buyer => 1,
            Self::Merchant => 2,
            Self::Fraud => 3,
        }
    }
}

impl RecordByte for DeclineReason {
    const ALL: &'static [Self] = &[
        Self::InsufficientFunds,
        Self::AccountClosed,
        Self::LimitExceeded,
        Self::SuspectedFraud,
        Self::Refused,
    ];

    fn byte(self) -> u8 {
        match self {
            Self::InsufficientFunds => 1,
            Self::AccountClosed => 2,
            Self::LimitExceeded => 3,
            Self::SuspectedFraud => 4,
            Self::Refused => 5,
        }
    }
}

impl RecordByte for RefundReason {
    const ALL: &'static [Self] = &[
        Self::Returned,
        Self::NotDelivered,
        Self::Duplicate,
        Self::Fraud,
        Self::Goodwill,
    ];

    fn byte(self) -> u8 {
        match self {
            Self::Returned => 1,
            Self::NotDelivered => 2,
            Self::Duplicate => 3,
            Self::Fraud => 4,
            Self::Goodwill => 5,
        }
    }
}

impl RecordByte for EnrollmentFailure {
    const ALL: &'static [Self] = &[Self::Expired, Self::TooManyAttempts, Self::AlreadyEnrolled];

    fn byte(self) -> u8 {
        match self {
            Self::Expired => 1,
            Self::TooManyAttempts => 2,
            Self::AlreadyEnrolled => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value reads back from its byte, no two share one, and no other byte reads.
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "an index into a list of a few values"
    )]
    fn each_byte_names_one_value<T: RecordByte + core::fmt::Debug>() {
        for (i, value) in T::ALL.iter().enumerate() {
            assert_eq!(T::from_byte(value.byte()), Some(*value));
            for other in &T::ALL[i + 1..] {
                assert_ne!(value.byte(), other.byte(), "{value:?} and {other:?}");
            }
        }
        let used = T::ALL.iter().map(|value| value.byte()).collect::<Vec<_>>();
        for byte in (0..=u8::MAX).filter(|byte| !used.contains(byte)) {
            assert_eq!(T::from_byte(byte), None);
        }
    }

    #[test]
    fn every_stored_enum_has_a_byte_per_value() {
        each_byte_names_one_value::<Currency>();
        each_byte_names_one_value::<Channel>();
        each_byte_names_one_value::<AccountStatus>();
        each_byte_names_one_value::<CancelReason>();
        each_byte_names_one_value::<DeclineReason>();
        each_byte_names_one_value::<RefundReason>();
        each_byte_names_one_value::<EnrollmentFailure>();
    }
}
