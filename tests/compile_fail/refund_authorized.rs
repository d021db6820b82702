//! error: E0308
// Only a confirmed payment, whose debit the bank made, can be refunded.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Amount, Authorized, Engine, Payment, RefundKey, RefundReason};

async fn refund(
    engine: &Engine<MemoryStore, MemorySms, MemoryBank>,
    payment: Payment<Authorized>,
    key: &RefundKey,
    amount: Amount,
) {
    let _ = engine.refund(payment, amount, RefundReason::Returned, key).await;
}

fn main() {}
