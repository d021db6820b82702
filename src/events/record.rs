//! An event's bytes in the store's outbox: sealed like every record, so that a row the engine
//! did not write is never delivered as an event of its own.
//!
//! ```text
//! id (16) | kind (1) | the kind's fields | at | masked phone | flags: payment, enrollment,
//!   amount, merchant | payment id (16) | enrollment id (16) | amount: minor units, currency
//!   | merchant id
//! ```

use crate::Error;
use crate::account::AccountStatus;
use crate::codec::{Reader, Writer};
use crate::enrollment::EnrollmentFailure;
use crate::error::SpendingLimit;
use crate::host::{DeclineReason, Key};
use crate::ids::{EnrollmentId, EventId, PaymentId};
use crate::keys::Keys;
use crate::money::{Amount, Currency};
use crate::order::MerchantId;
use crate::payment::{read_failure, write_failure};
use crate::seal::{self, RecordKind};

use super::{Event, EventKind};

/// The sealed bytes of `event`.
pub(crate) fn encode(event: &Event, keys: &Keys) -> Vec<u8> {
    let mut w = seal::writer(RecordKind::Event, keys);
    w.bytes(event.id.as_bytes());
    write_kind(&mut w, &event.kind);
    w.time(event.at);
    w.text(&event.phone);
    w.flags([
        event.payment.is_some(),
        event.enrollment.is_some(),
        event.amount.is_some(),
        event.merchant.is_some(),
    ]);
    if let Some(payment) = &event.payment {
        w.bytes(payment.as_bytes());
    }
    if let Some(enrollment) = &event.enrollment {
        w.bytes(enrollment.as_bytes());
    }
    if let Some(amount) = event.amount {
        write_amount(&mut w, amount);
    }
    if let Some(merchant) = &event.merchant {
        w.text(merchant.as_str());
    }
    seal::seal(w, keys, &Key::event(&event.id))
}

/// The event sealed in `bytes`.
///
/// # Errors
///
/// [`Error::Tampered`] when the bytes fail their seal or do not read as an event.
pub(crate) fn decode(bytes: &[u8], keys: &Keys) -> Result<Event, Error> {
    // The id is read before the seal is checked, to name the key the seal is bound to; nothing
    // read is used unless the seal holds.
    let id = bytes
        .get(3..19)
        .and_then(|id| <[u8; 16]>::try_from(id).ok())
        .map(EventId::from_bytes)
        .ok_or(Error::Tampered)?;
    let mut r = seal::open(keys, &Key::event(&id), RecordKind::Event, bytes)?;
    let stored_id = EventId::from_bytes(r.array::<16>()?);
    if stored_id != id {
        return Err(Error::Tampered);
    }
    let kind = read_kind(&mut r)?;
    let at = r.time()?;
    let phone = r.text()?.to_owned();
    let [payment, enrollment, amount, merchant] = r.flags()?;
    let payment = payment
        .then(|| r.array::<16>().map(PaymentId::from_bytes))
        .transpose()?;
    let enrollment = enrollment
        .then(|| r.array::<16>().map(EnrollmentId::from_bytes))
        .transpose()?;
    let amount = amount.then(|| read_amount(&mut r)).transpose()?;
    let merchant = merchant
        .then(|| {
            r.text()
                .and_then(|text| text.parse::<MerchantId>().map_err(|_| Error::Tampered))
        })
        .transpose()?;
    r.finish()?;
    Ok(Event {
        id,
        kind,
        at,
        phone,
        payment,
        enrollment,
        amount,
        merchant,
    })
}

fn write_amount(w: &mut Writer, amount: Amount) {
    w.u64(amount.minor_units());
    w.coded(amount.currency());
}

fn read_amount(r: &mut Reader<'_>) -> Result<Amount, Error> {
    let minor = r.u64()?;
    let currency: Currency = r.coded()?;
    Amount::new(minor, currency).map_err(|_| Error::Tampered)
}

fn write_limit(w: &mut Writer, limit: SpendingLimit) {
    w.u8(match limit {
        SpendingLimit::PerPayment => 1,
        SpendingLimit::Per24Hours => 2,
        SpendingLimit::Per30Days => 3,
    });
}

fn read_limit(r: &mut Reader<'_>) -> Result<SpendingLimit, Error> {
    Ok(match r.u8()? {
        1 => SpendingLimit::PerPayment,
        2 => SpendingLimit::Per24Hours,
        3 => SpendingLimit::Per30Days,
        _ => return Err(Error::Tampered),
    })
}

