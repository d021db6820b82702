//! The buyer's steps, shared by the JSON API and the HTML pages. Each takes a payment id,
//! picks the payment up from the store (never from the client), drives the engine, and says
//! what became of the payment.

use axum::http::StatusCode;
use buyster::{
    AnyPayment, CancelReason, Clock, CodeCheck, DeclineReason, Error, IdempotencyKey, Initiated,
    MerchantId, NextLock, Order, OtpCode, OtpSent, PaymentId, PhoneNumber, Pin, PinCheck,
    PinVerified, SpendingLimit, Timestamp,
};

use super::App;
use super::input::Field;
use super::limits::{ClientAddress, PinSender, TooMany};

/// Why a step was refused, sorted for the answer to give (HTTP status, page text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A value could not be parsed.
    Malformed {
        /// The field at fault.
        field: Field,
        /// What is wrong with it; never the value itself.
        message: String,
    },
    /// No merchant has the given id.
    UnknownMerchant,
    /// No payment has the given id (or the id is not one).
    UnknownPayment,
    /// The payment is not in a state that allows the step.
    WrongState,
    /// The payment has no resend left.
    ResendLimit,
    /// The payment kept changing under concurrent calls.
    Conflict,
    /// The order's idempotency key already names a payment of another order (another
    /// amount, currency, reference or channel) or another number.
    KeyReused,
    /// The payment, or only its code, is past its time to live.
    Expired,
    /// The last allowed code was wrong: the payment has failed.
    TooManyAttempts,
    /// Too many wrong PINs for the number.
    Locked {
        /// When PINs are taken again; `None` for good.
        until: Option<Timestamp>,
    },
    /// Too many SMS to the number lately.
    RateLimited {
        /// When an SMS may be sent again.
        retry_at: Timestamp,
    },
    /// A resend before the cooldown elapsed.
    ResendTooSoon {
        /// When a resend is accepted.
        retry_at: Timestamp,
    },
    /// The PIN was right, but the payment would take the number over a spending limit: the
    /// payment stays where it was, nothing reserved.
    LimitExceeded {
        /// Which limit.
        limit: SpendingLimit,
        /// When the amount would fit again; `None` for never.
        frees_at: Option<Timestamp>,
    },
    /// The bank refused the debit: the payment has failed.
    Declined(DeclineReason),
    /// The bank did not answer: the payment stays authorized and is settled later.
    BankUnavailable,
    /// The debit's outcome is unknown because the server's own storage (the demo bank's
    /// ledger) failed, not the bank: logged; the payment stays authorized, and recovery asks
    /// again under the same key (no second debit) once the storage is repaired.
    StorageFailed,
    /// The SMS gateway failed: the send may be tried again.
    SmsUnavailable,
    /// The database could not be reached, or its answer was lost: nothing is known to be
    /// lost, and the step may be tried again (the payment is read again first).
    StoreUnavailable,
    /// A refusal the buyer's steps never meet (an account, enrollment or refund call): its
    /// status and stable code, so that no engine error is ever a bare 500.
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// The stable error code.
        code: &'static str,
        /// What it means, for people.
        message: &'static str,
    },
    /// The store failed or a record failed its integrity check: logged, never detailed.
    Internal,
    /// An abuse limit of the server refused the request before it reached the engine.
    Limited(TooMany),
}

