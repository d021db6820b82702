//! error: E0382
// A transition consumes the payment: the same value cannot be confirmed twice.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Engine, OtpCode, OtpSent, Payment};

async fn pay(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<OtpSent>, code: &OtpCode) {
    let _ = engine.confirm(payment, code).await;
    let _ = engine.confirm(payment, code).await;
}

fn main() {}