fn write_time_or_never(w: &mut Writer, at: Option<crate::time::Timestamp>) {
    w.flags([at.is_some()]);
    if let Some(at) = at {
        w.time(at);
    }
}

fn read_time_or_never(r: &mut Reader<'_>) -> Result<Option<crate::time::Timestamp>, Error> {
    let [some] = r.flags()?;
    some.then(|| r.time()).transpose()
}

/// The kind's byte, then its fields. A byte once given to a kind is never given to another.
fn write_kind(w: &mut Writer, kind: &EventKind) {
    match *kind {
        EventKind::EnrollmentStarted => w.u8(1),
        EventKind::EnrollmentCodeRejected { attempts_left } => {
            w.u8(2);
            w.u8(attempts_left);
        }
        EventKind::EnrollmentFailed(reason) => {
            w.u8(3);
            w.coded(reason);
        }
        EventKind::Enrolled => w.u8(4),
        EventKind::PinChanged => w.u8(5),
        EventKind::PinReset => w.u8(6),
        EventKind::Unlocked => w.u8(7),
        EventKind::StatusChanged(status) => {
            w.u8(8);
            w.coded(status);
        }
        EventKind::FundingSourceReplaced => w.u8(9),
        EventKind::Initiated => w.u8(10),
        EventKind::PinRejected { attempts_left } => {
            w.u8(11);
            w.u8(attempts_left);
        }
        EventKind::Locked { until } => {
            w.u8(12);
            write_time_or_never(w, until);
        }
        EventKind::PinVerified => w.u8(13),
        EventKind::LimitExceeded { limit, frees_at } => {
            w.u8(14);
            write_limit(w, limit);
            write_time_or_never(w, frees_at);
        }
        EventKind::CodeSent { resends_left } => {
            w.u8(15);
            w.u8(resends_left);
        }
        EventKind::CodeRejected { attempts_left } => {
            w.u8(16);
            w.u8(attempts_left);
        }
        EventKind::Authorized => w.u8(17),
        EventKind::ExemptAuthorized => w.u8(18),
        EventKind::Confirmed => w.u8(19),
        EventKind::Failed(reason) => {
            w.u8(20);
            write_failure(w, reason);
        }
        EventKind::RefundRequested { amount } => {
            w.u8(21);
            write_amount(w, amount);
        }
        EventKind::Refunded { amount } => {
            w.u8(22);
            write_amount(w, amount);
        }
        EventKind::RefundDeclined { amount, reason } => {
            w.u8(23);
            write_amount(w, amount);
            w.coded(reason);
        }
    }
}

