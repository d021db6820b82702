//! Sending codes and checking them.

use crate::Error;
use crate::events::{Event, EventKind};
use crate::host::{Bank, Clock, SmsGateway, SmsMessage, Store};
use crate::ids::EventId;
use crate::language::Language;
use crate::payment::steps::{
    CodeStep, check_resend, code_not_sent, code_resent, code_restored, code_sent, code_typed,
};
use crate::payment::{CodeCheck, OtpSent, Payment, PinVerified, StateRecord};
use crate::phone::PhoneNumber;
use crate::secret::OtpCode;
use crate::text::code_message;
use crate::time::Timestamp;

use super::Engine;
use super::trace::{step_span, traced};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Sends the buyer a single-use code by SMS, naming the amount and the merchant.
    ///
    /// The code is stored only as a tag bound to this payment, its amount and its merchant,
    /// before the SMS is counted against the number's window and handed to the gateway. If
    /// either refuses, the payment is put back to `PinVerified`, and `send_code` may be called
    /// again (after [`Engine::resume`]).
    ///
    /// # Errors
    ///
    /// [`Error::RateLimited`] when the number received the policy's maximum of SMS in the
    /// window, [`Error::Sms`], [`Error::Expired`] (the payment is then `Failed`),
    /// [`Error::WrongState`] when the payment moved on meanwhile, [`Error::Storage`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, PaymentId, PinVerified};
    ///
    /// /// `POST /payments/{id}/send`: the "send my code" button, also after the gateway failed.
    /// async fn send(engine: &Engine, id: PaymentId) -> Result<String, Error> {
    ///     let verified = engine.resume::<PinVerified>(id).await?;
    ///     let sent = engine.send_code(verified).await?;
    ///     Ok(format!("code sent; {} wrong codes allowed", sent.attempts_left()))
    /// }
    /// ```
    pub async fn send_code(
        &self,
        payment: Payment<PinVerified>,
    ) -> Result<Payment<OtpSent>, Error> {
        let span = step_span!("buyster.send_code", payment = %payment.id());
        traced(span, async move {
            let now = self.clock.now();
            let code = OtpCode::random(self.policy.code_digits);
            let tagged = &code;
            let (sent, verified_at, counted) = self
                .update_payment(payment, |payment| {
                    Box::pin(async move {
                        if payment.is_expired(now) {
                            return Err(self.expire(payment, now).await);
                        }
                        let verified_at = payment.state().verified_at();
                        // The right PIN counted this SMS already, when the window had room.
                        let counted = payment.state().sms_counted;
                        let next = code_sent(payment, tagged, now, &self.keys, &self.policy);
                        let stored = self.replace(next).await?;
                        Ok(stored.map(|sent| (sent, verified_at, counted)))
                    })
                })
                .await?;
            match self.dispatch(&sent, code, now, counted).await {
                Ok(()) => Ok(self.code_went_out(sent, now)),
                Err(error) => {
                    self.undo_send(code_not_sent(sent, verified_at)).await;
                    Err(error)
                }
            }
        })
        .await
    }

    /// Sends a new code in place of the current one, after the policy's cooldown and within its
    /// number of resends. Wrong attempts made on earlier codes still count.
    ///
    /// The resend is recorded on the payment by compare-and-swap before anything is sent, so
    /// racing resends send one SMS; if the window or the gateway refuses, the previous code and
    /// counters are put back and stay valid.
    ///
    /// # Errors
    ///
    /// [`Error::ResendTooSoon`], [`Error::ResendLimit`], [`Error::RateLimited`], [`Error::Sms`],
    /// [`Error::Expired`], [`Error::WrongState`], [`Error::Storage`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, OtpSent, PaymentId};
    ///
    /// /// `POST /payments/{id}/resend`: the "send me a new code" link.
    /// async fn resend(engine: &Engine, id: PaymentId) -> Result<String, Error> {
    ///     let sent = engine.resume::<OtpSent>(id).await?;
    ///     match engine.resend_code(sent).await {
    ///         Ok(sent) => Ok(format!("new code sent; {} more possible", sent.resends_left())),
    ///         Err(Error::ResendTooSoon { retry_at }) => Ok(format!("ask again after {retry_at}")),
    ///         Err(error) => Err(error),
    ///     }
    /// }
    /// ```
    pub async fn resend_code(&self, payment: Payment<OtpSent>) -> Result<Payment<OtpSent>, Error> {
        let span = step_span!("buyster.resend_code", payment = %payment.id());
        traced(span, async move {
            let now = self.clock.now();
            let code = OtpCode::random(self.policy.code_digits);
            let tagged = &code;
            let (sent, previous) = self
                .update_payment(payment, |payment| {
                    Box::pin(async move {
                        if payment.is_expired(now) {
                            return Err(self.expire(payment, now).await);
                        }
                        check_resend(&payment, now, &self.policy)?;
                        let previous = payment.state().snapshot();
                        let next = code_resent(payment, tagged, now, &self.keys, &self.policy);
                        let stored = self.replace(next).await?;
                        Ok(stored.map(|sent| (sent, previous)))
                    })
                })
                .await?;
            match self.dispatch(&sent, code, now, false).await {
                Ok(()) => Ok(self.code_went_out(sent, now)),
                Err(error) => {
                    self.undo_send(code_restored(sent, &previous)).await;
                    Err(error)
                }
            }
        })
        .await
    }

    /// Checks the code the buyer typed; if it is right, consumes it and debits the buyer.
    ///
    /// The code is consumed by a compare-and-swap into `Authorized` before the bank is called,
    /// and the debit carries the payment id as its idempotency key, so a code works once and the
    /// buyer is debited at most once whatever races, crashes or retries happen.
    ///
    /// A wrong code is [`CodeCheck::Rejected`] with the attempts left; the last allowed wrong
    /// code fails the payment with [`Error::TooManyAttempts`] (and gives back its share of the
    /// number's spending limits). A right code, a full authentication, also ends the number's
    /// streak of payments exempt from the code, when the policy has the exemption on.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyAttempts`], [`Error::Expired`] (code or payment; see its docs),
    /// [`Error::Declined`] (the payment is then `Failed`), [`Error::Bank`] (the payment stays
    /// `Authorized`: call [`Engine::settle`] later), [`Error::WrongState`] when the payment moved
    /// on meanwhile (for example a racing confirmation won), [`Error::Tampered`],
    /// [`Error::Storage`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{CodeCheck, Error, OtpCode, OtpSent, PaymentId};
    ///
    /// /// `POST /payments/{id}/code`: the code the buyer typed.
    /// async fn submit_code(engine: &Engine, id: PaymentId, typed: &str) -> Result<String, Error> {
    ///     let code: OtpCode = typed.parse()?;
    ///     let payment = engine.resume::<OtpSent>(id).await?;
    ///     Ok(match engine.confirm(payment, &code).await? {
    ///         CodeCheck::Confirmed(paid) => format!("paid: {}", paid.receipt().bank_reference()),
    ///         CodeCheck::Rejected { attempts_left, .. } => {
    ///             format!("wrong code, {attempts_left} attempts left")
    ///         }
    ///     })
    /// }
    /// ```
    pub async fn confirm(
        &self,
        payment: Payment<OtpSent>,
        code: &OtpCode,
    ) -> Result<CodeCheck, Error> {
        let span = step_span!("buyster.confirm", payment = %payment.id());
        traced(span, async move {
            self.update_payment(payment, |payment| {
                Box::pin(async move {
                    let now = self.clock.now();
                    if payment.is_expired(now) {
                        return Err(self.expire(payment, now).await);
                    }
                    match code_typed(payment, code, now, &self.keys)? {
                        CodeStep::Right(next) => {
                            let kind = EventKind::Authorized;
                            let Some(authorized) = self.replace_reporting(next, kind, now).await?
                            else {
                                return Ok(None);
                            };
                            self.end_streak(&authorized, now).await;
                            self.settle(authorized)
                                .await
                                .map(|paid| Some(CodeCheck::Confirmed(paid)))
                        }
                        CodeStep::Wrong(next) => {
                            let attempts_left = next.attempts_left();
                            let kind = EventKind::CodeRejected { attempts_left };
                            let Some(payment) = self.replace_reporting(next, kind, now).await?
                            else {
                                return Ok(None);
                            };
                            Ok(Some(CodeCheck::Rejected {
                                payment,
                                attempts_left,
                            }))
                        }
                        CodeStep::Exhausted(next) => {
                            let kind = EventKind::Failed(next.reason());
                            if self.store_failure(next, kind, now).await?.is_none() {
                                return Ok(None);
                            }
                            Err(Error::TooManyAttempts)
                        }
                    }
                })
            })
            .await
        })
        .await
    }

    /// The payment whose code the gateway took, after its event.
    fn code_went_out(&self, sent: Payment<OtpSent>, now: Timestamp) -> Payment<OtpSent> {
        let resends_left = sent.resends_left();
        self.emit(|| {
            let id = EventId::after_write(
                sent.key().as_str(),
                sent.version().number(),
                now.as_unix_millis(),
            );
            Event::payment(id, EventKind::CodeSent { resends_left }, &sent, now)
        });
        sent
    }

    /// Counts one SMS to `phone` in its guard, or refuses it when the window is full.
    async fn count_sms(&self, phone: &PhoneNumber, now: Timestamp) -> Result<(), Error> {
        let read = self.read_guard(self.number_keys(phone).guard).await?;
        let policy = &self.policy;
        self.update_guard(read, |g| Ok((Some(g.after_sms(now, policy)?), ())))
            .await
    }

    /// Counts the SMS carrying `code` against the number's window (unless `counted` already),
    /// then hands it to the gateway.
    async fn dispatch(
        &self,
        payment: &Payment<OtpSent>,
        code: OtpCode,
        now: Timestamp,
        counted: bool,
    ) -> Result<(), Error> {
        if !counted {
            self.count_sms(payment.phone(), now).await?;
        }
        self.deliver(payment, code).await
    }

    /// Hands the SMS carrying `code` for `payment` to the gateway.
    async fn deliver(&self, payment: &Payment<OtpSent>, code: OtpCode) -> Result<(), Error> {
        let phone = payment.phone();
        let language = self
            .policy
            .sms_language
            .unwrap_or_else(|| Language::for_number(phone));
        let merchant = payment.order().merchant().display_name();
        let body = code_message(language, &code, payment.order().amount(), merchant);
        let sms = SmsMessage::new(phone.clone(), body, payment.id(), code);
        self.sms.send(&sms).await.map_err(Error::Sms)
    }

    /// Puts back the state from before a send that failed, if nothing changed since. Best
    /// effort: when it cannot, the payment keeps a code the buyer never received, and the buyer
    /// asks for another.
    async fn undo_send<S: StateRecord>(&self, previous: Payment<S>) {
        let _ = self.replace(previous).await;
    }
}
