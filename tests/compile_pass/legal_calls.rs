// The legal counterparts of the compile-fail cases, with the same imports: the cases fail for
// the reason they name, not for a mistake in their setup.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Authorized, Engine, Keys, OtpCode, OtpSent, Payment, PinVerified, SecretKey};

async fn pay(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<OtpSent>, code: &OtpCode) {
    let _ = engine.confirm(payment, code).await;
}

async fn send(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<PinVerified>) {
    let _ = engine.send_code(payment).await;
}

async fn settle(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<Authorized>) {
    let _ = engine.settle(payment).await;
}

fn main() {
    let a: buyster::Pin = "123456".parse().unwrap();
    let _ = a.expose_secret() == "123456";
    let _ = Engine::builder(Keys::new(1, SecretKey::generate()))
        .store(MemoryStore::new())
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .build();
    let _ = (pay, send, settle);
}
