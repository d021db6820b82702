//! error: E0308
// No SMS before the PIN: `send_code` needs a `PinVerified` payment.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Engine, Initiated, Payment};

async fn send(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<Initiated>) {
    let _ = engine.send_code(payment).await;
}

fn main() {}
