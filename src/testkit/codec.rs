//! The record codec, open for benchmarks.

use crate::Error;
use crate::host::{Entry, Key};
use crate::ids::PaymentId;
use crate::keys::Keys;
use crate::payment::{self, AnyPayment};

/// Encodes and decodes payment records exactly as the engine does, sealing and verifying
/// them with `keys`: what a benchmark of the codec measures.
#[derive(Debug)]
pub struct PaymentCodec {
    keys: Keys,
}

impl PaymentCodec {
    /// A codec sealing with `keys`.
    #[must_use]
    pub fn new(keys: Keys) -> Self {
        Self { keys }
    }

    /// The sealed record of `payment`, as stored.
    #[must_use]
    pub fn encode(&self, payment: &AnyPayment) -> Vec<u8> {
        match payment {
            AnyPayment::Initiated(p) => payment::encode(p, &self.keys),
            AnyPayment::PinVerified(p) => payment::encode(p, &self.keys),
            AnyPayment::OtpSent(p) => payment::encode(p, &self.keys),
            AnyPayment::Authorized(p) => payment::encode(p, &self.keys),
            AnyPayment::Confirmed(p) => payment::encode(p, &self.keys),
            AnyPayment::Failed(p) => payment::encode(p, &self.keys),
        }
    }

    /// The payment stored as `entry` under the key of `id`, verified.
    ///
    /// # Errors
    ///
    /// [`Error::Tampered`] when the record does not verify.
    pub fn decode(&self, id: PaymentId, entry: &Entry) -> Result<AnyPayment, Error> {
        payment::decode(&self.keys, Key::payment(&id), &id, entry)
    }
}
