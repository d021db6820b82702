//! The buyer's and the merchant's input, parsed into buyster's values or refused with the
//! field at fault. Nothing typed is ever echoed in a message.

use std::fmt::Write as _;

use buyster::{DigitsError, IdempotencyKey, Order, OtpCode, PaymentId, PhoneNumber, Pin, Policy};
use sha2::{Digest, Sha256};

use super::flow::Problem;

/// The input field a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `merchant`.
    Merchant,
    /// `amount_minor`.
    Amount,
    /// `currency`.
    Currency,
    /// `reference`.
    Reference,
    /// `channel`.
    Channel,
    /// `phone`.
    Phone,
    /// `pin`.
    Pin,
    /// `code`.
    Code,
    /// The `Idempotency-Key` header.
    IdempotencyKey,
}

impl Field {
    /// The stable error code of the JSON API for a malformed value of this field.
    pub fn error_code(self) -> &'static str {
        match self {
            Self::Merchant => "invalid_merchant",
            Self::Amount => "invalid_amount",
            Self::Currency => "invalid_currency",
            Self::Reference => "invalid_reference",
            Self::Channel => "invalid_channel",
            Self::Phone => "invalid_phone",
            Self::Pin => "invalid_pin",
            Self::Code => "invalid_code",
            Self::IdempotencyKey => "invalid_idempotency_key",
        }
    }
}

/// A malformed value of `field`, described by `message` (which never quotes the value).
pub fn malformed(field: Field, message: impl Into<String>) -> Problem {
    Problem::Malformed {
        field,
        message: message.into(),
    }
}

/// A payment id from a URL. An id that is not one buyster could have made names no payment.
pub fn payment_id(text: &str) -> Result<PaymentId, Problem> {
    text.parse().map_err(|_| Problem::UnknownPayment)
}

/// A mobile number, in any form buyster reads (`06 12 34 56 78`, `+33612345678`, …).
pub fn phone(text: &str) -> Result<PhoneNumber, Problem> {
    text.parse()
        .map_err(|error: buyster::Error| malformed(Field::Phone, error.to_string()))
}

/// A PIN with exactly the number of digits the policy gives PINs: one of another length is a
/// typing slip, refused before it counts as a guess.
pub fn pin(text: &str, policy: &Policy) -> Result<Pin, Problem> {
    let (min, max) = (policy.min_pin_digits, policy.max_pin_digits);
    let refuse = |error: DigitsError| malformed(Field::Pin, format!("invalid PIN: {error}"));
    let pin: Pin = text.parse().map_err(|error| match error {
        buyster::Error::InvalidPin(DigitsError::Length { .. }) => {
            refuse(DigitsError::Length { min, max })
        }
        buyster::Error::InvalidPin(digits) => refuse(digits),
        _ => refuse(DigitsError::NotDigits),
    })?;
    if (usize::from(min)..=usize::from(max)).contains(&pin.digits()) {
        Ok(pin)
    } else {
        Err(refuse(DigitsError::Length { min, max }))
    }
}

/// A code with exactly the policy's number of digits.
pub fn code(text: &str, policy: &Policy) -> Result<OtpCode, Problem> {
    let digits = policy.code_digits;
    let refuse = || {
        malformed(
            Field::Code,
            format!("invalid code: it must be {digits} digits"),
        )
    };
    let trimmed = text.trim();
    if trimmed.len() != usize::from(digits) {
        return Err(refuse());
    }
    trimmed.parse().map_err(|_| refuse())
}

/// The idempotency key of `order`'s payment: the merchant's `Idempotency-Key` header when it
/// sent one (as given, 1 to 255 printable ASCII characters), otherwise the order's own
/// reference, `order/CMD-2026-000123`, so that one order makes one payment. A reference with
/// characters beyond printable ASCII goes by its SHA-256 instead, `order-sha256/` and 64 hex
/// digits, which a key can hold whatever the reference's length.
pub fn order_key(header: Option<&[u8]>, order: &Order) -> Result<IdempotencyKey, Problem> {
    let refuse = |error: buyster::Error| malformed(Field::IdempotencyKey, error.to_string());
    if let Some(header) = header {
        let text = std::str::from_utf8(header).map_err(|_| {
            malformed(
                Field::IdempotencyKey,
                "the Idempotency-Key must be printable ASCII",
            )
        })?;
        return text.parse().map_err(refuse);
    }
    let reference = order.reference();
    let text = if reference
        .bytes()
        .all(|byte| byte.is_ascii_graphic() || byte == b' ')
    {
        format!("order/{reference}")
    } else {
        let mut text = String::from("order-sha256/");
        for byte in Sha256::digest(reference.as_bytes()) {
            let _ = write!(text, "{byte:02x}");
        }
        text
    };
    text.parse().map_err(refuse)
}
