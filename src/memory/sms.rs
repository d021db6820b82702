//! [`MemorySms`]: an outbox instead of a gateway.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::host::{SmsError, SmsGateway, SmsMessage};
use crate::ids::{EnrollmentId, PaymentId};
use crate::phone::PhoneNumber;
use crate::secret::OtpCode;

use super::lock;

#[derive(Debug, Default)]
struct Outbox {
    sent: Vec<SmsMessage>,
    failures: VecDeque<SmsError>,
    attempts: usize,
}

/// An [`SmsGateway`] that keeps every message in an outbox, where tests and demos read the
/// code a buyer would have received. Failures can be scripted with
/// [`fail_next`](MemorySms::fail_next).
#[derive(Clone, Debug, Default)]
pub struct MemorySms(Arc<Mutex<Outbox>>);

impl MemorySms {
    /// An empty outbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent, oldest first.
    #[must_use]
    pub fn sent(&self) -> Vec<SmsMessage> {
        lock(&self.0)
            .sent
            .iter()
            .map(SmsMessage::duplicate)
            .collect()
    }

    /// The code of the last message sent to `phone`: what the buyer would type.
    #[must_use]
    pub fn last_code(&self, phone: &PhoneNumber) -> Option<OtpCode> {
        let outbox = lock(&self.0);
        let last = outbox.sent.iter().rev().find(|sms| sms.to() == phone)?;
        Some(last.code().duplicate())
    }

    /// The code of the last message sent for `payment`: what its buyer would type.
    #[must_use]
    pub fn last_code_for(&self, payment: PaymentId) -> Option<OtpCode> {
        let outbox = lock(&self.0);
        let last = outbox
            .sent
            .iter()
            .rev()
            .find(|sms| sms.payment_id() == payment)?;
        Some(last.code().duplicate())
    }

    /// The code of the last message sent for `enrollment`: what its applicant would type.
    #[must_use]
    pub fn last_code_for_enrollment(&self, enrollment: EnrollmentId) -> Option<OtpCode> {
        let outbox = lock(&self.0);
        let last = outbox
            .sent
            .iter()
            .rev()
            .find(|sms| sms.enrollment_id() == Some(enrollment))?;
        Some(last.code().duplicate())
    }

    /// Makes the next send fail with [`SmsError::Unavailable`], without delivering.
    pub fn fail_next(&self) {
        self.fail_next_with(SmsError::Unavailable);
    }

    /// Makes the next send fail with `error`, without delivering. Calls queue up.
    pub fn fail_next_with(&self, error: SmsError) {
        lock(&self.0).failures.push_back(error);
    }

    /// How many sends were attempted, failed ones included.
    #[must_use]
    pub fn attempts(&self) -> usize {
        lock(&self.0).attempts
    }
}

impl SmsGateway for MemorySms {
    async fn send(&self, sms: &SmsMessage) -> Result<(), SmsError> {
        let mut outbox = lock(&self.0);
        outbox.attempts = outbox.attempts.saturating_add(1);
        if let Some(error) = outbox.failures.pop_front() {
            return Err(error);
        }
        outbox.sent.push(sms.duplicate());
        Ok(())
    }
}
