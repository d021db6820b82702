//! The `tracing` feature: one span per engine step, named `buyster.<step>`, with its id (or
//! masked number), the state reached and the outcome; audit events as `INFO` events with their
//! fields through [`TracingEvents`]; and no PIN, code, full number or IBAN anywhere in what a
//! subscriber receives.
#![cfg(feature = "tracing")]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::common::*;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{
    AccountStatus, AnyPayment, CancelReason, CodeCheck, Confirmed, Engine, EnrollmentCheck,
    Exemption, IdempotencyKey, Keys, OtpSent, PhoneNumber, PinCheck, Policy, RefundKey,
    RefundReason, SecretKey, TracingEvents,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A span or an event as the subscriber received it: its name (a span's) or target (an
/// event's), its level, and its fields as text.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    level: Level,
    fields: BTreeMap<String, String>,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A subscriber that keeps every span and event, in order.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<Seen>>>,
    events: Arc<Mutex<Vec<Seen>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push(Seen {
            name: span.metadata().name().to_owned(),
            level: *span.metadata().level(),
            fields,
        });
        Id::from_u64(spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        let seen = &mut spans[span.into_u64() as usize - 1];
        values.record(&mut Fields(&mut seen.fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(Seen {
            name: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn spans(&self) -> Vec<Seen> {
        self.spans.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<Seen> {
        self.events.lock().unwrap().clone()
    }

    /// Everything received, as text: names, targets, field names and values.
    fn text(&self) -> String {
        let all = self.spans().into_iter().chain(self.events());
        all.map(|seen| format!("{} {:?}", seen.name, seen.fields))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Makes `capture` this thread's subscriber, then has every callsite ask it again whether it
/// wants it: another test's thread that met a callsite for the first time while `capture` was
/// being registered may have cached, for good, the answer of a world without it (a race of
/// `tracing-core`'s registration), and its span would never reach `capture`.
fn capturing(capture: &Capture) -> tracing::subscriber::DefaultGuard {
    let guard = tracing::subscriber::set_default(capture.clone());
    tracing::callsite::rebuild_interest_cache();
    guard
}

type TracedEngine = Engine<MemoryStore, MemorySms, MemoryBank, ManualClock>;

/// An engine writing its events through [`TracingEvents`], the low-value exemption on.
fn engine(sms: &MemorySms) -> TracedEngine {
    let policy = Policy {
        low_value_exemption: true,
        ..Policy::default()
    };
    Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(MemoryStore::new())
        .sms(sms.clone())
        .bank(MemoryBank::new())
        .clock(ManualClock::new(T0))
        .policy(policy)
        .events(TracingEvents)
        .build()
        .unwrap()
}

/// The name, id field, state and outcome of each span, in order.
fn steps(capture: &Capture) -> Vec<(String, Option<String>, String, String)> {
    let spans = capture.spans();
    spans
        .iter()
        .map(|s| {
            let id = s.field("payment").or(s.field("enrollment"));
            let field = |name| s.field(name).unwrap_or("-").to_owned();
            (
                s.name.clone(),
                id.map(str::to_owned),
                field("state"),
                field("outcome"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn every_step_has_its_span_and_no_secret_reaches_the_subscriber() {
    let capture = Capture::default();
    let _guard = capturing(&capture);
    let sms = MemorySms::new();
    let engine = engine(&sms);
    let phone: PhoneNumber = PHONE.parse().unwrap();
    let mut codes = Vec::new();

    engine
        .enroll(&phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let payment = engine.initiate(order(4990), &phone).await.unwrap();
    let id = payment.id();
    let PinCheck::Rejected { payment, .. } =
        engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap()
    else {
        panic!("a wrong PIN is rejected");
    };
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("the right PIN is verified");
    };
    let sent = engine.send_code(verified).await.unwrap();
    codes.push(sms.last_code(&phone).unwrap());
    let too_soon = engine.resend_code(sent).await.unwrap_err();
    assert!(matches!(too_soon, buyster::Error::ResendTooSoon { .. }));
    let sent = engine.resume::<OtpSent>(id).await.unwrap();
    let CodeCheck::Rejected { payment: sent, .. } =
        engine.confirm(sent, &other_code(&codes[0])).await.unwrap()
    else {
        panic!("a wrong code is rejected");
    };
    let CodeCheck::Confirmed(paid) = engine.confirm(sent, &codes[0]).await.unwrap() else {
        panic!("the right code confirms");
    };
    let key: RefundKey = "RMA-1".parse().unwrap();
    let amount = paid.order().amount();
    engine
        .refund(paid, amount, RefundReason::Returned, &key)
        .await
        .unwrap();
    assert!(matches!(
        engine.recover(id).await.unwrap(),
        AnyPayment::Confirmed(_)
    ));
    assert!(matches!(
        engine.load(id).await.unwrap(),
        AnyPayment::Confirmed(_)
    ));

    let small = engine.initiate(order(1000), &phone).await.unwrap();
    let small_id = small.id();
    let PinCheck::Verified(small) = engine.verify_pin(small, &pin(PIN)).await.unwrap() else {
        panic!("the right PIN is verified");
    };
    let Exemption::Ticket(ticket) = small.exemption() else {
        panic!("a small payment is exempt");
    };
    let authorized = engine.authorize_exempt(ticket).await.unwrap();
    engine.settle(authorized).await.unwrap();
    let dropped = engine.initiate(order(4990), &phone).await.unwrap().id();
    engine.cancel(dropped, CancelReason::Buyer).await.unwrap();

    let new_pin = pin("975318");
    engine
        .change_pin(&phone, &pin(PIN), &new_pin)
        .await
        .unwrap();
    let office = engine.back_office();
    office.account(&phone).await.unwrap();
    office
        .set_status(&phone, AccountStatus::Suspended)
        .await
        .unwrap();
    office
        .set_status(&phone, AccountStatus::Active)
        .await
        .unwrap();
    office
        .replace_funding_source(&phone, "token:mandate-0001-secret".parse().unwrap())
        .await
        .unwrap();
    office.reset_pin(&phone, &pin(PIN)).await.unwrap();
    office.unlock(&phone).await.unwrap();

    let other: PhoneNumber = "+33698765432".parse().unwrap();
    let enrollment = engine.start_enrollment(&other).await.unwrap();
    let enrollment_id = enrollment.id();
    codes.push(sms.last_code(&other).unwrap());
    engine.load_enrollment(enrollment_id).await.unwrap();
    let enrollment = engine.resume_enrollment(enrollment_id).await.unwrap();
    let check = engine
        .finish_enrollment(enrollment, &codes[1], &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    assert!(matches!(check, EnrollmentCheck::Enrolled(_)));

    let (id, small_id, dropped) = (
        Some(id.to_string()),
        Some(small_id.to_string()),
        Some(dropped.to_string()),
    );
    let enrollment_id = Some(enrollment_id.to_string());
    let step = |name: &str, id: &Option<String>, state: &str, outcome: &str| {
        (
            format!("buyster.{name}"),
            id.clone(),
            state.to_owned(),
            outcome.to_owned(),
        )
    };
    let none = None;
    assert_eq!(
        steps(&capture),
        vec![
            step("enroll", &none, "-", "ok"),
            step("initiate", &id, "initiated", "ok"),
            step("verify_pin", &id, "initiated", "rejected"),
            step("verify_pin", &id, "pin_verified", "verified"),
            step("send_code", &id, "otp_sent", "ok"),
            step("resend_code", &id, "-", "resend_too_soon"),
            step("resume", &id, "otp_sent", "ok"),
            step("confirm", &id, "otp_sent", "rejected"),
            step("confirm", &id, "confirmed", "confirmed"),
            step("settle", &id, "confirmed", "ok"),
            step("refund", &id, "confirmed", "ok"),
            step("recover", &id, "confirmed", "ok"),
            step("load", &id, "confirmed", "ok"),
            step("initiate", &small_id, "initiated", "ok"),
            step("verify_pin", &small_id, "pin_verified", "verified"),
            step("authorize_exempt", &small_id, "authorized", "ok"),
            step("settle", &small_id, "confirmed", "ok"),
            step("initiate", &dropped, "initiated", "ok"),
            step("cancel", &dropped, "failed", "ok"),
            step("change_pin", &none, "-", "changed"),
            step("back_office.account", &none, "active", "ok"),
            step("back_office.set_status", &none, "-", "ok"),
            step("back_office.set_status", &none, "-", "ok"),
            step("back_office.replace_funding_source", &none, "-", "ok"),
            step("back_office.reset_pin", &none, "-", "ok"),
            step("back_office.unlock", &none, "-", "ok"),
            step("start_enrollment", &enrollment_id, "code_sent", "ok"),
            step("load_enrollment", &enrollment_id, "code_sent", "ok"),
            step("resume_enrollment", &enrollment_id, "code_sent", "ok"),
            step("finish_enrollment", &enrollment_id, "enrolled", "enrolled"),
        ]
    );
    let spans = capture.spans();
    assert!(spans.iter().all(|s| s.level == Level::INFO));
    let by_number = spans.iter().filter(|s| s.fields.contains_key("phone"));
    let masked: Vec<&str> = by_number.map(|s| s.field("phone").unwrap()).collect();
    assert_eq!(
        masked.len(),
        9,
        "enroll, change_pin, the back office, start_enrollment"
    );
    assert!(
        masked[..8].iter().all(|m| *m == "+33 6 •• •• •• 78"),
        "{masked:?}"
    );
    let statuses: Vec<_> = spans.iter().filter_map(|s| s.field("status")).collect();
    assert_eq!(statuses, ["suspended", "active"]);
    assert_eq!(spans[18].field("reason"), Some("buyer"));

    let text = capture.text();
    let sentinels = [
        PIN,
        WRONG_PIN,
        "975318",
        "612345678",
        "698765432",
        "30006000011234567890189",
        "mandate-0001",
    ];
    for sentinel in sentinels
        .iter()
        .copied()
        .chain(codes.iter().map(|c| c.expose_secret()))
    {
        assert!(
            !text.contains(sentinel),
            "{sentinel} reached the subscriber"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn errors_name_their_variant_and_a_lock_is_its_outcome() {
    let capture = Capture::default();
    let _guard = capturing(&capture);
    let sms = MemorySms::new();
    let engine = engine(&sms);
    let phone: PhoneNumber = PHONE.parse().unwrap();
    for _ in 0..3 {
        let payment = engine.initiate(order(4990), &phone).await.unwrap();
        let _ = engine.verify_pin(payment, &pin(WRONG_PIN)).await;
    }
    let unknown = "00ff10a0000000000000000000000001".parse().unwrap();
    assert!(engine.load(unknown).await.is_err());
    let outcomes: Vec<String> = steps(&capture)
        .into_iter()
        .filter(|(name, ..)| name != "buyster.initiate")
        .map(|(name, _, _, outcome)| format!("{name} {outcome}"))
        .collect();
    assert_eq!(
        outcomes,
        [
            "buyster.verify_pin rejected",
            "buyster.verify_pin rejected",
            "buyster.verify_pin locked",
            "buyster.load not_found",
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn audit_events_are_info_events_with_their_fields() {
    let capture = Capture::default();
    let _guard = capturing(&capture);
    let sms = MemorySms::new();
    let engine = engine(&sms);
    let phone: PhoneNumber = PHONE.parse().unwrap();
    engine
        .enroll(&phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let payment = engine.initiate(order(4990), &phone).await.unwrap();
    let id = payment.id().to_string();
    let PinCheck::Rejected { payment, .. } =
        engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap()
    else {
        panic!("a wrong PIN is rejected");
    };
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("the right PIN is verified");
    };
    let sent = engine.send_code(verified).await.unwrap();
    let code = sms.last_code(&phone).unwrap();
    engine.confirm(sent, &code).await.unwrap();
    let paid = engine.resume::<Confirmed>(payment_id(&id)).await.unwrap();
    let amount = paid.order().amount();
    let key: RefundKey = "RMA-1".parse().unwrap();
    engine
        .refund(paid, amount, RefundReason::Returned, &key)
        .await
        .unwrap();

    let events = capture.events();
    assert!(
        events
            .iter()
            .all(|e| e.name == "buyster::events" && e.level == Level::INFO)
    );
    let names: Vec<_> = events.iter().map(|e| e.field("event").unwrap()).collect();
    assert_eq!(
        names,
        [
            "enrolled",
            "initiated",
            "pin_rejected",
            "pin_verified",
            "code_sent",
            "authorized",
            "confirmed",
            "refund_requested",
            "refunded",
        ]
    );
    let enrolled = &events[0];
    let keys: Vec<_> = enrolled.fields.keys().map(String::as_str).collect();
    assert_eq!(keys, ["at", "event", "id", "message", "phone"]);
    let rejected = &events[2];
    assert_eq!(rejected.field("attempts_left"), Some("2"));
    assert_eq!(rejected.field("phone"), Some("+33 6 •• •• •• 78"));
    assert_eq!(rejected.field("payment"), Some(id.as_str()));
    assert_eq!(rejected.field("amount"), Some("49.90 EUR"));
    assert_eq!(rejected.field("merchant"), Some("boutique-exemple"));
    assert_eq!(rejected.field("at"), Some("2026-11-27T13:41:00.000Z"));
    assert_eq!(events[4].field("resends_left"), Some("3"));
    assert_eq!(events[8].field("refund"), Some("49.90 EUR"));
    let text = capture.text();
    for sentinel in [
        PIN,
        WRONG_PIN,
        code.expose_secret(),
        "612345678",
        "30006000011234567890189",
    ] {
        assert!(
            !text.contains(sentinel),
            "{sentinel} reached the subscriber"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn initiate_once_names_its_payment_and_never_the_key() {
    let capture = Capture::default();
    let _guard = capturing(&capture);
    let engine = engine(&MemorySms::new());
    let phone: PhoneNumber = PHONE.parse().unwrap();
    let key: IdempotencyKey = "order-key-CMD-7781".parse().unwrap();
    let made = engine.initiate_once(order(4990), &phone, &key).await;
    let id = Some(made.unwrap().id().to_string());
    engine
        .initiate_once(order(4990), &phone, &key)
        .await
        .unwrap();
    let other = engine.initiate_once(order(5990), &phone, &key).await;
    assert!(other.is_err());
    let step = |state: &str, outcome: &str| {
        let name = "buyster.initiate_once".to_owned();
        (name, id.clone(), state.to_owned(), outcome.to_owned())
    };
    assert_eq!(
        steps(&capture),
        [
            step("initiated", "ok"),
            step("initiated", "ok"),
            step("-", "idempotency_key_reused"),
        ]
    );
    let text = capture.text();
    for sentinel in ["order-key", "CMD-7781", "612345678"] {
        assert!(
            !text.contains(sentinel),
            "{sentinel} reached the subscriber"
        );
    }
}

fn payment_id(text: &str) -> buyster::PaymentId {
    text.parse().unwrap()
}
