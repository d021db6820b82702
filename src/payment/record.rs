//! The payment record: common fields, then the state's own.

use crate::Error;
use crate::codec::RecordByte;
use crate::codec::{Reader, Writer};
use crate::funding::FundingSource;
use crate::host::DeclineReason;
use crate::host::{Entry, Key};
use crate::ids::PaymentId;
use crate::keys::Keys;
use crate::money::Amount;
use crate::money::Currency;
use crate::order::Channel;
use crate::order::{Merchant, Order};
use crate::phone::PhoneNumber;
use crate::policy::Policy;
use crate::seal::{self, RecordKind};

use super::refund::Refund;
use super::refund_steps::MAX_REFUNDS;
use super::{
    AnyPayment, Authorized, CancelReason, Confirmed, Failed, FailureReason, Head, Initiated,
    OtpSent, Payment, PinVerified, Receipt, State,
};
use crate::error::StateKind;
use crate::keys::KeyedTag;
use crate::time::Timestamp;

/// How a state writes its own fields, after its byte.
pub(crate) trait StateRecord: State {
    const CODE: u8;
    fn write(&self, w: &mut Writer);

    /// Until when a payment in this state is kept once nothing is left to do on it: its end
    /// (the last time money moved, or its failure) plus its retention; `None` while it has
    /// not ended.
    fn kept_until(&self, _policy: &Policy) -> Option<Timestamp> {
        None
    }

    /// What is left for the engine to do on a payment in this state, without the buyer.
    fn work_left(&self) -> WorkLeft {
        match Self::KIND {
            StateKind::Initiated | StateKind::PinVerified | StateKind::OtpSent => {
                WorkLeft::AtExpiry
            }
            StateKind::Authorized | StateKind::Failed => WorkLeft::Soon,
            StateKind::Confirmed => WorkLeft::Nothing,
        }
    }
}

/// What is left for the engine to do on a record, which sets when it falls due.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WorkLeft {
    /// Expire it, at its time to live, unless the buyer finishes first.
    AtExpiry,
    /// Finish what its step began (a debit, a refund, giving back a spending share), after
    /// the step had its chance to. A failed payment whose share went back in its own write (a
    /// store that batches) has nothing left: the engine writes it with no due time.
    Soon,
    /// Nothing: it is finished, and due only when its retention is over.
    Nothing,
}

/// When `payment`, stored now, falls due: its expiry, a recovery delay after `now`, or, once
/// nothing is left to do, when its retention is over.
pub(crate) fn due_at<S: StateRecord>(
    payment: &Payment<S>,
    now: Timestamp,
    policy: &Policy,
) -> Option<Timestamp> {
    match payment.state.work_left() {
        WorkLeft::AtExpiry => Some(payment.head.expires_at),
        WorkLeft::Soon => Some(now.saturating_add(policy.recovery_delay)),
        WorkLeft::Nothing => payment.state.kept_until(policy),
    }
}

/// Until when `any` is kept: its end plus its retention, once it ended with nothing left to
/// do; `None` otherwise (open, authorized, or a refund pending).
pub(crate) fn kept_until(any: &AnyPayment, policy: &Policy) -> Option<Timestamp> {
    match any {
        AnyPayment::Confirmed(paid) => paid.state.kept_until(policy),
        AnyPayment::Failed(failed) => failed.state.kept_until(policy),
        AnyPayment::Initiated(_)
        | AnyPayment::PinVerified(_)
        | AnyPayment::OtpSent(_)
        | AnyPayment::Authorized(_) => None,
    }
}

/// The sealed record of `payment`.
pub(crate) fn encode<S: StateRecord>(payment: &Payment<S>, keys: &Keys) -> Vec<u8> {
    let mut w = seal::writer(RecordKind::Payment, keys);
    w.bytes(payment.head.id.as_bytes());
    w.text(payment.head.phone.as_str());
    let order = &payment.head.order;
    w.text(order.merchant().id().as_str());
    w.text(order.merchant().display_name());
    w.u64(order.amount().minor_units());
    w.coded(order.amount().currency());
    w.text(order.reference());
    w.coded(order.channel());
    w.time(payment.head.created_at);
    w.time(payment.head.expires_at);
    w.u8(S::CODE);
    payment.state.write(&mut w);
    seal::seal(w, keys, &payment.head.key)
}

