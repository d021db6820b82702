//! The `serde` feature: each public value type's JSON form, exactly as the crate documentation
//! tables it, read back to the same value; malformed input refused through the type's own
//! parser; and no secret, funding source or payment record with a form at all.
#![cfg(feature = "serde")]

use core::marker::PhantomData;
use core::time::Duration;

use crate::common::*;
use buyster::{
    AccountStatus, Amount, CancelReason, Channel, Confirmed, Currency, DebitReceipt, DeclineReason,
    EnrollmentFailure, EnrollmentId, EnrollmentKind, Event, EventKind, FailureReason, Iban,
    IdempotencyKey, Language, Merchant, MerchantId, NextLock, Order, PaymentId, PhoneNumber,
    PinChange, Receipt, RefundKey, RefundReason, RefundReceipt, RefundStatus, Region,
    SpendingLimit, StateKind, Timestamp,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Asserts that `value` is written as `form` and read back from it as itself.
#[track_caller]
fn round_trip<T>(value: &T, form: serde_json::Value)
where
    T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug,
{
    assert_eq!(serde_json::to_value(value).unwrap(), form);
    let back: T = serde_json::from_value(form).unwrap();
    assert_eq!(&back, value);
}

/// The message of the error that reading `form` as a `T` gives.
#[track_caller]
fn refusal<T: DeserializeOwned + core::fmt::Debug>(form: serde_json::Value) -> String {
    serde_json::from_value::<T>(form.clone())
        .map(|value| panic!("{form} read as {value:?}"))
        .unwrap_err()
        .to_string()
}

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

#[test]
fn ids_are_their_hexadecimal_text() {
    let text = "00ff10a0000000000000000000000001";
    let id: PaymentId = text.parse().unwrap();
    round_trip(&id, json!(text));
    let id: EnrollmentId = text.parse().unwrap();
    round_trip(&id, json!(text));
    for bad in [
        json!("00FF10A0000000000000000000000001"),
        json!("00ff10a000000000000000000000000"),
        json!(""),
        json!(7),
        json!(null),
    ] {
        refusal::<PaymentId>(bad.clone());
        refusal::<EnrollmentId>(bad);
    }
    assert!(refusal::<PaymentId>(json!("xyz")).contains("invalid payment id"));
}

#[test]
fn phone_numbers_are_e164_and_must_be_mobiles() {
    let phone: PhoneNumber = PHONE.parse().unwrap();
    round_trip(&phone, json!("+33612345678"));
    let national: PhoneNumber = serde_json::from_value(json!("06 12 34 56 78")).unwrap();
    assert_eq!(national, phone, "read as FromStr reads it");
    let landline = refusal::<PhoneNumber>(json!("+33123456789"));
    assert!(landline.contains("not a mobile"), "{landline}");
    assert!(
        !landline.contains("123456789"),
        "the input is never echoed: {landline}"
    );
    for bad in [
        json!("+33 6 12"),
        json!("+33612345678x"),
        json!(33_612_345_678u64),
    ] {
        refusal::<PhoneNumber>(bad);
    }
}

#[test]
fn ibans_are_their_electronic_form() {
    let iban: Iban = IBAN.parse().unwrap();
    round_trip(&iban, json!("FR7630006000011234567890189"));
    let paper: Iban = serde_json::from_value(json!("fr76 3000 6000 0112 3456 7890 189")).unwrap();
    assert_eq!(paper, iban);
    let typo = refusal::<Iban>(json!("FR7630006000011234567890188"));
    assert!(typo.contains("check digits"), "{typo}");
    assert!(!typo.contains("3000600001"), "{typo}");
    refusal::<Iban>(json!("ZZ7630006000011234567890189"));
}

#[test]
fn amounts_are_minor_units_and_a_currency() {
    round_trip(&eur(4990), json!({"minor_units": 4990, "currency": "EUR"}));
    let pounds = Amount::new(1, Currency::GBP).unwrap();
    round_trip(&pounds, json!({"minor_units": 1, "currency": "GBP"}));
    round_trip(&Currency::CHF, json!("CHF"));
    for bad in [
        json!({"minor_units": 0, "currency": "EUR"}),
        json!({"minor_units": 1_000_000_000_000_001u64, "currency": "EUR"}),
        json!({"minor_units": -5, "currency": "EUR"}),
        json!({"minor_units": 49.9, "currency": "EUR"}),
        json!({"minor_units": 4990, "currency": "XYZ"}),
        json!({"minor_units": 4990}),
        json!({"minor_units": 4990, "currency": "EUR", "sign": "-"}),
        json!("49.90 EUR"),
    ] {
        refusal::<Amount>(bad);
    }
    assert!(refusal::<Amount>(json!({"minor_units": 0, "currency": "EUR"})).contains("zero"));
    refusal::<Currency>(json!("euro"));
}

#[test]
fn merchants_and_orders_are_objects_of_their_parts() {
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple").unwrap();
    let merchant_form = json!({"id": "boutique-exemple", "display_name": "Boutique Exemple"});
    round_trip(&merchant, merchant_form.clone());
    round_trip(merchant.id(), json!("boutique-exemple"));
    let order = order(4990).with_channel(Channel::Mobile);
    round_trip(
        &order,
        json!({
            "merchant": merchant_form,
            "amount": {"minor_units": 4990, "currency": "EUR"},
            "reference": "CMD-2026-000123",
            "channel": "mobile",
        }),
    );
    round_trip(&Channel::Tv, json!("tv"));
    let spoofed = json!({"id": "shop", "display_name": "Shop \u{202e}pohS"});
    assert!(refusal::<Merchant>(spoofed).contains("invisible"));
    refusal::<Merchant>(json!({"id": "shop one", "display_name": "Shop"}));
    refusal::<MerchantId>(json!("s".repeat(33)));
    let mut bad_reference = serde_json::to_value(&order).unwrap();
    bad_reference["reference"] = json!("");
    refusal::<Order>(bad_reference);
    refusal::<Channel>(json!("fax"));
}

#[test]
fn timestamps_are_rfc3339_utc_to_the_millisecond() {
    round_trip(&T0, json!("2026-11-27T13:41:00.000Z"));
    let late = Timestamp::from_unix_millis(u64::MAX);
    let back: Timestamp = serde_json::from_value(serde_json::to_value(late).unwrap()).unwrap();
    assert_eq!(back, late);
    let whole: Timestamp = serde_json::from_value(json!("2026-11-27T13:41:00Z")).unwrap();
    assert_eq!(whole, T0);
    for bad in [
        json!("2026-11-27T13:41:00.000+01:00"),
        json!("2026-02-30T13:41:00.000Z"),
        json!("2026-11-27T13:41:00.0001Z"),
        json!(1_795_786_860_000u64),
    ] {
        assert!(refusal::<Timestamp>(bad).contains("RFC 3339"));
    }
}

#[test]
fn kinds_and_reasons_are_their_snake_case_names() {
    round_trip(&StateKind::PinVerified, json!("pin_verified"));
    round_trip(&StateKind::OtpSent, json!("otp_sent"));
    round_trip(&EnrollmentKind::CodeSent, json!("code_sent"));
    round_trip(
        &EnrollmentFailure::AlreadyEnrolled,
        json!("already_enrolled"),
    );
    round_trip(&FailureReason::Expired, json!("expired"));
    round_trip(&FailureReason::TooManyAttempts, json!("too_many_attempts"));
    round_trip(
        &FailureReason::Cancelled(CancelReason::Buyer),
        json!({"cancelled": "buyer"}),
    );
    round_trip(
        &FailureReason::Declined(DeclineReason::InsufficientFunds),
        json!({"declined": "insufficient_funds"}),
    );
    round_trip(&CancelReason::Fraud, json!("fraud"));
    round_trip(&DeclineReason::SuspectedFraud, json!("suspected_fraud"));
    round_trip(&RefundReason::NotDelivered, json!("not_delivered"));
    round_trip(&RefundStatus::Pending, json!("pending"));
    round_trip(
        &RefundStatus::Declined(DeclineReason::Refused),
        json!({"declined": "refused"}),
    );
    round_trip(&AccountStatus::Suspended, json!("suspended"));
    round_trip(&SpendingLimit::PerPayment, json!("per_payment"));
    round_trip(&SpendingLimit::Per24Hours, json!("per_24_hours"));
    round_trip(&SpendingLimit::Per30Days, json!("per_30_days"));
    round_trip(&NextLock::Permanent, json!("permanent"));
    round_trip(
        &NextLock::Temporary(Duration::from_secs(900)),
        json!({"temporary": {"millis": 900_000}}),
    );
    round_trip(&Language::French, json!("french"));
    round_trip(&Region::UNITED_KINGDOM, json!("GB"));
    round_trip(
        &"RMA-2026:0042".parse::<RefundKey>().unwrap(),
        json!("RMA-2026:0042"),
    );
    round_trip(
        &" order/2026-000123 ".parse::<IdempotencyKey>().unwrap(),
        json!(" order/2026-000123 "),
    );
    let answer = PinChange::Rejected {
        attempts_left: 2,
        next_lock: NextLock::Permanent,
    };
    let written = json!({"rejected": {"attempts_left": 2, "next_lock": "permanent"}});
    assert_eq!(serde_json::to_value(answer).unwrap(), written);
    assert_eq!(
        serde_json::to_value(PinChange::Changed).unwrap(),
        json!("changed")
    );
    for bad in [json!("PinVerified"), json!("pin verified"), json!(1)] {
        refusal::<StateKind>(bad);
    }
    refusal::<FailureReason>(json!({"cancelled": "nobody"}));
    refusal::<SpendingLimit>(json!("per24_hours"));
    refusal::<NextLock>(json!({"temporary": {"seconds": 900}}));
    refusal::<Region>(json!("XX"));
    refusal::<RefundKey>(json!("a/b"));
    let refused = refusal::<IdempotencyKey>(json!("commande-n°12"));
    assert!(refused.contains("index 10"), "{refused}");
    assert!(!refused.contains("commande"), "{refused}");
    refusal::<IdempotencyKey>(json!(""));
}

#[test]
fn bank_receipts_are_their_reference() {
    round_trip(
        &DebitReceipt::new("TX-0001"),
        json!({"reference": "TX-0001"}),
    );
    round_trip(
        &RefundReceipt::new("RF-0001"),
        json!({"reference": "RF-0001"}),
    );
    refusal::<DebitReceipt>(json!({"reference": "TX-0001", "amount": 1}));
}

/// Whether `T` implements `Serialize` (`DeserializeOwned`): the inherent method, which exists
/// only when the bound holds, wins over the trait's answer of `false`.
struct Probe<T>(PhantomData<T>);

trait Lacks {
    fn serialize(&self) -> bool {
        false
    }
    fn deserialize(&self) -> bool {
        false
    }
}

impl<T> Lacks for Probe<T> {}

impl<T: Serialize> Probe<T> {
    fn serialize(&self) -> bool {
        true
    }
}

impl<T: DeserializeOwned> Probe<T> {
    fn deserialize(&self) -> bool {
        true
    }
}

macro_rules! has_form {
    ($($type:ty),+ $(,)?) => {[$(
        (stringify!($type), Probe::<$type>(PhantomData).serialize(),
         Probe::<$type>(PhantomData).deserialize())
    ),+]};
}

#[test]
fn secrets_payments_and_funding_sources_have_no_form() {
    use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    let none = has_form![
        buyster::Pin,
        buyster::OtpCode,
        buyster::SecretKey,
        buyster::Keys,
        buyster::SmsMessage,
        buyster::FundingSource,
        buyster::FundingToken,
        buyster::AccountDetails,
        buyster::DebitRequest,
        buyster::RefundRequest,
        buyster::Payment<buyster::Initiated>,
        buyster::Payment<Confirmed>,
        buyster::AnyPayment,
        buyster::PinCheck,
        buyster::CodeCheck,
        buyster::ExemptionTicket,
        buyster::Enrollment<buyster::CodeSent>,
        buyster::AnyEnrollment,
        buyster::Engine<MemoryStore, MemorySms, MemoryBank>,
        buyster::Policy,
        buyster::Error,
    ];
    for (name, serialize, deserialize) in none {
        assert!(!serialize && !deserialize, "{name} must have no serde form");
    }
    // The probe itself: it sees the forms that exist.
    let both = has_form![
        PaymentId,
        PhoneNumber,
        Iban,
        Amount,
        Receipt,
        EventKind,
        Timestamp
    ];
    for (name, serialize, deserialize) in both {
        assert!(serialize && deserialize, "{name} has both forms");
    }
    let written_only = has_form![Event, PinChange, buyster::Refund];
    for (name, serialize, deserialize) in written_only {
        assert!(serialize && !deserialize, "{name} is written only");
    }
}
