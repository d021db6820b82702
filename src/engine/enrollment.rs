//! Enrollment: an account made for a number, directly by a host that verified its holder.

use crate::Error;
use crate::account::Account;
use crate::events::EventKind;
use crate::funding::FundingSource;
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::phone::PhoneNumber;
use crate::secret::Pin;
use crate::weak_pin::check_new_pin;

use super::Engine;

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Enrolls `phone` with `pin` and the account to debit, directly.
    ///
    /// For hosts that have verified by their own means that the person holds `phone` (a signed
    /// contract, a bank's strong authentication). The PIN must pass the policy's rules, and is
    /// stored only as a salted, peppered HMAC. A closed account of the number is replaced by
    /// the new one (a number that changed hands).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`] when the PIN's length is outside the policy's range,
    /// [`Error::WeakPin`] when it follows a pattern too easy to guess, [`Error::AlreadyEnrolled`]
    /// when the number has an active or suspended account, [`Error::Tampered`],
    /// [`Error::Storage`].
    pub async fn enroll(
        &self,
        phone: &PhoneNumber,
        pin: &Pin,
        funding: FundingSource,
    ) -> Result<(), Error> {
        check_new_pin(pin, &self.policy)?;
        let account = Account::new(&self.keys, pin, funding, self.clock.now());
        self.create_account(&self.account_key(phone), &account)
            .await?;
        self.emit_for(phone, EventKind::Enrolled);
        Ok(())
    }
}
