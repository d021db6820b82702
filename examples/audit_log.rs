//! Audit events as log lines: an [`EventSink`] that writes each event the engine reports, one
//! `key=value` line per state change, while a buyer enrolls by SMS, pays, and is refunded.
//!
//! ```sh
//! cargo run --example audit_log
//! ```
//!
//! A server would hand the line to its logger (`log::info!`, `tracing::info!`) or to a channel
//! read by its audit store; the sink is called inside the engine's call, so it must be quick.

use std::io::Write;
use std::sync::Mutex;

use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{
    Amount, CodeCheck, Currency, Engine, EnrollmentCheck, Event, EventSink, Keys, Merchant, Order,
    PhoneNumber, Pin, PinCheck, RefundReason, SecretKey,
};

/// Writes every event to a writer as a log line.
struct LogLines<W>(Mutex<W>);

impl<W: Write + Send> EventSink for LogLines<W> {
    fn record(&self, event: &Event) {
        let mut out = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A log line that cannot be written is dropped: the payment goes on.
        let _ = writeln!(out, "INFO buyster::audit {event}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sms = MemorySms::new();
    let engine = Engine::builder(Keys::new(1, SecretKey::generate()))
        .store(MemoryStore::new())
        .sms(sms.clone())
        .bank(MemoryBank::new())
        .events(LogLines(Mutex::new(std::io::stdout())))
        .build()?;

    // The buyer proves they hold the number with an SMS code, and chooses a PIN.
    let phone: PhoneNumber = "06 12 34 56 78".parse()?;
    let pin: Pin = "246813".parse()?;
    let enrollment = engine.start_enrollment(&phone).await?;
    let code = sms.last_code(&phone).ok_or("no enrollment SMS")?;
    let iban = "FR76 3000 6000 0112 3456 7890 189".parse()?;
    let EnrollmentCheck::Enrolled(_) = engine
        .finish_enrollment(enrollment, &code, &pin, iban)
        .await?
    else {
        return Err("the enrollment code was refused".into());
    };

    // A checkout with a mistyped PIN first.
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple")?;
    let order = Order::new(
        merchant,
        Amount::new(4990, Currency::EUR)?,
        "CMD-2026-000123",
    )?;
    let payment = engine.initiate(order, &phone).await?;
    let PinCheck::Rejected { payment, .. } = engine.verify_pin(payment, &"246831".parse()?).await?
    else {
        return Err("a wrong PIN was accepted".into());
    };
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin).await? else {
        return Err("the right PIN was refused".into());
    };
    let sent = engine.send_code(verified).await?;
    let code = sms.last_code(&phone).ok_or("no payment SMS")?;
    let CodeCheck::Confirmed(paid) = engine.confirm(sent, &code).await? else {
        return Err("the right code was refused".into());
    };

    // The merchant refunds part of it.
    let refund = Amount::new(1000, Currency::EUR)?;
    let key = "RMA-2026-0042".parse()?;
    engine
        .refund(paid, refund, RefundReason::Returned, &key)
        .await?;
    Ok(())
}