impl Problem {
    /// The HTTP status that tells this problem, for the API and the pages alike.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed { .. } | Self::UnknownMerchant => StatusCode::BAD_REQUEST,
            Self::Declined(_) | Self::LimitExceeded { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::UnknownPayment => StatusCode::NOT_FOUND,
            Self::WrongState | Self::ResendLimit | Self::Conflict | Self::KeyReused => {
                StatusCode::CONFLICT
            }
            Self::Expired => StatusCode::GONE,
            Self::TooManyAttempts => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Locked { .. } => StatusCode::LOCKED,
            Self::RateLimited { .. } | Self::ResendTooSoon { .. } | Self::Limited(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Refused { status, .. } => *status,
            Self::Internal | Self::StorageFailed => StatusCode::INTERNAL_SERVER_ERROR,
            Self::BankUnavailable | Self::SmsUnavailable | Self::StoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The problem an engine error is, logging the ones the buyer cannot act on.
    ///
    /// Every variant buyster has today is named here, each with its own answer; only the
    /// server's own faults (its store, a record failing its integrity check, its configuration)
    /// are a 500. `api::reply::every_engine_error` walks them all.
    pub(super) fn from_engine(error: &Error, id: Option<PaymentId>) -> Self {
        let malformed = |field: Field| Self::Malformed {
            field,
            message: error.to_string(),
        };
        let refused =
            |status: StatusCode, code: &'static str, message: &'static str| Self::Refused {
                status,
                code,
                message,
            };
        match error {
            Error::NotFound | Error::InvalidPaymentId => Self::UnknownPayment,
            Error::WrongState { .. } | Error::WrongEnrollmentState { .. } => Self::WrongState,
            Error::Conflict | Error::Storage(buyster::StoreError::Conflict) => Self::Conflict,
            Error::IdempotencyKeyReused => Self::KeyReused,
            Error::Expired => Self::Expired,
            Error::TooManyAttempts => Self::TooManyAttempts,
            Error::Locked { until } => Self::Locked { until: *until },
            Error::RateLimited { retry_at } => Self::RateLimited {
                retry_at: *retry_at,
            },
            Error::ResendTooSoon { retry_at } => Self::ResendTooSoon {
                retry_at: *retry_at,
            },
            Error::ResendLimit => Self::ResendLimit,
            Error::Declined(reason) => Self::Declined(*reason),
            Error::LimitExceeded { limit, frees_at } => Self::LimitExceeded {
                limit: *limit,
                frees_at: *frees_at,
            },
            Error::Bank(_) => Self::BankUnavailable,
            Error::Storage(
                buyster::StoreError::Unavailable(cause)
                | buyster::StoreError::OutcomeUnknown(cause),
            ) => {
                eprintln!("store unavailable: {cause}");
                Self::StoreUnavailable
            }
            Error::Sms(_) => Self::SmsUnavailable,
            Error::CurrencyNotAccepted(currency) => Self::Malformed {
                field: Field::Currency,
                message: format!("payments in {currency} are not accepted"),
            },
            Error::InvalidAmount(_) => malformed(Field::Amount),
            Error::InvalidChannel => malformed(Field::Channel),
            Error::InvalidCode(_) => malformed(Field::Code),
            Error::InvalidIdempotencyKey(_) => malformed(Field::IdempotencyKey),
            Error::InvalidMerchant(_) => malformed(Field::Merchant),
            Error::InvalidPhone(_) => malformed(Field::Phone),
            Error::InvalidPin(_) | Error::WeakPin(_) => malformed(Field::Pin),
            Error::InvalidReference(_) => malformed(Field::Reference),
            Error::InvalidEnrollmentId => refused(
                StatusCode::BAD_REQUEST,
                "invalid_enrollment_id",
                "the enrollment id is malformed",
            ),
            Error::InvalidFundingToken(_) => refused(
                StatusCode::BAD_REQUEST,
                "invalid_funding_token",
                "the funding token is malformed",
            ),
            Error::InvalidIban(_) => refused(
                StatusCode::BAD_REQUEST,
                "invalid_iban",
                "the IBAN is malformed or fails its check digits",
            ),
            Error::InvalidRefundKey(_) => refused(
                StatusCode::BAD_REQUEST,
                "invalid_refund_key",
                "the refund key is malformed",
            ),
            Error::InvalidRegion => refused(
                StatusCode::BAD_REQUEST,
                "invalid_region",
                "the region is not one of the numbering plan's",
            ),
            Error::AccountClosed => refused(
                StatusCode::CONFLICT,
                "account_closed",
                "this account is closed",
            ),
            Error::AlreadyEnrolled => refused(
                StatusCode::CONFLICT,
                "already_enrolled",
                "this number already has an account",
            ),
            Error::NotEnrolled => refused(
                StatusCode::NOT_FOUND,
                "not_enrolled",
                "this number has no account",
            ),
            Error::ExemptionWithdrawn => refused(
                StatusCode::CONFLICT,
                "exemption_withdrawn",
                "the payment needs its code after all: send it",
            ),
            Error::RefundKeyReused => refused(
                StatusCode::CONFLICT,
                "refund_key_reused",
                "this refund key was used for another refund of the payment",
            ),
            Error::RefundTooLarge { .. } => refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refund_too_large",
                "the refund exceeds what is left to refund",
            ),
            Error::TooManyRefunds => refused(
                StatusCode::CONFLICT,
                "too_many_refunds",
                "this payment has had all the refunds it may have",
            ),
            // The server's own faults: its store, a record that fails its integrity check, its
            // configuration (caught at start), and anything a later buyster adds. The
            // operator's to see; the client learns nothing of them.
            Error::Storage(buyster::StoreError::Backend(_))
            | Error::Tampered
            | Error::InvalidPolicy(_)
            | Error::InvalidKey
            | Error::KeyIdInUse { .. }
            | _ => {
                let id = id.map_or_else(|| "-".to_owned(), |id| id.to_string());
                eprintln!("error: payment {id}: {error}");
                Self::Internal
            }
        }
    }
}

/// A step refused, and the payment as it now stands when there is one.
#[derive(Debug)]
pub struct Refusal {
    /// Why.
    pub problem: Problem,
    /// The payment after the refusal (reloaded from the store).
    pub payment: Option<AnyPayment>,
}

impl From<Problem> for Refusal {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            payment: None,
        }
    }
}