/// The payment `id` stored as `entry` under `key` (the key of `id`), verified.
pub(crate) fn decode(
    keys: &Keys,
    key: Key,
    id: &PaymentId,
    entry: &Entry,
) -> Result<AnyPayment, Error> {
    let mut r = seal::open(keys, &key, RecordKind::Payment, entry.value())?;
    let head = read_head(&mut r, key, id, entry)?;
    let any = match r.u8()? {
        Initiated::CODE => head.with(Initiated::new()).into_any(),
        PinVerified::CODE => head.with(read_pin_verified(&mut r)?).into_any(),
        OtpSent::CODE => head.with(read_otp_sent(&mut r)?).into_any(),
        Authorized::CODE => head.with(read_authorized(&mut r)?).into_any(),
        Confirmed::CODE => {
            let state = read_confirmed(&mut r, &head)?;
            head.with(state).into_any()
        }
        Failed::CODE => head.with(read_failed(&mut r)?).into_any(),
        _ => return Err(Error::Tampered),
    };
    r.finish()?;
    Ok(any)
}

/// The fields every state shares, read before the state's own.
fn read_head(r: &mut Reader<'_>, key: Key, id: &PaymentId, entry: &Entry) -> Result<Head, Error> {
    let stored_id = r.array::<16>()?;
    if &stored_id != id.as_bytes() {
        return Err(Error::Tampered);
    }
    // The record verified, so its values are the engine's own: they are checked for shape
    // (a record is still refused rather than trusted blindly), not parsed again from text.
    let phone = PhoneNumber::from_record(r.text()?).ok_or(Error::Tampered)?;
    let merchant = Merchant::from_record(r.text()?, r.text()?).ok_or(Error::Tampered)?;
    let minor_units = r.u64()?;
    let currency = r.coded()?;
    let amount = valid(Amount::new(minor_units, currency))?;
    let reference = r.text()?;
    let channel = r.coded()?;
    let order = Order::from_record(merchant, amount, reference, channel).ok_or(Error::Tampered)?;
    Ok(Head {
        id: *id,
        key,
        order,
        phone,
        created_at: r.time()?,
        expires_at: r.time()?,
        version: entry.version(),
    })
}

/// A value the record decoded but its constructor refused: the record is not one the engine
/// wrote.
fn valid<T>(value: Result<T, Error>) -> Result<T, Error> {
    value.map_err(|_| Error::Tampered)
}

impl StateRecord for Initiated {
    const CODE: u8 = 1;
    fn write(&self, _: &mut Writer) {}
}

impl StateRecord for PinVerified {
    const CODE: u8 = 2;
    fn write(&self, w: &mut Writer) {
        self.funding.write(w);
        w.time(self.verified_at);
        w.flags([self.sms_counted, self.exempt]);
    }
}

fn read_pin_verified(r: &mut Reader<'_>) -> Result<PinVerified, Error> {
    let funding = FundingSource::read(r)?;
    let verified_at = r.time()?;
    let [sms_counted, exempt] = r.flags()?;
    Ok(PinVerified {
        funding,
        verified_at,
        sms_counted,
        exempt,
    })
}

impl StateRecord for OtpSent {
    const CODE: u8 = 3;
    fn write(&self, w: &mut Writer) {
        self.funding.write(w);
        w.u8(self.code.key_id);
        w.bytes(&self.code.tag);
        w.time(self.code_expires_at);
        w.u8(self.attempts_left);
        w.u8(self.resends_left);
        w.time(self.last_sent_at);
    }
}

fn read_otp_sent(r: &mut Reader<'_>) -> Result<OtpSent, Error> {
    Ok(OtpSent {
        funding: FundingSource::read(r)?,
        code: KeyedTag {
            key_id: r.u8()?,
            tag: r.array()?,
        },
        code_expires_at: r.time()?,
        attempts_left: r.u8()?,
        resends_left: r.u8()?,
        last_sent_at: r.time()?,
    })
}

impl StateRecord for Authorized {
    const CODE: u8 = 4;
    fn write(&self, w: &mut Writer) {
        self.funding.write(w);
        w.time(self.authorized_at);
        w.flags([self.exempt]);
    }
}

