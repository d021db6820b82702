//! error: E0599
// An engine without a bank cannot be built.
use buyster::memory::{MemorySms, MemoryStore};
use buyster::{Engine, Keys, SecretKey};

fn main() {
    let _ = Engine::builder(Keys::new(1, SecretKey::generate()))
        .store(MemoryStore::new())
        .sms(MemorySms::new())
        .build();
}
