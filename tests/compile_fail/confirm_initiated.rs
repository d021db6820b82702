//! error: E0308
// `confirm` needs a payment whose code was sent.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Engine, Initiated, OtpCode, Payment};

async fn pay(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<Initiated>, code: &OtpCode) {
    let _ = engine.confirm(payment, code).await;
}

fn main() {}
