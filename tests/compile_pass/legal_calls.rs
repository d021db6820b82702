// The legal counterparts of the compile-fail cases, with the same imports: the cases fail for
// the reason they name, not for a mistake in their setup.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{
    Amount, Authorized, CodeSent, Confirmed, Engine, Enrollment, Exemption, FundingSource, Keys,
    OtpCode, OtpSent, Payment, Pin, PinVerified, RefundKey, RefundReason, SecretKey,
};

async fn pay(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<OtpSent>, code: &OtpCode) {
    let _ = engine.confirm(payment, code).await;
}

async fn send(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<PinVerified>) {
    let _ = engine.send_code(payment).await;
}

async fn settle(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<Authorized>) {
    let _ = engine.settle(payment).await;
}

async fn finish(
    engine: &Engine<MemoryStore, MemorySms, MemoryBank>,
    enrollment: Enrollment<CodeSent>,
    code: &OtpCode,
    pin: &Pin,
    funding: FundingSource,
) {
    let _ = engine.finish_enrollment(enrollment, code, pin, funding).await;
}

async fn skip(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<PinVerified>) {
    if let Exemption::Ticket(ticket) = payment.exemption() {
        let _ = engine.authorize_exempt(ticket).await;
    }
}

async fn refund(
    engine: &Engine<MemoryStore, MemorySms, MemoryBank>,
    payment: Payment<Confirmed>,
    key: &RefundKey,
    amount: Amount,
) {
    let _ = engine.refund(payment, amount, RefundReason::Returned, key).await;
}

fn main() {
    let _ = policy();
    let a: buyster::Pin = "123456".parse().unwrap();
    let _ = a.expose_secret() == "123456";
    let _ = Engine::builder(Keys::new(1, SecretKey::generate()))
        .store(MemoryStore::new())
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .build();
    let _ = (pay, send, settle, finish, skip, refund);
}

// A policy from its default, the fields changed named.
fn policy() -> buyster::Policy {
    buyster::Policy {
        max_pin_failures: 5,
        ..buyster::Policy::default()
    }
}
