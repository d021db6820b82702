//! The forms of the values with several parts: objects with one key per part, read back
//! through the type's own constructor.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::display_text::is_checked_text;
use crate::host::{DebitReceipt, RefundKey, RefundReason, RefundReceipt};
use crate::ids::PaymentId;
use crate::money::{Amount, Currency};
use crate::order::{Channel, MAX_REFERENCE, Merchant, MerchantId, Order};
use crate::payment::{Receipt, Refund, RefundStatus};
use crate::time::Timestamp;

/// `{"minor_units": 4990, "currency": "EUR"}`, read back by [`Amount::new`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountForm {
    minor_units: u64,
    currency: Currency,
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (minor_units, currency) = (self.minor_units(), self.currency());
        AmountForm {
            minor_units,
            currency,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let form = AmountForm::deserialize(deserializer)?;
        Self::new(form.minor_units, form.currency).map_err(D::Error::custom)
    }
}

/// `{"id": "boutique-exemple", "display_name": "Boutique Exemple"}`, read back by
/// [`Merchant::new`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantForm<Id, Name> {
    id: Id,
    display_name: Name,
}

impl Serialize for Merchant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MerchantForm {
            id: self.id(),
            display_name: self.display_name(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Merchant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let form = MerchantForm::<String, String>::deserialize(deserializer)?;
        Self::new(&form.id, &form.display_name).map_err(D::Error::custom)
    }
}

/// `{"merchant": {…}, "amount": {…}, "reference": "CMD-2026-000123", "channel": "web"}`, read
/// back by [`Order::new`] and [`Order::with_channel`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderForm<M, R> {
    merchant: M,
    amount: Amount,
    reference: R,
    channel: Channel,
}

impl Serialize for Order {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        OrderForm {
            merchant: self.merchant(),
            amount: self.amount(),
            reference: self.reference(),
            channel: self.channel(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let form = OrderForm::<Merchant, String>::deserialize(deserializer)?;
        let order = Self::new(form.merchant, form.amount, &form.reference);
        Ok(order.map_err(D::Error::custom)?.with_channel(form.channel))
    }
}

/// The longest bank reference a [`Receipt`] keeps.
const MAX_BANK_REFERENCE: usize = 255;

/// A receipt's parts, under the names of its accessors.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptForm<M, R> {
    payment_id: PaymentId,
    amount: Amount,
    merchant: M,
    order_reference: R,
    bank_reference: R,
    confirmed_at: Timestamp,
    low_value_exempt: bool,
}

impl Serialize for Receipt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ReceiptForm {
            payment_id: self.payment_id(),
            amount: self.amount(),
            merchant: self.merchant(),
            order_reference: self.order_reference(),
            bank_reference: self.bank_reference(),
            confirmed_at: self.confirmed_at(),
            low_value_exempt: self.low_value_exempt(),
        }
        .serialize(serializer)
    }
}

/// Read back as the engine makes them: an order reference as [`Order::new`] leaves it, a bank
/// reference of at most 255 bytes.
impl<'de> Deserialize<'de> for Receipt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let form = ReceiptForm::<MerchantId, String>::deserialize(deserializer)?;
        if !is_checked_text(&form.order_reference, MAX_REFERENCE) {
            return Err(D::Error::custom(
                "invalid order reference: 1 to 64 characters, trimmed, none invisible",
            ));
        }
        if form.bank_reference.len() > MAX_BANK_REFERENCE {
            return Err(D::Error::custom("invalid bank reference: over 255 bytes"));
        }
        Ok(Self {
            payment_id: form.payment_id,
            amount: form.amount,
            merchant: form.merchant,
            order_reference: form.order_reference,
            bank_reference: form.bank_reference,
            confirmed_at: form.confirmed_at,
            exempt: form.low_value_exempt,
        })
    }
}

/// `{"reference": "…"}`: the bank's reference, whatever its spelling.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BankReceiptForm<R> {
    reference: R,
}

impl Serialize for DebitReceipt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let reference = self.reference();
        BankReceiptForm { reference }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DebitReceipt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let form = BankReceiptForm::<String>::deserialize(deserializer)?;
        Ok(Self::new(form.reference))
    }
}

impl Serialize for RefundReceipt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let reference = self.reference();
        BankReceiptForm { reference }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RefundReceipt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let form = BankReceiptForm::<String>::deserialize(deserializer)?;
        Ok(Self::new(form.reference))
    }
}

/// A refund of a payment, written only (a payment's refunds are the engine's record):
/// `bank_reference` and `refunded_at` are `null` until the bank gave the money back.
#[derive(Serialize)]
struct RefundForm<'a> {
    key: &'a RefundKey,
    amount: Amount,
    reason: RefundReason,
    requested_at: Timestamp,
    status: RefundStatus,
    bank_reference: Option<&'a str>,
    refunded_at: Option<Timestamp>,
}

impl Serialize for Refund {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RefundForm {
            key: self.key(),
            amount: self.amount(),
            reason: self.reason(),
            requested_at: self.requested_at(),
            status: self.status(),
            bank_reference: self.bank_reference(),
            refunded_at: self.refunded_at(),
        }
        .serialize(serializer)
    }
}
