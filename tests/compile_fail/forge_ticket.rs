//! error: E0451
// Only the engine's PIN check makes an exemption ticket.
use buyster::{ExemptionTicket, Payment, PinVerified};

fn forge(payment: Payment<PinVerified>) -> ExemptionTicket {
    ExemptionTicket { payment }
}

fn main() {}
