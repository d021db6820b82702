//! error: E0308
// The path without a code takes a ticket, which only an exempt payment gives.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Engine, Payment, PinVerified};

async fn skip(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<PinVerified>) {
    let _ = engine.authorize_exempt(payment).await;
}

fn main() {}
