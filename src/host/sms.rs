//! The [`SmsGateway`] trait and the [`SmsMessage`] it sends.

use core::fmt;
use core::future::Future;

use zeroize::Zeroize;

use crate::gsm7;
use crate::gsm7::SmsEncoding;
use crate::ids::{EnrollmentId, PaymentId};
use crate::phone::PhoneNumber;
use crate::secret::OtpCode;

/// One SMS: the number it goes to and its text, which carries a one-time code for a payment or
/// for an enrollment.
///
/// # Security
///
/// The body is a secret while the code is valid: it is wiped on drop and `Debug` prints
/// `[redacted]` in its place and only the masked number.
pub struct SmsMessage {
    to: PhoneNumber,
    body: String,
    payment: PaymentId,
    enrollment: Option<EnrollmentId>,
    code: OtpCode,
}

impl SmsMessage {
    pub(crate) fn new(to: PhoneNumber, body: String, payment: PaymentId, code: OtpCode) -> Self {
        Self {
            to,
            body,
            payment,
            enrollment: None,
            code,
        }
    }

    /// The SMS of an enrollment's code.
    pub(crate) fn for_enrollment(
        to: PhoneNumber,
        body: String,
        enrollment: EnrollmentId,
        code: OtpCode,
    ) -> Self {
        Self {
            to,
            body,
            payment: PaymentId::none(),
            enrollment: Some(enrollment),
            code,
        }
    }

    /// The recipient.
    #[must_use]
    pub fn to(&self) -> &PhoneNumber {
        &self.to
    }

    /// The text to send, in the GSM-7 alphabet when the merchant's name is or folds into it
    /// (see [`encoding`](Self::encoding)).
    ///
    /// # Security
    ///
    /// Contains the code: hand it to the operator and nowhere else; do not log it.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The alphabet the body needs: [`SmsEncoding::Gsm7`] when each of its characters is in
    /// the GSM 03.38 default alphabet or its extension table, [`SmsEncoding::Ucs2`] otherwise.
    #[must_use]
    pub fn encoding(&self) -> SmsEncoding {
        gsm7::encoding(&self.body)
    }

    /// How many SMS the body takes, which is what the operator bills: 1 up to 160 GSM-7
    /// septets (`€ [ ] { } | ^ ~ \` and form feed take two) or 70 UCS-2 code units (a
    /// character beyond U+FFFF, such as an emoji, takes two), else parts of at most 153
    /// septets or 67 code units, a character never split between two parts.
    ///
    /// A payment's SMS takes 1 whenever the merchant's name is, or folds into, GSM-7 (see
    /// [`Merchant::new`](crate::Merchant::new)); an enrollment's always does.
    #[must_use]
    pub fn segments(&self) -> usize {
        gsm7::segments(&self.body)
    }

    /// The payment the code belongs to. An enrollment's code belongs to no payment: its SMS
    /// gives the all-zero id here, which no payment has, and names the enrollment in
    /// [`enrollment_id`](Self::enrollment_id).
    #[must_use]
    pub fn payment_id(&self) -> PaymentId {
        self.payment
    }

    /// The enrollment the code belongs to, for an enrollment's SMS.
    #[must_use]
    pub fn enrollment_id(&self) -> Option<EnrollmentId> {
        self.enrollment
    }

    /// The code alone, for the in-memory outbox of tests.
    pub(crate) fn code(&self) -> &OtpCode {
        &self.code
    }

    /// A second copy, for the in-memory outbox only: messages are otherwise not `Clone`.
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            to: self.to.clone(),
            body: self.body.clone(),
            payment: self.payment,
            enrollment: self.enrollment,
            code: self.code.duplicate(),
        }
    }
}

impl Drop for SmsMessage {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("to", &self.to)
            .field("payment", &self.payment)
            .field("enrollment", &self.enrollment)
            .field("body", &"[redacted]")
            .finish()
    }
}

/// Why an SMS was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// The gateway refused this message (unknown number, barred destination, …).
    #[error("the gateway refused the message")]
    Rejected,
    /// The gateway could not be reached or did not answer.
    #[error("the gateway is unavailable")]
    Unavailable,
}

/// Sends SMS: an operator's API, an aggregator, or the in-memory outbox.
///
/// # Contract
///
/// - `send` MUST return `Ok` only once the gateway has accepted the message for delivery.
/// - `send` MUST NOT log or store the body anywhere but the delivery path.
/// - On `Err` the engine leaves the payment where it was, so the send can be retried; a
///   gateway that may have delivered despite an error is fine (the buyer then holds a code
///   that no longer matches, and asks for another).
pub trait SmsGateway: Send + Sync {
    /// Sends `sms`.
    fn send(&self, sms: &SmsMessage) -> impl Future<Output = Result<(), SmsError>> + Send;
}
