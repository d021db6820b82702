//! [`ConsoleSms`]: a development SMS gateway that prints each message and keeps it in an
//! outbox, which the page `GET /dev/sms` shows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use buyster::{Clock, PaymentId, SmsError, SmsGateway, SmsMessage, Timestamp};
use zeroize::Zeroizing;

use super::clock::ServerClock;

/// How many messages the outbox keeps; older ones are dropped.
const OUTBOX_SIZE: usize = 100;

/// One message as the outbox keeps it: the recipient masked, the body (which holds the code)
/// wiped from memory when the message leaves the outbox.
pub struct SentSms {
    /// When the gateway took it.
    pub sent_at: Timestamp,
    /// The recipient, masked: `+33 6 •• •• •• 78`.
    pub to: String,
    /// The payment the code belongs to.
    pub payment: PaymentId,
    /// The text, code included.
    pub body: Zeroizing<String>,
}

/// An [`SmsGateway`] for development: each message is printed on the server's console and kept
/// in memory for the development outbox page, in place of an operator's API.
///
/// # Security
///
/// It shows codes to whoever reads the console or the outbox page: that is its purpose, and
/// why a real deployment replaces it with an operator's gateway and turns the development
/// pages off.
#[derive(Clone)]
pub struct ConsoleSms {
    outbox: Arc<Mutex<VecDeque<SentSms>>>,
    failures: Arc<AtomicUsize>,
    clock: ServerClock,
    print: bool,
}

impl ConsoleSms {
    /// An empty outbox; `print` also writes each message on standard output.
    pub fn new(clock: ServerClock, print: bool) -> Self {
        Self {
            outbox: Arc::default(),
            failures: Arc::default(),
            clock,
            print,
        }
    }

    /// Makes the next `count` sends fail as an operator's outage would (nothing delivered).
    #[allow(
        dead_code,
        reason = "the tests play a gateway outage; the demo never does"
    )]
    pub fn fail_next(&self, count: usize) {
        self.failures.fetch_add(count, Ordering::SeqCst);
    }

    /// Runs `read` over the messages, newest first.
    pub fn with_messages<T>(
        &self,
        read: impl FnOnce(&mut dyn Iterator<Item = &SentSms>) -> T,
    ) -> T {
        let outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        read(&mut outbox.iter().rev())
    }
}

impl SmsGateway for ConsoleSms {
    async fn send(&self, sms: &SmsMessage) -> Result<(), SmsError> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(SmsError::Unavailable);
        }
        let sent = SentSms {
            sent_at: self.clock.now(),
            to: sms.to().masked(),
            payment: sms.payment_id(),
            body: Zeroizing::new(sms.body().to_owned()),
        };
        if self.print {
            println!(
                "SMS to {} (payment {}): {}",
                sent.to, sent.payment, *sent.body
            );
        }
        let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        if outbox.len() >= OUTBOX_SIZE {
            outbox.pop_front();
        }
        outbox.push_back(sent);
        Ok(())
    }
}
