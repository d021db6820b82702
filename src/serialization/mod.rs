//! `Serialize` and `Deserialize` for the public value types, behind the `serde` feature; the
//! forms are tabled in the crate documentation (Serialization).
//!
//! Every form is written here, none on the types themselves, so that the forms read as one
//! table and a type's own file stays about the type. Deserialization goes through each type's
//! own parser or constructor (`FromStr`, `Amount::new`, `Merchant::new`, …): a value read from
//! JSON is one the crate would have made, and anything else is a serde error carrying the
//! crate's own message, which never echoes the input.
//!
//! Secrets (`Pin`, `OtpCode`, `SecretKey`, `Keys`, `SmsMessage`), funding sources, payments,
//! enrollments and the guard's records have no form here, and must never get one.

mod events;
mod kinds;
mod values;

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::host::RefundKey;
use crate::iban::Iban;
use crate::idempotency::IdempotencyKey;
use crate::ids::{EnrollmentId, PaymentId};
use crate::money::Currency;
use crate::order::{Channel, MerchantId};
use crate::phone::{PhoneNumber, Region};
use crate::time::Timestamp;

/// Reads a string with `parse`; its error is the serde error, as it reads.
struct Text<T, E> {
    parse: fn(&str) -> Result<T, E>,
    expecting: &'static str,
    _value: PhantomData<fn() -> T>,
}

impl<T, E: fmt::Display> Visitor<'_> for Text<T, E> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<Er: de::Error>(self, text: &str) -> Result<T, Er> {
        (self.parse)(text).map_err(Er::custom)
    }
}

/// Deserializes a `T` from a string, through `parse`.
fn from_text<'de, D: Deserializer<'de>, T, E: fmt::Display>(
    deserializer: D,
    parse: fn(&str) -> Result<T, E>,
    expecting: &'static str,
) -> Result<T, D::Error> {
    deserializer.deserialize_str(Text {
        parse,
        expecting,
        _value: PhantomData,
    })
}

/// A type whose form is its `Display` text, read back by its `FromStr`.
macro_rules! as_text {
    ($($type:ty => $expecting:literal),+ $(,)?) => {$(
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                from_text(deserializer, str::parse, $expecting)
            }
        }
    )+};
}

as_text! {
    PaymentId => "a payment id: 32 lowercase hexadecimal digits",
    EnrollmentId => "an enrollment id: 32 lowercase hexadecimal digits",
    PhoneNumber => "a mobile number in E.164 form, such as +33612345678",
    MerchantId => "a merchant id: 1 to 32 ASCII letters, digits, '.', '_' or '-'",
    Currency => "an ISO 4217 currency code, such as EUR",
    Channel => "a channel: web, mobile or tv",
    Region => "the ISO 3166 code of a region of the numbering plan, such as FR",
    RefundKey => "a refund key: 1 to 40 ASCII letters, digits, '.', '_', ':' or '-'",
    IdempotencyKey => "an idempotency key: 1 to 255 printable ASCII characters",
}

/// The electronic form, `FR7630006000011234567890189`: `Display` prints the paper form.
impl Serialize for Iban {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Iban {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_text(deserializer, str::parse, "an IBAN")
    }
}

/// RFC 3339 in UTC to the millisecond, as `Display` prints it: `2026-11-27T13:41:00.000Z`.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let parse = |text: &str| Self::from_rfc3339(text).ok_or(TIMESTAMP);
        from_text(deserializer, parse, TIMESTAMP)
    }
}

const TIMESTAMP: &str = "an RFC 3339 time in UTC to the millisecond at most, such as \
                         2026-11-27T13:41:00.000Z";
