//! The API's answers: a payment view on success, a stable error code and a message otherwise,
//! with the payment's state whenever there is a payment.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use buyster::{AnyPayment, NextLock, SpendingLimit, Timestamp};
use serde_json::{Map, Value, json};

use super::super::bank::decline_code;
use super::super::flow::{Answer, Problem, Refusal, Step};
use super::view::{PaymentView, state_name};

/// An answer of the API, ready to send.
pub struct Reply {
    status: StatusCode,
    body: Value,
    retry_after_secs: Option<u64>,
    location: Option<String>,
}

impl Reply {
    /// `status` with the view of `payment`.
    pub fn payment(status: StatusCode, payment: &AnyPayment) -> Self {
        Self {
            status,
            body: json!(PaymentView::of(payment)),
            retry_after_secs: None,
            location: None,
        }
    }

    /// Adds a `Location` header: where the payment created can be read.
    pub fn located(mut self, path: &str) -> Self {
        self.location = Some(path.to_owned());
        self
    }

    /// An error: `status`, a stable `code` for programs and a `message` for people.
    pub fn error(status: StatusCode, code: &str, message: &str) -> Self {
        Self {
            status,
            body: json!({ "error": code, "message": message }),
            retry_after_secs: None,
            location: None,
        }
    }

    /// The answer to a step: `ok` and the payment when it moved on.
    pub fn of_answer(answer: Answer, ok: StatusCode, now: Timestamp) -> Self {
        match answer {
            Ok(Step::Moved(payment)) => Self::payment(ok, &payment),
            Ok(Step::WrongPin {
                payment,
                attempts_left,
                next_lock,
            }) => Self::error(StatusCode::UNPROCESSABLE_ENTITY, "wrong_pin", "wrong PIN")
                .about(&payment)
                .with("attempts_left", json!(attempts_left))
                .with("next_lock", next_lock_view(next_lock)),
            Ok(Step::WrongCode {
                payment,
                attempts_left,
            }) => Self::error(StatusCode::UNPROCESSABLE_ENTITY, "wrong_code", "wrong code")
                .about(&payment)
                .with("attempts_left", json!(attempts_left)),
            Err(refusal) => Self::of_refusal(&refusal, now),
        }
    }

    /// The answer to a refused step.
    pub fn of_refusal(refusal: &Refusal, now: Timestamp) -> Self {
        let reply = Self::of_problem(&refusal.problem, now);
        match &refusal.payment {
            Some(payment) => reply.about(payment),
            None => reply,
        }
    }

