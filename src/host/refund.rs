//! What [`Bank::refund`](crate::Bank::refund) receives and answers.

use core::fmt;
use core::str::FromStr;

use crate::Error;
use crate::display_text::TextError;
use crate::ids::PaymentId;
use crate::money::Amount;
use crate::order::MerchantId;

/// The merchant's name for one refund: 1 to 40 ASCII letters, digits, `.`, `_`, `:` or `-`.
///
/// A refund is idempotent on its key: asking again with the same key (after a timeout, a
/// crash, a retry) never refunds twice. Use a new key for each refund meant.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct RefundKey(String);

impl RefundKey {
    /// The longest key.
    pub const MAX_LEN: usize = 40;

    /// The key text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RefundKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        let refuse = |e| Err(Error::InvalidRefundKey(e));
        if s.is_empty() {
            refuse(TextError::Empty)
        } else if s.len() > Self::MAX_LEN {
            refuse(TextError::TooLong { max: Self::MAX_LEN })
        } else if !s.bytes().all(allowed) {
            refuse(TextError::ForbiddenCharacter)
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

impl fmt::Display for RefundKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a merchant refunds, for the record and the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefundReason {
    /// The buyer sent the goods back.
    Returned,
    /// The goods or the service never came.
    NotDelivered,
    /// The buyer paid twice for the same thing.
    Duplicate,
    /// The payment was fraudulent.
    Fraud,
    /// A commercial gesture, or anything else.
    Goodwill,
}

impl fmt::Display for RefundReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Returned => "returned",
            Self::NotDelivered => "not delivered",
            Self::Duplicate => "duplicate",
            Self::Fraud => "fraud",
            Self::Goodwill => "goodwill",
        })
    }
}

/// A refund of (part of) a debited payment, under its own idempotency key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefundRequest {
    pub(crate) payment_id: PaymentId,
    pub(crate) idempotency_key: String,
    pub(crate) refund_key: RefundKey,
    pub(crate) amount: Amount,
    pub(crate) merchant: MerchantId,
    pub(crate) reference: String,
    pub(crate) debit_reference: String,
    pub(crate) reason: RefundReason,
}

impl RefundRequest {
    /// The payment refunded.
    #[must_use]
    pub fn payment_id(&self) -> PaymentId {
        self.payment_id
    }

    /// The key the bank MUST deduplicate on: the payment id and the merchant's refund key,
    /// `<payment id>/refund/<refund key>`, the same for every attempt at this refund and
    /// distinct from the debit's.
    #[must_use]
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    /// The merchant's key for this refund.
    #[must_use]
    pub fn refund_key(&self) -> &RefundKey {
        &self.refund_key
    }

    /// The amount to give back: at most what was debited, less the other refunds.
    #[must_use]
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The merchant who refunds.
    #[must_use]
    pub fn merchant(&self) -> &MerchantId {
        &self.merchant
    }

    /// The merchant's order reference, for the statement.
    #[must_use]
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The bank's reference of the debit refunded, from its receipt.
    #[must_use]
    pub fn debit_reference(&self) -> &str {
        &self.debit_reference
    }

    /// Why the merchant refunds.
    #[must_use]
    pub fn reason(&self) -> RefundReason {
        self.reason
    }
}

/// The bank's acknowledgement of a refund.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefundReceipt {
    reference: String,
}

impl RefundReceipt {
    /// A receipt with the bank's reference of the refund. A payment keeps its first 64 bytes.
    #[must_use]
    pub fn new(reference: impl Into<String>) -> Self {
        Self {
            reference: reference.into(),
        }
    }

    /// The bank's reference of the refund.
    #[must_use]
    pub fn reference(&self) -> &str {
        &self.reference
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_refuse_what_a_header_or_a_url_would_not_carry() {
        assert_eq!(
            "RMA-2026:0042".parse::<RefundKey>().unwrap().as_str(),
            "RMA-2026:0042"
        );
        for (bad, expected) in [
            ("", TextError::Empty),
            ("a b", TextError::ForbiddenCharacter),
            ("a/b", TextError::ForbiddenCharacter),
            ("é", TextError::ForbiddenCharacter),
        ] {
            assert!(
                matches!(bad.parse::<RefundKey>(), Err(Error::InvalidRefundKey(e)) if e == expected),
                "{bad:?}"
            );
        }
        assert!(matches!(
            "k".repeat(41).parse::<RefundKey>(),
            Err(Error::InvalidRefundKey(TextError::TooLong { max: 40 }))
        ));
        assert!("k".repeat(40).parse::<RefundKey>().is_ok());
    }
}
