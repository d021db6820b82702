//! What [`Bank::refund`](crate::Bank::refund) receives and answers.

use crate::ids::PaymentId;
use crate::money::Amount;
use crate::order::MerchantId;
use crate::payment::{RefundKey, RefundReason};

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
