//! The [`Bank`] trait: one idempotent debit per payment, and idempotent refunds.

use core::fmt;
use core::future::Future;

use crate::funding::FundingSource;
use crate::ids::PaymentId;
use crate::money::Amount;
use crate::order::MerchantId;

use super::refund::{RefundReceipt, RefundRequest};

/// What to debit, from whom, for whom, under which idempotency key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DebitRequest {
    payment_id: PaymentId,
    idempotency_key: String,
    amount: Amount,
    merchant: MerchantId,
    reference: String,
    funding_source: FundingSource,
}

impl DebitRequest {
    pub(crate) fn new(
        payment_id: PaymentId,
        amount: Amount,
        merchant: MerchantId,
        reference: String,
        funding_source: FundingSource,
    ) -> Self {
        Self {
            payment_id,
            idempotency_key: payment_id.to_string(),
            amount,
            merchant,
            reference,
            funding_source,
        }
    }

    /// The payment being settled.
    #[must_use]
    pub fn payment_id(&self) -> PaymentId {
        self.payment_id
    }

    /// The key the bank MUST deduplicate on: the payment id, the same for every attempt at
    /// this payment.
    #[must_use]
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    /// The amount to debit.
    #[must_use]
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The merchant credited.
    #[must_use]
    pub fn merchant(&self) -> &MerchantId {
        &self.merchant
    }

    /// The merchant's order reference, for the statement.
    #[must_use]
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The buyer's account to debit.
    #[must_use]
    pub fn funding_source(&self) -> &FundingSource {
        &self.funding_source
    }
}

/// The bank's acknowledgement of a debit.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DebitReceipt {
    reference: String,
}

impl DebitReceipt {
    /// A receipt with the bank's transaction reference. A payment's receipt keeps its first 255
    /// bytes.
    #[must_use]
    pub fn new(reference: impl Into<String>) -> Self {
        Self {
            reference: reference.into(),
        }
    }

    /// The bank's transaction reference.
    #[must_use]
    pub fn reference(&self) -> &str {
        &self.reference
    }
}

/// Why the bank refused a debit. Final: the payment fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeclineReason {
    /// Not enough money on the account.
    InsufficientFunds,
    /// The account is closed or blocked.
    AccountClosed,
    /// A limit of the account would be exceeded.
    LimitExceeded,
    /// The bank suspects fraud.
    SuspectedFraud,
    /// Refused without a more precise reason.
    Refused,
}

impl fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InsufficientFunds => "insufficient funds",
            Self::AccountClosed => "account closed",
            Self::LimitExceeded => "limit exceeded",
            Self::SuspectedFraud => "suspected fraud",
            Self::Refused => "refused",
        })
    }
}

/// Why a debit or a refund did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BankError {
    /// The bank refused the debit: final, the payment fails.
    #[error("declined: {0}")]
    Declined(DeclineReason),
    /// No answer, or an answer that does not say: the debit may or may not have happened.
    /// The payment stays `Authorized` and is settled again with the same idempotency key.
    #[error("the bank is unavailable; the outcome is unknown")]
    Unavailable,
}

/// Debits the buyer's account: the host's bank, payment service provider or ledger.
///
/// # Contract
///
/// - `debit` MUST be idempotent on [`DebitRequest::idempotency_key`]: a request repeating a key
///   MUST NOT move money again and MUST return the first outcome that was decided for that key
///   (the same receipt, or the same decline).
/// - `Ok` MUST mean the money moved; [`BankError::Declined`] MUST mean it did not and will not
///   for this key.
/// - When the outcome is unknown (timeout, connection lost, 5xx), return
///   [`BankError::Unavailable`]: the engine keeps the payment `Authorized` and retries with the
///   same key.
/// - The bank MUST remember a key for as long as its payment may stay `Authorized`, that is
///   until the host's recovery job has settled it. Many providers keep keys for 24 hours: run
///   recovery well within that.
/// - `refund` follows the same contract on [`RefundRequest::idempotency_key`], distinct from
///   the debit's: `Ok` MUST mean the money went back, a repeated key MUST NOT move money again
///   and MUST return the first outcome, and an unknown outcome is
///   [`BankError::Unavailable`] (the engine keeps the refund pending and asks again with the
///   same key when the merchant does). The bank SHOULD refuse a refund of more than it debited
///   for the payment, less its earlier refunds (the engine never asks for one).
pub trait Bank: Send + Sync {
    /// Debits `request.amount()` from `request.funding_source()`.
    fn debit(
        &self,
        request: &DebitRequest,
    ) -> impl Future<Output = Result<DebitReceipt, BankError>> + Send;

    /// Gives `request.amount()` back to the account the payment `request.payment_id()` debited.
    ///
    /// The default declines every refund ([`DeclineReason::Refused`]), for integrations that
    /// only take payments: nothing moves, and the refund is recorded declined.
    fn refund(
        &self,
        request: &RefundRequest,
    ) -> impl Future<Output = Result<RefundReceipt, BankError>> + Send {
        let _ = request;
        core::future::ready(Err(BankError::Declined(DeclineReason::Refused)))
    }
}
