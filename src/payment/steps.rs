//! The pure steps of the checkout: state, input and time in, next state out. No I/O; the
//! engine loads, calls one of these, and writes the result with compare-and-swap.

use crate::Error;
use crate::display_text;
use crate::funding::FundingSource;
use crate::host::{DebitReceipt, DebitRequest};
use crate::keys::Keys;
use crate::policy::Policy;
use crate::secret::OtpCode;
use crate::time::Timestamp;

use super::{
    Authorized, Confirmed, Failed, FailureReason, Initiated, OtpSent, Payment, PinVerified,
    Receipt, State,
};
use crate::keys::KeyedTag;

/// What a typed code leads to.
#[derive(Debug)]
pub(crate) enum CodeStep {
    /// Right: the code is consumed and the payment authorized.
    Right(Payment<Authorized>),
    /// Wrong, with attempts left.
    Wrong(Payment<OtpSent>),
    /// Wrong, and the last attempt: the payment fails.
    Exhausted(Payment<Failed>),
}

/// `payment` failed for `reason` at `now`.
pub(crate) fn failed<S: State>(
    payment: Payment<S>,
    reason: FailureReason,
    now: Timestamp,
) -> Payment<Failed> {
    payment.with_state(Failed {
        reason,
        failed_at: now,
    })
}

/// What the right PIN's guard write decided for the payment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Accepted {
    /// Whether the code's SMS was counted in the number's window already.
    sms_counted: bool,
    /// Whether the payment may go without a code (the low-value exemption).
    exempt: bool,
}

impl Accepted {
    pub(crate) const fn new(sms_counted: bool, exempt: bool) -> Self {
        Self {
            sms_counted,
            exempt,
        }
    }
}

/// The PIN was right: the account's funding source is fixed for this payment.
pub(crate) fn pin_verified(
    payment: Payment<Initiated>,
    funding: FundingSource,
    now: Timestamp,
    accepted: Accepted,
) -> Payment<PinVerified> {
    payment.with_state(PinVerified {
        funding,
        verified_at: now,
        sms_counted: accepted.sms_counted,
        exempt: accepted.exempt,
    })
}

/// The exempt payment is authorized without a code at `now`.
pub(crate) fn authorized_exempt(
    payment: Payment<PinVerified>,
    now: Timestamp,
) -> Payment<Authorized> {
    let funding = payment.state.funding.clone();
    payment.with_state(Authorized {
        funding,
        authorized_at: now,
        exempt: true,
    })
}

/// The tag of `code` for `payment`, under the current key.
fn tag(payment: &Payment<impl State>, code: &OtpCode, keys: &Keys) -> KeyedTag {
    let set = keys.current();
    set.keyed(bound_to(payment, |binding| set.code_tag(binding, code)))
}

/// What a code's tag binds of `payment`, handed to `tag`: its id, its amount and currency, its
/// merchant (PSD2 dynamic linking).
pub(crate) fn bound_to<T>(payment: &Payment<impl State>, tag: impl FnOnce([&[u8]; 4]) -> T) -> T {
    let amount = payment.head.order.amount();
    let minor_units = amount.minor_units().to_be_bytes();
    tag([
        payment.head.id.as_bytes(),
        &minor_units,
        amount.currency().code().as_bytes(),
        payment.head.order.merchant().id().as_str().as_bytes(),
    ])
}

/// When a code sent at `now` expires: after the policy's code TTL, and never after the payment.
fn code_expiry<S: State>(payment: &Payment<S>, now: Timestamp, policy: &Policy) -> Timestamp {
    now.saturating_add(policy.code_ttl)
        .min(payment.head.expires_at)
}

/// The first code was sent at `now`.
pub(crate) fn code_sent(
    payment: Payment<PinVerified>,
    code: &OtpCode,
    now: Timestamp,
    keys: &Keys,
    policy: &Policy,
) -> Payment<OtpSent> {
    let state = OtpSent {
        code: tag(&payment, code, keys),
        code_expires_at: code_expiry(&payment, now, policy),
        attempts_left: policy.max_code_attempts,
        resends_left: policy.max_resends,
        last_sent_at: now,
        funding: payment.state.funding.clone(),
    };
    payment.with_state(state)
}

/// The code send failed: back to `PinVerified`, so that it can be sent again.
pub(crate) fn code_not_sent(
    payment: Payment<OtpSent>,
    verified_at: Timestamp,
) -> Payment<PinVerified> {
    let funding = payment.state.funding.clone();
    // Its code was sent: the code path it is, and its place in the exemption's streak stays
    // counted until a code ends the streak.
    payment.with_state(PinVerified {
        funding,
        verified_at,
        sms_counted: false,
        exempt: false,
    })
}