fn read_authorized(r: &mut Reader<'_>) -> Result<Authorized, Error> {
    Ok(Authorized {
        funding: FundingSource::read(r)?,
        authorized_at: r.time()?,
        exempt: {
            let [exempt] = r.flags()?;
            exempt
        },
    })
}

impl StateRecord for Confirmed {
    const CODE: u8 = 5;
    fn write(&self, w: &mut Writer) {
        w.text(&self.receipt.bank_reference);
        w.time(self.receipt.confirmed_at);
        w.flags([self.receipt.exempt]);
        w.list(&self.refunds, MAX_REFUNDS, |w, refund| refund.write(w));
    }

    fn work_left(&self) -> WorkLeft {
        if self.refunds.iter().any(Refund::is_pending) {
            WorkLeft::Soon
        } else {
            WorkLeft::Nothing
        }
    }

    /// Money may still come back on a confirmed payment (a return, a refund): it is kept
    /// `confirmed_payment_retention` after the last time money moved on it, its confirmation
    /// or its latest refund, and never while a refund is pending.
    fn kept_until(&self, policy: &Policy) -> Option<Timestamp> {
        if self.refunds.iter().any(Refund::is_pending) {
            return None;
        }
        let last_moved = self
            .refunds
            .iter()
            .flat_map(|refund| [Some(refund.requested_at()), refund.refunded_at()])
            .flatten()
            .fold(self.receipt.confirmed_at, Timestamp::max);
        Some(last_moved.saturating_add(policy.confirmed_payment_retention))
    }
}

fn read_confirmed(r: &mut Reader<'_>, head: &Head) -> Result<Confirmed, Error> {
    let receipt = Receipt {
        payment_id: head.id,
        amount: head.order.amount(),
        merchant: head.order.merchant().id().clone(),
        order_reference: head.order.reference().to_owned(),
        bank_reference: r.text()?.to_owned(),
        confirmed_at: r.time()?,
        exempt: {
            let [exempt] = r.flags()?;
            exempt
        },
    };
    let count = r.count(MAX_REFUNDS)?;
    let currency = head.order.amount().currency();
    let refunds = (0..count)
        .map(|_| Refund::read(r, currency))
        .collect::<Result<_, _>>()?;
    Ok(Confirmed { receipt, refunds })
}

impl StateRecord for Failed {
    const CODE: u8 = 6;
    fn write(&self, w: &mut Writer) {
        write_failure(w, self.reason);
        w.time(self.failed_at);
    }

    /// No money moved: kept `failed_payment_retention` after it failed. Its share of the
    /// spending limits is given back before (the write of the failure, or the recovery that
    /// follows it), so a payment removed holds none.
    fn kept_until(&self, policy: &Policy) -> Option<Timestamp> {
        Some(
            self.failed_at
                .saturating_add(policy.failed_payment_retention),
        )
    }
}

/// A failure reason: its byte, then its cause's when it has one.
pub(crate) fn write_failure(w: &mut Writer, reason: FailureReason) {
    match reason {
        FailureReason::Expired => w.u8(1),
        FailureReason::Cancelled(reason) => {
            w.u8(2);
            w.coded(reason);
        }
        FailureReason::TooManyAttempts => w.u8(3),
        FailureReason::Declined(reason) => {
            w.u8(4);
            w.coded(reason);
        }
    }
}

/// A failure reason as [`write_failure`] wrote it.
pub(crate) fn read_failure(r: &mut Reader<'_>) -> Result<FailureReason, Error> {
    Ok(match r.u8()? {
        1 => FailureReason::Expired,
        2 => FailureReason::Cancelled(r.coded()?),
        3 => FailureReason::TooManyAttempts,
        4 => FailureReason::Declined(r.coded()?),
        _ => return Err(Error::Tampered),
    })
}

fn read_failed(r: &mut Reader<'_>) -> Result<Failed, Error> {
    Ok(Failed {
        reason: read_failure(r)?,
        failed_at: r.time()?,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_enums_have_a_byte_per_value() {
        crate::codec::assert_one_byte_per_value::<Currency>();
        crate::codec::assert_one_byte_per_value::<Channel>();
        crate::codec::assert_one_byte_per_value::<CancelReason>();
        crate::codec::assert_one_byte_per_value::<DeclineReason>();
    }
}