    fn of_problem(problem: &Problem, now: Timestamp) -> Self {
        let reply = |code: &str, message: &str| Self::error(problem.status(), code, message);
        match problem {
            Problem::Malformed { field, message } => reply(field.error_code(), message),
            Problem::UnknownMerchant => reply("unknown_merchant", "no merchant has this id"),
            Problem::UnknownPayment => reply("unknown_payment", "no payment has this id"),
            Problem::WrongState => reply(
                "wrong_state",
                "the payment is not in a state that allows this step",
            ),
            Problem::KeyReused => reply(
                "idempotency_key_reused",
                "this order (or Idempotency-Key) already has a payment of another amount, \
                 currency, reference, channel or phone number; pay another order under a new key",
            ),
            Problem::ResendLimit => reply("resend_limit", "the payment has no resend left"),
            Problem::Conflict => reply(
                "conflict",
                "the payment was changed by a concurrent request; try again",
            ),
            Problem::Expired => reply(
                "expired",
                "the payment or its code has expired; a payment still otp_sent can resend",
            ),
            Problem::TooManyAttempts => reply(
                "too_many_attempts",
                "wrong code, and the last attempt: the payment has failed",
            )
            .with("attempts_left", json!(0)),
            Problem::Locked { until } => {
                let locked = reply(
                    "locked",
                    "too many wrong PINs for this number; PINs are refused for now",
                );
                match until {
                    Some(until) => locked
                        .with("locked_until", json!(until.to_string()))
                        .retry_at(*until, now),
                    None => locked.with("locked_until", Value::Null),
                }
            }
            Problem::RateLimited { retry_at } => reply(
                "rate_limited",
                "too many SMS were sent to this number lately",
            )
            .retry_at(*retry_at, now),
            Problem::ResendTooSoon { retry_at } => {
                reply("resend_too_soon", "a new code cannot be sent yet").retry_at(*retry_at, now)
            }
            Problem::LimitExceeded { limit, frees_at } => {
                let refused = reply(
                    "limit_exceeded",
                    "the payment would exceed a spending limit of this number",
                )
                .with("limit", json!(limit_code(*limit)));
                match frees_at {
                    Some(at) => refused
                        .with("frees_at", json!(at.to_string()))
                        .retry_at(*at, now),
                    None => refused.with("frees_at", Value::Null),
                }
            }
            Problem::Declined(reason) => reply("declined", "the bank declined the debit")
                .with("decline_reason", json!(decline_code(*reason))),
            Problem::BankUnavailable => reply(
                "bank_unavailable",
                "the bank did not answer; the payment is authorized and will be settled",
            )
            .retry_after(60),
            Problem::StorageFailed => reply(
                "storage_failed",
                "the server failed to record the debit; the payment stays authorized and is \
                 never debited twice; read it again later",
            ),
            Problem::SmsUnavailable => reply(
                "sms_unavailable",
                "the SMS could not be sent; ask for it again with resend",
            ),
            Problem::StoreUnavailable => reply(
                "store_unavailable",
                "the payment store did not answer; read the payment and try again",
            )
            .retry_after(1),
            Problem::Refused { code, message, .. } => reply(code, message),
            Problem::Internal => reply("internal", "internal error"),
            Problem::Limited(refused) => {
                reply(refused.code(), refused.message()).retry_at(refused.retry_at(), now)
            }
        }
    }

    /// Adds the payment's id and state.
    fn about(self, payment: &AnyPayment) -> Self {
        self.with("id", json!(payment.id().to_string()))
            .with("state", json!(state_name(payment.kind())))
    }