/// Whether a new code may be sent for `payment` at `now`.
pub(crate) fn check_resend(
    payment: &Payment<OtpSent>,
    now: Timestamp,
    policy: &Policy,
) -> Result<(), Error> {
    if payment.state.resends_left == 0 {
        return Err(Error::ResendLimit);
    }
    let retry_at = payment
        .state
        .last_sent_at
        .saturating_add(policy.resend_cooldown);
    if now < retry_at {
        return Err(Error::ResendTooSoon { retry_at });
    }
    Ok(())
}

/// A new code replaced the old one at `now`; wrong attempts still count for the payment.
pub(crate) fn code_resent(
    payment: Payment<OtpSent>,
    code: &OtpCode,
    now: Timestamp,
    keys: &Keys,
    policy: &Policy,
) -> Payment<OtpSent> {
    let state = OtpSent {
        code: tag(&payment, code, keys),
        code_expires_at: code_expiry(&payment, now, policy),
        attempts_left: payment.state.attempts_left,
        resends_left: payment.state.resends_left.saturating_sub(1),
        last_sent_at: now,
        funding: payment.state.funding.clone(),
    };
    payment.with_state(state)
}

/// `payment` with the code state of `previous` put back, after a resend that did not go out.
pub(crate) fn code_restored(payment: Payment<OtpSent>, previous: &OtpSent) -> Payment<OtpSent> {
    payment.with_state(previous.snapshot())
}

/// The buyer typed `code` at `now`. The payment must not be expired (the caller checks).
///
/// # Errors
///
/// [`Error::Expired`] when the code is past its TTL (the payment stays as it is);
/// [`Error::Tampered`] when the stored tag was made under a key these keys do not hold.
pub(crate) fn code_typed(
    payment: Payment<OtpSent>,
    code: &OtpCode,
    now: Timestamp,
    keys: &Keys,
) -> Result<CodeStep, Error> {
    if now >= payment.state.code_expires_at {
        return Err(Error::Expired);
    }
    if code_matches(&payment, code, keys)? {
        let funding = payment.state.funding.clone();
        return Ok(CodeStep::Right(payment.with_state(Authorized {
            funding,
            authorized_at: now,
            exempt: false,
        })));
    }
    let attempts_left = payment.state.attempts_left.saturating_sub(1);
    if attempts_left == 0 {
        return Ok(CodeStep::Exhausted(failed(
            payment,
            FailureReason::TooManyAttempts,
            now,
        )));
    }
    let state = OtpSent {
        attempts_left,
        code: payment.state.code.clone(),
        funding: payment.state.funding.clone(),
        ..payment.state
    };
    Ok(CodeStep::Wrong(payment.with_state(state)))
}

/// Whether `code` is the code in force for `payment`: one HMAC and a constant-time comparison
/// of tags, never of digits.
pub(crate) fn code_matches(
    payment: &Payment<OtpSent>,
    code: &OtpCode,
    keys: &Keys,
) -> Result<bool, Error> {
    let stored = &payment.state.code;
    let set = keys.by_id(stored.key_id).ok_or(Error::Tampered)?;
    let candidate = bound_to(payment, |binding| set.code_tag(binding, code));
    Ok(crate::crypto::tags_equal(&candidate, &stored.tag))
}

/// The debit of an authorized payment; its idempotency key is the payment id.
pub(crate) fn debit_request(payment: &Payment<Authorized>) -> DebitRequest {
    DebitRequest::new(
        payment.head.id,
        payment.head.order.amount(),
        payment.head.order.merchant().id().clone(),
        payment.head.order.reference().to_owned(),
        payment.state.funding.clone(),
    )
}

/// The bank debited the payment.
pub(crate) fn confirmed(
    payment: Payment<Authorized>,
    receipt: &DebitReceipt,
    now: Timestamp,
) -> Payment<Confirmed> {
    let receipt = Receipt {
        payment_id: payment.head.id,
        amount: payment.head.order.amount(),
        merchant: payment.head.order.merchant().id().clone(),
        order_reference: payment.head.order.reference().to_owned(),
        bank_reference: display_text::cut(receipt.reference(), MAX_BANK_REFERENCE).to_owned(),
        confirmed_at: now,
        exempt: payment.state.exempt,
    };
    payment.with_state(Confirmed {
        receipt,
        refunds: Vec::new(),
    })
}

/// The longest bank reference kept in a receipt, in bytes.
const MAX_BANK_REFERENCE: usize = 255;
