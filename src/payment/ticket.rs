//! [`ExemptionTicket`]: the proof that a payment may be authorized without its code.

use super::{Payment, PinVerified};

/// A payment whose right PIN found it within the low-value exemption (PSD2 RTS art. 16): what
/// [`Engine::authorize_exempt`](crate::Engine::authorize_exempt) takes instead of a code.
///
/// Only [`Payment::exemption`] makes one, and only for a payment the PIN check admitted: the
/// path without a code does not exist for the others.
///
/// ```compile_fail
/// # use buyster::{*, memory::*};
/// # async fn f(engine: &Engine<MemoryStore, MemorySms, MemoryBank>, payment: Payment<PinVerified>)
/// #     -> Result<(), Error> {
/// let paid = engine.authorize_exempt(payment).await?; // needs an ExemptionTicket
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ExemptionTicket {
    payment: Payment<PinVerified>,
}

impl ExemptionTicket {
    /// The payment the ticket is for.
    #[must_use]
    pub fn payment(&self) -> &Payment<PinVerified> {
        &self.payment
    }

    /// The payment back, to send its code after all.
    #[must_use]
    pub fn into_payment(self) -> Payment<PinVerified> {
        self.payment
    }
}

/// Whether a payment may go without its code: see [`Payment::exemption`].
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a payment goes without its code or with it: a host handles both"
)]
pub enum Exemption {
    /// It may: authorize it with [`Engine::authorize_exempt`](crate::Engine::authorize_exempt)
    /// (or send its code all the same, with [`ExemptionTicket::into_payment`]).
    Ticket(ExemptionTicket),
    /// It may not: send its code.
    CodeNeeded(Payment<PinVerified>),
}

impl Payment<PinVerified> {
    /// The ticket to authorize this payment without a code, when the low-value exemption
    /// applies to it ([`PinVerified::low_value_exempt`]); the payment back otherwise.
    #[must_use]
    pub fn exemption(self) -> Exemption {
        if self.state.exempt {
            Exemption::Ticket(ExemptionTicket { payment: self })
        } else {
            Exemption::CodeNeeded(self)
        }
    }
}
