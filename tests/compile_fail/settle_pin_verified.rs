//! error: E0308
// Only an authorized payment is settled.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Engine, Payment, PinVerified};

async fn settle(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<PinVerified>) {
    let _ = engine.settle(payment).await;
}

fn main() {}