/// A step taken.
#[derive(Debug)]
pub enum Step {
    /// The payment moved on, and now stands so.
    Moved(AnyPayment),
    /// A wrong PIN: the payment is unchanged; `attempts_left` more lock the number.
    WrongPin {
        /// The payment, still `Initiated`.
        payment: AnyPayment,
        /// Wrong PINs left before the lock.
        attempts_left: u8,
        /// The lock they lead to: the buyer is warned when it is permanent.
        next_lock: NextLock,
    },
    /// A wrong code: `attempts_left` more fail the payment.
    WrongCode {
        /// The payment, still `OtpSent`.
        payment: AnyPayment,
        /// Wrong codes left.
        attempts_left: u8,
    },
}

/// What a step answers.
pub type Answer = Result<Step, Refusal>;

impl App {
    /// The order of `amount` for `reference` at the merchant `merchant_id`.
    pub async fn order(
        &self,
        merchant_id: &str,
        amount: buyster::Amount,
        reference: &str,
    ) -> Result<Order, Refusal> {
        if let Err(error) = merchant_id.parse::<MerchantId>() {
            return Err(super::input::malformed(Field::Merchant, error.to_string()).into());
        }
        let merchant = match self.index.merchant(merchant_id).await {
            Ok(Some(merchant)) => merchant,
            Ok(None) => return Err(Problem::UnknownMerchant.into()),
            Err(error) => return Err(internal("looking up a merchant", &error)),
        };
        Order::new(merchant, amount, reference)
            .map_err(|error| super::input::malformed(Field::Reference, error.to_string()).into())
    }

    /// Starts the one payment of `order` by the holder of `phone` under the merchant's `key`,
    /// for `client`, or gives back the payment an earlier request made for it, as it now
    /// stands: a retried request, a double click or a second tab pays once, and counts once
    /// against the client's limits.
    pub async fn start(
        &self,
        client: ClientAddress,
        order: Order,
        phone: &PhoneNumber,
        key: &IdempotencyKey,
    ) -> Result<AnyPayment, Refusal> {
        let creation = self
            .limiter
            .creation(client, order.merchant().id(), key, phone);
        let asked_at = self.clock.now();
        let admission = self
            .limiter
            .admit_creation(&creation, asked_at)
            .map_err(|refused| Refusal::from(Problem::Limited(refused)))?;
        match self.engine.initiate_once(order, phone, key).await {
            Ok(payment) => {
                self.limiter
                    .created(&creation, admission, &payment, asked_at);
                Ok(payment)
            }
            Err(error) => {
                let problem = Problem::from_engine(&error, None);
                // A lost answer may hide a payment made: it stays counted.
                if !matches!(problem, Problem::StoreUnavailable | Problem::Internal) {
                    self.limiter.not_created(&creation, admission);
                }
                Err(problem.into())
            }
        }
    }

    /// The payment `id` as it stands.
    pub async fn payment(&self, id: PaymentId) -> Result<AnyPayment, Refusal> {
        self.engine
            .load(id)
            .await
            .map_err(|error| Problem::from_engine(&error, Some(id)).into())
    }

    /// Checks the PIN that `sender` typed and, when it is right, sends the code. The server's
    /// PIN limits come first: a PIN they refuse never reaches the number's guard.
    pub async fn submit_pin(&self, sender: PinSender, id: PaymentId, pin: &Pin) -> Answer {
        let payment = self.resume::<Initiated>(id).await?;
        let now = self.clock.now();
        let ticket = match self.limiter.admit_pin(sender, payment.phone(), now) {
            Ok(ticket) => ticket,
            Err(refused) => {
                return Err(Refusal {
                    problem: Problem::Limited(refused),
                    payment: Some(payment.into_any()),
                });
            }
        };
        let answer = self.check_pin(id, payment, pin).await;
        // What the guard may have counted stays counted: a wrong PIN, a lock, a lost answer.
        let maybe_wrong = match &answer {
            Ok(step) => matches!(step, Step::WrongPin { .. }),
            Err(refusal) => matches!(
                refusal.problem,
                Problem::Locked { .. }
                    | Problem::Conflict
                    | Problem::StoreUnavailable
                    | Problem::Internal
            ),
        };
        if !maybe_wrong {
            self.limiter.pin_not_wrong(sender, ticket);
        }
        answer
    }

