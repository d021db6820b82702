//! error: E0308
// An enrollment's code works once: a finished enrollment cannot be finished again.
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Engine, Enrolled, Enrollment, FundingSource, OtpCode, Pin};

async fn finish(
    engine: &Engine<MemoryStore, MemorySms, MemoryBank>,
    enrollment: Enrollment<Enrolled>,
    code: &OtpCode,
    pin: &Pin,
    funding: FundingSource,
) {
    let _ = engine.finish_enrollment(enrollment, code, pin, funding).await;
}

fn main() {}
