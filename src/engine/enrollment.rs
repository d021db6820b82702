//! Enrollment: an account made for a number, once an SMS code proved that the applicant holds
//! it, or directly by a host that verified its holder by its own means.

use crate::Error;
use crate::account::Account;
use crate::enrollment::steps::{CodeStep, accepted, code_typed, failed, started, with_new_id};
use crate::enrollment::{AnyEnrollment, CodeSent, Enrollment, EnrollmentCheck, EnrollmentFailure};
use crate::error::EnrollmentKind;
use crate::events::{Event, EventKind};
use crate::funding::FundingSource;
use crate::host::{Bank, Clock, SmsGateway, SmsMessage, Store};
use crate::ids::{EnrollmentId, EventId};
use crate::language::Language;
use crate::phone::PhoneNumber;
use crate::secret::{OtpCode, Pin};
use crate::text::enrollment_message;
use crate::time::Timestamp;

use super::Engine;
use super::records::Attempt;
use super::trace::{step_span, traced};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Enrolls `phone` with `pin` and the account to debit, directly.
    ///
    /// For hosts that have verified by their own means that the person holds `phone` (a signed
    /// contract, a bank's strong authentication), or that bring accounts over from a system of
    /// their own; others use [`Engine::start_enrollment`]. The PIN's length must be within the
    /// policy's range; the weak-PIN rules are the host's to apply here, with
    /// [`Policy::check_new_pin`](crate::Policy::check_new_pin), since a PIN carried over was
    /// chosen under other rules. The PIN is stored only as a salted, peppered HMAC. A closed
    /// account of the number is replaced by the new one (a number that changed hands).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`] when the PIN's length is outside the policy's range,
    /// [`Error::AlreadyEnrolled`] when the number has an active or suspended account,
    /// [`Error::Tampered`], [`Error::Storage`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, FundingSource, PhoneNumber, Pin};
    ///
    /// /// Brings over an account from the host's own system, whose holder it verified.
    /// async fn migrate(
    ///     engine: &Engine,
    ///     number: &str,
    ///     pin: &str,
    ///     iban: &str,
    /// ) -> Result<(), Error> {
    ///     let (phone, pin): (PhoneNumber, Pin) = (number.parse()?, pin.parse()?);
    ///     let funding: FundingSource = iban.parse()?;
    ///     engine.enroll(&phone, &pin, funding).await
    /// }
    /// ```
    pub async fn enroll(
        &self,
        phone: &PhoneNumber,
        pin: &Pin,
        funding: FundingSource,
    ) -> Result<(), Error> {
        let span = step_span!("buyster.enroll", phone = %phone.masked());
        traced(span, async move {
            self.policy.check_pin_length(pin)?;
            let account = Account::new(&self.keys, pin, funding, self.clock.now());
            let report = Some((phone, EventKind::Enrolled));
            self.create_account(&self.number_keys(phone).account, &account, report)
                .await?;
            Ok(())
        })
        .await
    }

    /// Starts enrolling `phone`: sends it an SMS code that proves, once typed back into
    /// [`Engine::finish_enrollment`], that the applicant holds the number.
    ///
    /// Never looks at accounts: a number that is already enrolled gets its SMS too, and learns
    /// it only at `finish_enrollment`, once the code proved that the caller holds it. The SMS
    /// counts in the number's enrollment window (`max_enrollment_sms_per_number`, apart from
    /// the payment codes'), and a locked number is refused, as at a checkout. The code lives
    /// for the policy's `code_ttl` and takes `max_code_attempts` guesses; it is stored only as
    /// a tag bound to the enrollment and the number.
    ///
    /// # Security
    ///
    /// Anyone may call this for any number: it needs no secret and costs an SMS. The engine
    /// caps it per number; the host **must** also rate-limit it per client (address, session,
    /// captcha), or one client can send enrollment codes to many numbers, at the host's
    /// expense and to their holders' annoyance. Each call stores an enrollment record that
    /// stays after it ends (`enrollment/<id>` keys); a host may delete those older than a day.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::RateLimited`], [`Error::Sms`] (start again: the code may not
    /// have been delivered), [`Error::Tampered`], [`Error::Storage`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{EnrollmentId, Error, PhoneNumber};
    ///
    /// /// `POST /enroll`: the number the applicant typed; the enrollment id goes into the session.
    /// async fn start(engine: &Engine, typed: &str) -> Result<EnrollmentId, Error> {
    ///     let phone: PhoneNumber = typed.parse()?;
    ///     let enrollment = engine.start_enrollment(&phone).await?;
    ///     Ok(enrollment.id())
    /// }
    /// ```
    pub async fn start_enrollment(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Enrollment<CodeSent>, Error> {
        let span = step_span!(
            "buyster.start_enrollment",
            phone = %phone.masked(),
            enrollment = ::tracing::field::Empty
        );
        traced(span, async move {
            let now = self.clock.now();
            let policy = &self.policy;
            let read = self.read_guard(self.number_keys(phone).guard).await?;
            self.update_guard(read, |g| {
                g.check_open(now)?;
                Ok((Some(g.after_enrollment_sms(now, policy)?), ()))
            })
            .await?;
            let code = OtpCode::random(policy.code_digits);
            let enrollment = started(phone.clone(), &code, now, &self.keys, policy);
            // A new enrollment's key is absent: a lost race is an id already taken, and a new id
            // goes again.
            let tagged = &code;
            let stored = self
                .retry(enrollment, |enrollment| {
                    Box::pin(async move {
                        let write = self.enrollment_write(&enrollment);
                        Ok(match self.try_put(enrollment.key(), None, write).await? {
                            Some(version) => Attempt::Done(enrollment.with_version(version)),
                            None => Attempt::Again(with_new_id(enrollment, tagged, &self.keys)),
                        })
                    })
                })
                .await?;
            self.send_enrollment_code(stored, code, now).await
        })
        .await
    }

    /// Finishes an enrollment: checks the code the applicant typed and, if it is right, makes
    /// the account with `pin` and `funding`.
    ///
    /// The new PIN is checked against the policy's rules first (a refused PIN costs no
    /// attempt). A right code is answered only once the number's guard, written back by
    /// compare-and-swap, was found open at the version written: guesses that lock the number
    /// meanwhile make it [`Error::Locked`], the code unused. It is then used up, by
    /// compare-and-swap, before the account is made:
    /// two calls racing with it, or a call with a stale copy of an enrollment that failed
    /// meanwhile, make one account at most; the others get [`Error::WrongEnrollmentState`].
    /// A wrong code is [`EnrollmentCheck::Rejected`] with the attempts left, and also counts in the number's guard towards the PIN lock, so that codes cannot be guessed
    /// across enrollments; the last allowed wrong code fails the enrollment. A right code does
    /// not reset the PIN count: holding the phone says nothing of knowing the PIN.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`], [`Error::WeakPin`], [`Error::AlreadyEnrolled`] (after a right
    /// code: the number has an active or suspended account; the enrollment is then `Failed`),
    /// [`Error::Storage`] (after a right code it may leave the enrollment
    /// [`Accepted`](EnrollmentKind::Accepted), its code used up, and the account made or not:
    /// [`BackOffice::account`](super::BackOffice::account) tells; if not, the applicant starts
    /// again),
    /// [`Error::TooManyAttempts`], [`Error::Expired`] (both: the enrollment is then `Failed`),
    /// [`Error::Locked`], [`Error::WrongEnrollmentState`] when it moved on meanwhile,
    /// [`Error::Tampered`], [`Error::Conflict`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{EnrollmentCheck, EnrollmentId, Error, FundingSource, OtpCode, Pin};
    ///
    /// /// `POST /enroll/{id}`: the code received, the PIN chosen and the account to debit.
    /// async fn finish(
    ///     engine: &Engine,
    ///     id: EnrollmentId,
    ///     (code, pin, iban): (&str, &str, &str),
    /// ) -> Result<String, Error> {
    ///     let (code, pin): (OtpCode, Pin) = (code.parse()?, pin.parse()?);
    ///     let funding: FundingSource = iban.parse()?;
    ///     let enrollment = engine.resume_enrollment(id).await?;
    ///     Ok(match engine.finish_enrollment(enrollment, &code, &pin, funding).await? {
    ///         EnrollmentCheck::Enrolled(_) => "enrolled: pay with your mobile".to_owned(),
    ///         EnrollmentCheck::Rejected { attempts_left, .. } => {
    ///             format!("wrong code, {attempts_left} attempts left")
    ///         }
    ///     })
    /// }
    /// ```
    pub async fn finish_enrollment(
        &self,
        enrollment: Enrollment<CodeSent>,
        code: &OtpCode,
        pin: &Pin,
        funding: FundingSource,
    ) -> Result<EnrollmentCheck, Error> {
        let span = step_span!("buyster.finish_enrollment", enrollment = %enrollment.id());
        traced(span, async move {
            self.policy.check_new_pin(pin)?;
            let now = self.clock.now();
            if enrollment.is_expired(now) {
                return Err(self.expire_enrollment(enrollment, now).await);
            }
            let guard = &self
                .open_guard(self.number_keys(enrollment.phone()).guard, now)
                .await?;
            let funding = &funding;
            self.update_enrollment(enrollment, |enrollment| {
                Box::pin(async move {
                    if enrollment.is_expired(now) {
                        return Err(self.expire_enrollment(enrollment, now).await);
                    }
                    match code_typed(enrollment, code, now, &self.keys)? {
                        CodeStep::Right(right) => {
                            // Decided against the guard it writes: a lock that wrong codes or
                            // PINs reached since the guard was read refuses the code, which
                            // stays unused.
                            self.confirm_open(guard.clone(), now).await?;
                            // The code is used up before the account is made: of racing calls,
                            // and of a stale copy of an enrollment that ended, only one gets
                            // past this.
                            let Some(taken) = self.replace_enrollment(accepted(right, now)).await?
                            else {
                                return Ok(None);
                            };
                            let made = self.complete_enrollment(taken, pin, funding.clone(), now);
                            made.await.map(Some)
                        }
                        CodeStep::Wrong(next) => {
                            let attempts_left = next.attempts_left();
                            let kind = EventKind::EnrollmentCodeRejected { attempts_left };
                            let Some(stored) =
                                self.replace_enrollment_reporting(next, kind, now).await?
                            else {
                                return Ok(None);
                            };
                            let answer = self.wrong_enrollment_code(stored, guard.clone(), now);
                            answer.await.map(Some)
                        }
                        CodeStep::Exhausted(next) => {
                            let failure = EnrollmentFailure::TooManyAttempts;
                            let kind = EventKind::EnrollmentFailed(failure);
                            let Some(stored) =
                                self.replace_enrollment_reporting(next, kind, now).await?
                            else {
                                return Ok(None);
                            };
                            Err(self.exhausted_enrollment(stored, guard.clone(), now).await)
                        }
                    }
                })
            })
            .await
        })
        .await
    }

    /// The enrollment stored under `id`, in whatever state it is.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Tampered`], [`Error::Storage`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{EnrollmentId, Error};
    ///
    /// /// A support tool: where an applicant's enrollment stands.
    /// async fn enrollment_status(engine: &Engine, id: EnrollmentId) -> Result<String, Error> {
    ///     let enrollment = engine.load_enrollment(id).await?;
    ///     Ok(format!("enrollment {id}: {}", enrollment.kind()))
    /// }
    /// ```
    pub async fn load_enrollment(&self, id: EnrollmentId) -> Result<AnyEnrollment, Error> {
        let span = step_span!("buyster.load_enrollment", enrollment = %id);
        traced(span, async move { self.read_enrollment(id).await }).await
    }

    /// The enrollment stored under `id`, waiting for its code: how a server picks it up again
    /// from the id it kept between two requests.
    ///
    /// # Errors
    ///
    /// [`Error::WrongEnrollmentState`] when its code was used or it failed, and those of
    /// [`Engine::load_enrollment`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{EnrollmentId, Error};
    ///
    /// /// `GET /enroll/{id}`: the code form, or back to the start when the enrollment ended.
    /// async fn code_form(engine: &Engine, id: EnrollmentId) -> Result<String, Error> {
    ///     match engine.resume_enrollment(id).await {
    ///         Ok(waiting) => Ok(format!("code sent to {}", waiting.phone().masked())),
    ///         Err(Error::WrongEnrollmentState { .. }) => Ok("please start again".to_owned()),
    ///         Err(error) => Err(error),
    ///     }
    /// }
    /// ```
    pub async fn resume_enrollment(&self, id: EnrollmentId) -> Result<Enrollment<CodeSent>, Error> {
        let span = step_span!("buyster.resume_enrollment", enrollment = %id);
        traced(
            span,
            async move { self.enrollment_in::<CodeSent>(id).await },
        )
        .await
    }

    /// Hands the SMS carrying an enrollment's code to the gateway.
    async fn send_enrollment_code(
        &self,
        enrollment: Enrollment<CodeSent>,
        code: OtpCode,
        now: Timestamp,
    ) -> Result<Enrollment<CodeSent>, Error> {
        let phone = enrollment.phone();
        let language = self
            .policy
            .sms_language
            .unwrap_or_else(|| Language::for_number(phone));
        let body = enrollment_message(language, &code);
        let sms = SmsMessage::for_enrollment(phone.clone(), body, enrollment.id(), code);
        self.sms.send(&sms).await.map_err(Error::Sms)?;
        self.emit(|| {
            let key = enrollment.key().as_str();
            let id = EventId::after_write(key, enrollment.version().number(), now.as_unix_millis());
            Event::enrollment(id, EventKind::EnrollmentStarted, &enrollment, now)
        });
        Ok(enrollment)
    }

    /// Records that `enrollment` expired; the error to give the caller: `Expired` once it is
    /// stored as expired, `WrongEnrollmentState` when a racing call ended it otherwise.
    pub(super) async fn expire_enrollment(
        &self,
        enrollment: Enrollment<CodeSent>,
        now: Timestamp,
    ) -> Error {
        let (id, reason) = (enrollment.id(), EnrollmentFailure::Expired);
        let expired = self.retry(enrollment, |enrollment| {
            Box::pin(async move {
                let kind = EventKind::EnrollmentFailed(reason);
                let next = failed(enrollment, reason, now);
                if self
                    .replace_enrollment_reporting(next, kind, now)
                    .await?
                    .is_some()
                {
                    return Ok(Attempt::Done(Error::Expired));
                }
                Ok(match self.read_enrollment(id).await? {
                    AnyEnrollment::CodeSent(enrollment) => Attempt::Again(enrollment),
                    AnyEnrollment::Failed(done) if done.state().reason() == reason => {
                        Attempt::Done(Error::Expired)
                    }
                    other => Attempt::Done(Error::WrongEnrollmentState {
                        expected: EnrollmentKind::CodeSent,
                        found: other.kind(),
                    }),
                })
            })
        });
        expired.await.unwrap_or_else(|error| error)
    }
}