    async fn check_pin(
        &self,
        id: PaymentId,
        payment: buyster::Payment<Initiated>,
        pin: &Pin,
    ) -> Answer {
        match self.engine.verify_pin(payment, pin).await {
            Ok(PinCheck::Verified(verified)) => self.send_code(verified).await,
            Ok(PinCheck::Rejected {
                payment,
                attempts_left,
                next_lock,
            }) => Ok(Step::WrongPin {
                payment: payment.into_any(),
                attempts_left,
                next_lock,
            }),
            Err(error) => Err(self.refusal(id, &error).await),
        }
    }

    /// Notes a payment that `answer` shows finished: see [`App::observe_payment`].
    pub fn observe(&self, answer: &Answer) {
        match answer {
            Ok(Step::Moved(payment))
            | Err(Refusal {
                payment: Some(payment),
                ..
            }) => self.observe_payment(payment),
            Ok(_) | Err(_) => {}
        }
    }

    /// Notes `payment` if it is finished (authorized, confirmed, failed): it no longer counts
    /// among its client's open payments.
    pub fn observe_payment(&self, payment: &AnyPayment) {
        let finished = matches!(
            payment,
            AnyPayment::Authorized(_) | AnyPayment::Confirmed(_) | AnyPayment::Failed(_)
        );
        if finished {
            self.limiter.ended(payment.id());
        }
    }

    /// Checks the code the buyer typed; a right one is consumed and the buyer debited.
    pub async fn submit_code(&self, id: PaymentId, code: &OtpCode) -> Answer {
        let payment = self.resume::<OtpSent>(id).await?;
        match self.engine.confirm(payment, code).await {
            Ok(CodeCheck::Confirmed(paid)) => Ok(Step::Moved(paid.into_any())),
            Ok(CodeCheck::Rejected {
                payment,
                attempts_left,
            }) => Ok(Step::WrongCode {
                payment: payment.into_any(),
                attempts_left,
            }),
            Err(error) => Err(self.refusal(id, &error).await),
        }
    }

    /// Sends the code: again for a payment waiting for it, or a first time for one whose
    /// first send failed.
    pub async fn resend(&self, id: PaymentId) -> Answer {
        match self.payment(id).await? {
            AnyPayment::PinVerified(verified) => self.send_code(verified).await,
            AnyPayment::OtpSent(sent) => match self.engine.resend_code(sent).await {
                Ok(sent) => Ok(Step::Moved(sent.into_any())),
                Err(error) => Err(self.refusal(id, &error).await),
            },
            other => Err(Refusal {
                problem: Problem::WrongState,
                payment: Some(other),
            }),
        }
    }

    /// Cancels the payment for the buyer (again: cancelling a failed payment changes nothing).
    pub async fn cancel(&self, id: PaymentId) -> Answer {
        match self.engine.cancel(id, CancelReason::Buyer).await {
            Ok(failed) => Ok(Step::Moved(failed.into_any())),
            Err(error) => Err(self.refusal(id, &error).await),
        }
    }

    async fn send_code(&self, verified: buyster::Payment<PinVerified>) -> Answer {
        let id = verified.id();
        match self.engine.send_code(verified).await {
            Ok(sent) => Ok(Step::Moved(sent.into_any())),
            Err(error) => Err(self.refusal(id, &error).await),
        }
    }

    async fn resume<S: buyster::State>(
        &self,
        id: PaymentId,
    ) -> Result<buyster::Payment<S>, Refusal> {
        match self.engine.resume::<S>(id).await {
            Ok(payment) => Ok(payment),
            Err(error) => Err(self.refusal(id, &error).await),
        }
    }

    /// The refusal for `error`, with the payment as the store now holds it. A bank that "did
    /// not answer" because the ledger's storage failed is told as such.
    async fn refusal(&self, id: PaymentId, error: &Error) -> Refusal {
        let problem = match Problem::from_engine(error, Some(id)) {
            Problem::BankUnavailable if self.bank.ledger_failed(&id.to_string()) => {
                Problem::StorageFailed
            }
            problem => problem,
        };
        let payment = match problem {
            Problem::UnknownPayment | Problem::Internal => None,
            _ => self.engine.load(id).await.ok(),
        };
        Refusal { problem, payment }
    }
}

/// Logs a failure of the server's own parts (its tables, its demo data) and refuses without
/// details.
pub fn internal(doing: &str, error: &dyn std::error::Error) -> Refusal {
    eprintln!("error: {doing}: {error}");
    Problem::Internal.into()
}