    /// Adds `retry_at` and a `Retry-After` header.
    fn retry_at(self, retry_at: Timestamp, now: Timestamp) -> Self {
        let wait = retry_at.saturating_duration_since(now);
        // Whole seconds, rounded up: retrying at the announced time must not be too soon.
        let wait = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        self.with("retry_at", json!(retry_at.to_string()))
            .retry_after(wait)
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    fn with(mut self, name: &str, value: Value) -> Self {
        if let Value::Object(map) = &mut self.body {
            map.insert(name.to_owned(), value);
        } else {
            let mut map = Map::new();
            map.insert(name.to_owned(), value);
            self.body = Value::Object(map);
        }
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// A spending limit's code in the API: `per_payment`, `per_24_hours`, `per_30_days`.
fn limit_code(limit: SpendingLimit) -> &'static str {
    match limit {
        SpendingLimit::PerPayment => "per_payment",
        SpendingLimit::Per24Hours => "per_24_hours",
        // A limit a later buyster adds reads as the longest window.
        _ => "per_30_days",
    }
}

/// The lock a wrong PIN's remaining attempts lead to: `{"permanent": true}`, or its length.
fn next_lock_view(next_lock: NextLock) -> Value {
    match next_lock {
        NextLock::Permanent => json!({ "permanent": true }),
        NextLock::Temporary(length) => json!({ "permanent": false, "seconds": length.as_secs() }),
    }
}

/// Every engine error, walked: each has its status and stable code, and only the server's own
/// faults are a 500.
#[cfg(test)]
mod every_engine_error {
    use std::collections::BTreeSet;
    use std::fmt::Debug;

    use axum::http::StatusCode;
    use buyster::{
        Amount, BankError, Channel, Currency, DeclineReason, EnrollmentId, EnrollmentKind, Error,
        FundingToken, Iban, IdempotencyKey, Merchant, Order, OtpCode, PaymentId, PhoneNumber, Pin,
        Policy, Region, SecretKey, SmsError, SpendingLimit, StateKind, StoreError, Timestamp,
        WeakPinRule,
    };

    use super::super::super::flow::Problem;
    use super::Reply;

    fn refused<T: Debug>(result: Result<T, Error>) -> Error {
        match result {
            Err(error) => error,
            Ok(value) => panic!("accepted: {value:?}"),
        }
    }

    fn merchant() -> Merchant {
        Merchant::new("boutique-exemple", "Boutique Exemple").unwrap()
    }

    /// One value of every variant, with the status and the `error` code it must get.
    fn cases() -> Vec<(Error, StatusCode, &'static str)> {
        let at = Timestamp::from_unix_millis(1_800_000_000_000);
        let cause = || -> Box<dyn std::error::Error + Send + Sync> { "connection reset".into() };
        let amount = Amount::new(100, Currency::EUR).unwrap();
        vec![
            (Error::AccountClosed, StatusCode::CONFLICT, "account_closed"),
            (
                Error::AlreadyEnrolled,
                StatusCode::CONFLICT,
                "already_enrolled",
            ),
            (
                Error::Bank(BankError::Unavailable),
                StatusCode::SERVICE_UNAVAILABLE,
                "bank_unavailable",
            ),
            (Error::Conflict, StatusCode::CONFLICT, "conflict"),
            (
                Error::CurrencyNotAccepted(Currency::GBP),
                StatusCode::BAD_REQUEST,
                "invalid_currency",
            ),
            (
                Error::Declined(DeclineReason::InsufficientFunds),
                StatusCode::PAYMENT_REQUIRED,
                "declined",
            ),
            (
                Error::ExemptionWithdrawn,
                StatusCode::CONFLICT,
                "exemption_withdrawn",
            ),
            (Error::Expired, StatusCode::GONE, "expired"),
            (
                Error::IdempotencyKeyReused,
                StatusCode::CONFLICT,
                "idempotency_key_reused",
            ),
            (
                refused("12,345".parse::<Amount>()),
                StatusCode::BAD_REQUEST,
                "invalid_amount",
            ),
            (
                refused("fax".parse::<Channel>()),
                StatusCode::BAD_REQUEST,
                "invalid_channel",
            ),
            (
                refused("12".parse::<OtpCode>()),
                StatusCode::BAD_REQUEST,
                "invalid_code",
            ),
            (
                refused("x".parse::<EnrollmentId>()),
                StatusCode::BAD_REQUEST,
                "invalid_enrollment_id",
            ),
            (
                refused("".parse::<FundingToken>()),
                StatusCode::BAD_REQUEST,
                "invalid_funding_token",
            ),
            (
                refused("FR00 0000".parse::<Iban>()),
                StatusCode::BAD_REQUEST,
                "invalid_iban",
            ),
            (
                refused("".parse::<IdempotencyKey>()),
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
            ),
            (
                refused("zz".parse::<SecretKey>()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
            (
                refused(Merchant::new("", "")),
                StatusCode::BAD_REQUEST,
                "invalid_merchant",
            ),
            (
                refused("x".parse::<PaymentId>()),
                StatusCode::NOT_FOUND,
                "unknown_payment",
            ),
            (
                refused("12".parse::<PhoneNumber>()),
                StatusCode::BAD_REQUEST,
                "invalid_phone",
            ),
            (
                refused("1".parse::<Pin>()),
                StatusCode::BAD_REQUEST,
                "invalid_pin",
            ),
            (
                refused(
                    Policy {
                        max_per_payment: 0,
                        ..Policy::default()
                    }
                    .validate(),
                ),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
            (
                refused(Order::new(merchant(), amount, "")),
                StatusCode::BAD_REQUEST,
                "invalid_reference",
            ),
            (
                refused("".parse::<buyster::RefundKey>()),
                StatusCode::BAD_REQUEST,
                "invalid_refund_key",
            ),
            (
                refused("ZZ".parse::<Region>()),
                StatusCode::BAD_REQUEST,
                "invalid_region",
            ),
            (
                Error::KeyIdInUse { key_id: 1 },
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
            (
                Error::LimitExceeded {
                    limit: SpendingLimit::PerPayment,
                    frees_at: None,
                },
                StatusCode::PAYMENT_REQUIRED,
                "limit_exceeded",
            ),
            (
                Error::Locked { until: Some(at) },
                StatusCode::LOCKED,
                "locked",
            ),
            (Error::NotEnrolled, StatusCode::NOT_FOUND, "not_enrolled"),
            (Error::NotFound, StatusCode::NOT_FOUND, "unknown_payment"),
            (
                Error::RateLimited { retry_at: at },
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
            ),
            (
                Error::RefundKeyReused,
                StatusCode::CONFLICT,
                "refund_key_reused",
            ),
            (
                Error::RefundTooLarge {
                    refundable: Some(amount),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "refund_too_large",
            ),
            (Error::ResendLimit, StatusCode::CONFLICT, "resend_limit"),
            (
                Error::ResendTooSoon { retry_at: at },
                StatusCode::TOO_MANY_REQUESTS,
                "resend_too_soon",
            ),
            (
                Error::Sms(SmsError::Unavailable),
                StatusCode::SERVICE_UNAVAILABLE,
                "sms_unavailable",
            ),
            (
                Error::Storage(StoreError::Unavailable(cause())),
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
            ),
            (
                Error::Storage(StoreError::OutcomeUnknown(cause())),
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
            ),
            (
                Error::Storage(StoreError::Conflict),
                StatusCode::CONFLICT,
                "conflict",
            ),
            (
                Error::Storage(StoreError::backend(cause())),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
            (
                Error::Tampered,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
            (
                Error::TooManyAttempts,
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_attempts",
            ),
            (
                Error::TooManyRefunds,
                StatusCode::CONFLICT,
                "too_many_refunds",
            ),
            (
                Error::WeakPin(WeakPinRule::Sequence),
                StatusCode::BAD_REQUEST,
                "invalid_pin",
            ),
            (
                Error::WrongEnrollmentState {
                    expected: EnrollmentKind::CodeSent,
                    found: EnrollmentKind::Failed,
                },
                StatusCode::CONFLICT,
                "wrong_state",
            ),
            (
                Error::WrongState {
                    expected: StateKind::Initiated,
                    found: StateKind::Confirmed,
                },
                StatusCode::CONFLICT,
                "wrong_state",
            ),
        ]
    }

    /// The name of each variant of `Error`, read from its source.
    fn variants_in_source() -> BTreeSet<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/error/mod.rs");
        let source = std::fs::read_to_string(path).unwrap();
        let body = source.split("pub enum Error {").nth(1).unwrap();
        let body = body.split("\n}\n").next().unwrap();
        body.lines()
            .filter_map(|line| line.strip_prefix("    "))
            .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
            .map(|line| {
                line.split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    fn variant_name(error: &Error) -> String {
        let debug = format!("{error:?}");
        debug
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn every_variant_has_its_status_and_code() {
        let now = Timestamp::from_unix_millis(1_700_000_000_000);
        for (error, status, code) in cases() {
            let problem = Problem::from_engine(&error, None);
            let reply = Reply::of_problem(&problem, now);
            assert_eq!(reply.status, status, "{error:?}");
            assert_eq!(reply.body["error"], code, "{error:?}");
            let message = reply.body["message"].as_str().unwrap();
            assert!(!message.is_empty(), "{error:?}");
            // A refusal the client can act on is never dressed as the server's fault.
            let servers_fault = matches!(
                error,
                Error::Tampered
                    | Error::InvalidKey
                    | Error::InvalidPolicy(_)
                    | Error::KeyIdInUse { .. }
                    | Error::Storage(StoreError::Backend(_))
            );
            assert_eq!(status == StatusCode::INTERNAL_SERVER_ERROR, servers_fault);
        }
    }

    #[test]
    fn the_walk_names_every_variant_of_the_error() {
        let walked: BTreeSet<String> = cases().iter().map(|(e, ..)| variant_name(e)).collect();
        let declared = variants_in_source();
        assert!(declared.len() > 40, "{declared:?}");
        assert_eq!(walked, declared);
    }
}
