//! What a typed enrollment code leads to: the number's guard confirmed open, a wrong code
//! counted in the enrollment and in the guard, the last wrong code, and after the right one
//! the account made and the enrollment closed.

use crate::Error;
use crate::account::Account;
use crate::enrollment::steps::{enrolled, failed};
use crate::enrollment::{
    CodeAccepted, CodeSent, Enrollment, EnrollmentCheck, EnrollmentFailed, EnrollmentFailure,
};
use crate::events::{Event, EventKind};
use crate::funding::FundingSource;
use crate::guard::Failure;
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::secret::Pin;
use crate::time::Timestamp;

use super::Engine;
use super::pin::failure_event;
use super::records::GuardRead;

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Writes the number's guard back as it is, by compare-and-swap at the version read, or
    /// refuses with [`Error::Locked`] once a racing guess locked it: an answer that needs the
    /// number open is thereby decided after every guess counted before it, and before any
    /// counted after it, as a right PIN's reset is.
    pub(super) async fn confirm_open(&self, guard: GuardRead, now: Timestamp) -> Result<(), Error> {
        self.update_guard(guard, |g| {
            g.check_open(now)?;
            Ok((Some(g.clone()), ()))
        })
        .await
    }

    /// A wrong code, counted in the enrollment: now in the number's guard too.
    pub(super) async fn wrong_enrollment_code(
        &self,
        enrollment: Enrollment<CodeSent>,
        guard: GuardRead,
        now: Timestamp,
    ) -> Result<EnrollmentCheck, Error> {
        let attempts_left = enrollment.attempts_left();
        let failure = self
            .count_wrong_pin(guard, now, |failure, id| {
                let locked = matches!(failure, Failure::Locked(_));
                locked.then(|| Event::enrollment(id, failure_event(failure), &enrollment, now))
            })
            .await?;
        if let Failure::Locked(until) = failure {
            return Err(Error::Locked { until });
        }
        Ok(EnrollmentCheck::Rejected {
            enrollment,
            attempts_left,
        })
    }

    /// The last wrong code, which failed the enrollment: counted in the guard too.
    pub(super) async fn exhausted_enrollment(
        &self,
        enrollment: Enrollment<EnrollmentFailed>,
        guard: GuardRead,
        now: Timestamp,
    ) -> Error {
        // The enrollment's own count ended it: the answer is that, whatever the guard says.
        let _ = self
            .count_wrong_pin(guard, now, |failure, id| {
                let locked = matches!(failure, Failure::Locked(_));
                locked.then(|| Event::enrollment(id, failure_event(failure), &enrollment, now))
            })
            .await;
        Error::TooManyAttempts
    }

    /// The right code, stored as accepted: the account made (or found there already), then the
    /// enrollment closed.
    pub(super) async fn complete_enrollment(
        &self,
        enrollment: Enrollment<CodeAccepted>,
        pin: &Pin,
        funding: FundingSource,
        now: Timestamp,
    ) -> Result<EnrollmentCheck, Error> {
        let account = Account::new(&self.keys, pin, funding, now);
        let key = self.number_keys(enrollment.phone()).account;
        match self.create_account(&key, &account, None).await {
            Ok(()) => self.close_enrollment(enrollment, None, now).await,
            Err(Error::AlreadyEnrolled) => {
                let reason = Some(EnrollmentFailure::AlreadyEnrolled);
                self.close_enrollment(enrollment, reason, now).await
            }
            Err(error) => Err(error),
        }
    }

    /// Stores the end of an enrollment whose code was right: enrolled, or failed for `reason`.
    /// Nothing else moves an accepted enrollment; a lost race is a store that changed the
    /// record under the engine, and is read again.
    pub(super) async fn close_enrollment(
        &self,
        enrollment: Enrollment<CodeAccepted>,
        reason: Option<EnrollmentFailure>,
        now: Timestamp,
    ) -> Result<EnrollmentCheck, Error> {
        self.update_enrollment(enrollment, |enrollment| {
            Box::pin(async move {
                match reason {
                    None => {
                        let next = enrolled(enrollment, now);
                        let done = self
                            .replace_enrollment_reporting(next, EventKind::Enrolled, now)
                            .await?;
                        Ok(done.map(EnrollmentCheck::Enrolled))
                    }
                    Some(reason) => {
                        let next = failed(enrollment, reason, now);
                        let kind = EventKind::EnrollmentFailed(reason);
                        if self
                            .replace_enrollment_reporting(next, kind, now)
                            .await?
                            .is_none()
                        {
                            return Ok(None);
                        }
                        Err(Error::AlreadyEnrolled)
                    }
                }
            })
        })
        .await
    }
}
