//! Refunds of a confirmed payment: the [`Refund`]s a payment keeps, and their record.

use crate::Error;
use crate::codec::RecordByte;
use crate::codec::{Reader, Writer};
use crate::host::{DeclineReason, RefundKey, RefundReason};
use crate::money::Amount;
use crate::time::Timestamp;

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefundStatus {
    /// Recorded, and asked of the bank, which has not answered (yet): its amount is set aside,
    /// and asking again with the same key finishes it.
    Pending,
    /// The bank gave the money back.
    Refunded,
    /// The bank refused, for good; its amount is free again.
    Declined(DeclineReason),
}

/// One refund of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub(crate) key: RefundKey,
    pub(crate) amount: Amount,
    pub(crate) reason: RefundReason,
    pub(crate) requested_at: Timestamp,
    pub(crate) state: RefundState,
}

/// Where a refund stands, with what each stage holds: a refunded refund always has the bank's
/// reference and time, and nothing else does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefundState {
    Pending,
    Refunded { reference: String, at: Timestamp },
    Declined(DeclineReason),
}

impl Refund {
    /// The merchant's key.
    #[must_use]
    pub fn key(&self) -> &RefundKey {
        &self.key
    }

    /// The amount given back (or to be).
    #[must_use]
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// Why.
    #[must_use]
    pub fn reason(&self) -> RefundReason {
        self.reason
    }

    /// When it was first asked for.
    #[must_use]
    pub fn requested_at(&self) -> Timestamp {
        self.requested_at
    }

    /// Where it stands.
    #[must_use]
    pub fn status(&self) -> RefundStatus {
        match self.state {
            RefundState::Pending => RefundStatus::Pending,
            RefundState::Refunded { .. } => RefundStatus::Refunded,
            RefundState::Declined(reason) => RefundStatus::Declined(reason),
        }
    }

    /// The bank's reference of the refund, once refunded.
    #[must_use]
    pub fn bank_reference(&self) -> Option<&str> {
        match &self.state {
            RefundState::Refunded { reference, .. } => Some(reference),
            RefundState::Pending | RefundState::Declined(_) => None,
        }
    }

    /// When the bank confirmed it, once refunded.
    #[must_use]
    pub fn refunded_at(&self) -> Option<Timestamp> {
        match self.state {
            RefundState::Refunded { at, .. } => Some(at),
            RefundState::Pending | RefundState::Declined(_) => None,
        }
    }

    /// Whether the bank has not answered it yet.
    pub(crate) fn is_pending(&self) -> bool {
        matches!(self.state, RefundState::Pending)
    }

    /// Whether it takes, or may take, money back: refunded or pending.
    pub(crate) fn counts(&self) -> bool {
        !matches!(self.state, RefundState::Declined(_))
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.text(self.key.as_str());
        w.u64(self.amount.minor_units());
        w.coded(self.reason);
        w.time(self.requested_at);
        match &self.state {
            RefundState::Pending => w.u8(1),
            RefundState::Refunded { reference, at } => {
                w.u8(2);
                w.text(reference);
                w.time(*at);
            }
            RefundState::Declined(reason) => {
                w.u8(3);
                w.coded(*reason);
            }
        }
    }

    /// A refund of a payment in `currency`, as [`Refund::write`] wrote it.
    pub(crate) fn read(
        r: &mut Reader<'_>,
        currency: crate::money::Currency,
    ) -> Result<Self, Error> {
        let key = r.text()?.parse().map_err(|_| Error::Tampered)?;
        let amount = Amount::new(r.u64()?, currency).map_err(|_| Error::Tampered)?;
        let reason = r.coded()?;
        let requested_at = r.time()?;
        let state = match r.u8()? {
            1 => RefundState::Pending,
            2 => RefundState::Refunded {
                reference: r.text()?.to_owned(),
                at: r.time()?,
            },
            3 => RefundState::Declined(r.coded()?),
            _ => return Err(Error::Tampered),
        };
        Ok(Self {
            key,
            amount,
            reason,
            requested_at,
            state,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_enums_have_a_byte_per_value() {
        crate::codec::assert_one_byte_per_value::<RefundReason>();
    }

    #[test]
    fn each_state_round_trips_with_what_it_holds() {
        use crate::host::Key;
        use crate::keys::Keys;
        use crate::money::Currency;
        use crate::seal::{self, RecordKind};
        use crate::secret::SecretKey;

        let keys = Keys::new(1, SecretKey::from_bytes([6; 32]));
        let key = Key::guard("refunds");
        let at = Timestamp::from_unix_millis(1_800_000_000_000);
        for state in [
            RefundState::Pending,
            RefundState::Refunded {
                reference: "MB-R-000001".to_owned(),
                at,
            },
            RefundState::Declined(DeclineReason::AccountClosed),
        ] {
            let refund = Refund {
                key: "RMA-1".parse().unwrap(),
                amount: Amount::new(1250, Currency::EUR).unwrap(),
                reason: RefundReason::Returned,
                requested_at: at,
                state,
            };
            let mut w = seal::writer(RecordKind::Payment, &keys);
            refund.write(&mut w);
            let record = seal::seal(w, &keys, &key);
            let mut r = seal::open(&keys, &key, RecordKind::Payment, &record).unwrap();
            let back = Refund::read(&mut r, Currency::EUR).unwrap();
            r.finish().unwrap();
            assert_eq!(back, refund);
            let refunded = back.status() == RefundStatus::Refunded;
            assert_eq!(back.bank_reference().is_some(), refunded);
            assert_eq!(back.refunded_at().is_some(), refunded);
        }
    }
}