fn read_kind(r: &mut Reader<'_>) -> Result<EventKind, Error> {
    Ok(match r.u8()? {
        1 => EventKind::EnrollmentStarted,
        2 => EventKind::EnrollmentCodeRejected {
            attempts_left: r.u8()?,
        },
        3 => EventKind::EnrollmentFailed(r.coded::<EnrollmentFailure>()?),
        4 => EventKind::Enrolled,
        5 => EventKind::PinChanged,
        6 => EventKind::PinReset,
        7 => EventKind::Unlocked,
        8 => EventKind::StatusChanged(r.coded::<AccountStatus>()?),
        9 => EventKind::FundingSourceReplaced,
        10 => EventKind::Initiated,
        11 => EventKind::PinRejected {
            attempts_left: r.u8()?,
        },
        12 => EventKind::Locked {
            until: read_time_or_never(r)?,
        },
        13 => EventKind::PinVerified,
        14 => EventKind::LimitExceeded {
            limit: read_limit(r)?,
            frees_at: read_time_or_never(r)?,
        },
        15 => EventKind::CodeSent {
            resends_left: r.u8()?,
        },
        16 => EventKind::CodeRejected {
            attempts_left: r.u8()?,
        },
        17 => EventKind::Authorized,
        18 => EventKind::ExemptAuthorized,
        19 => EventKind::Confirmed,
        20 => EventKind::Failed(read_failure(r)?),
        21 => EventKind::RefundRequested {
            amount: read_amount(r)?,
        },
        22 => EventKind::Refunded {
            amount: read_amount(r)?,
        },
        23 => EventKind::RefundDeclined {
            amount: read_amount(r)?,
            reason: r.coded::<DeclineReason>()?,
        },
        _ => return Err(Error::Tampered),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keys;
    use crate::secret::SecretKey;
    use crate::time::Timestamp;

    fn keys() -> Keys {
        Keys::new(1, SecretKey::from_bytes([3; 32]))
    }

    fn every_kind() -> Vec<EventKind> {
        let eur = |minor| Amount::new(minor, Currency::EUR).unwrap();
        let at = Some(Timestamp::from_unix_millis(1_800_000_000_000));
        vec![
            EventKind::EnrollmentStarted,
            EventKind::EnrollmentCodeRejected { attempts_left: 2 },
            EventKind::EnrollmentFailed(EnrollmentFailure::AlreadyEnrolled),
            EventKind::Enrolled,
            EventKind::PinChanged,
            EventKind::PinReset,
            EventKind::Unlocked,
            EventKind::StatusChanged(AccountStatus::Suspended),
            EventKind::FundingSourceReplaced,
            EventKind::Initiated,
            EventKind::PinRejected { attempts_left: 1 },
            EventKind::Locked { until: at },
            EventKind::Locked { until: None },
            EventKind::PinVerified,
            EventKind::LimitExceeded {
                limit: SpendingLimit::Per30Days,
                frees_at: at,
            },
            EventKind::LimitExceeded {
                limit: SpendingLimit::PerPayment,
                frees_at: None,
            },
            EventKind::CodeSent { resends_left: 3 },
            EventKind::CodeRejected { attempts_left: 0 },
            EventKind::Authorized,
            EventKind::ExemptAuthorized,
            EventKind::Confirmed,
            EventKind::Failed(crate::payment::FailureReason::Declined(
                DeclineReason::SuspectedFraud,
            )),
            EventKind::Failed(crate::payment::FailureReason::Expired),
            EventKind::RefundRequested { amount: eur(100) },
            EventKind::Refunded { amount: eur(4990) },
            EventKind::RefundDeclined {
                amount: eur(1),
                reason: DeclineReason::AccountClosed,
            },
        ]
    }

    fn event(kind: EventKind, n: u8) -> Event {
        let full = n % 2 == 0;
        Event {
            id: EventId::of_write("payment/00", Some(u64::from(n)), n, 7),
            kind,
            at: Timestamp::from_unix_millis(1_795_786_860_000),
            phone: "+33 6 •• •• •• 78".to_owned(),
            payment: full.then(PaymentId::random),
            enrollment: (!full).then(EnrollmentId::random),
            amount: full.then(|| Amount::new(4990, Currency::CHF).unwrap()),
            merchant: full.then(|| "boutique-exemple".parse().unwrap()),
        }
    }

    #[test]
    fn every_kind_reads_back_as_written() {
        let keys = keys();
        for (n, kind) in every_kind().into_iter().enumerate() {
            let event = event(kind, u8::try_from(n).unwrap());
            let bytes = encode(&event, &keys);
            assert_eq!(decode(&bytes, &keys).unwrap(), event);
        }
    }

    #[test]
    fn a_changed_byte_or_a_foreign_key_is_tampering() {
        let keys = keys();
        let bytes = encode(&event(EventKind::Confirmed, 0), &keys);
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert!(
                matches!(decode(&flipped, &keys), Err(Error::Tampered)),
                "byte {at}"
            );
        }
        for len in 0..bytes.len() {
            assert!(matches!(decode(&bytes[..len], &keys), Err(Error::Tampered)));
        }
        let other = Keys::new(1, SecretKey::from_bytes([4; 32]));
        assert!(matches!(decode(&bytes, &other), Err(Error::Tampered)));
    }

    #[test]
    fn ids_differ_by_record_version_and_place() {
        let a = EventId::of_write("payment/01", Some(1), 0, 7);
        assert_eq!(a, EventId::of_write("payment/01", Some(1), 0, 7));
        assert_ne!(
            a,
            EventId::of_write("payment/01", Some(1), 0, 8),
            "a later time"
        );
        for other in [
            EventId::of_write("payment/02", Some(1), 0, 7),
            EventId::of_write("payment/01", Some(2), 0, 7),
            EventId::of_write("payment/01", None, 0, 7),
            EventId::of_write("payment/01", Some(1), 1, 7),
        ] {
            assert_ne!(a, other);
        }
    }
}
