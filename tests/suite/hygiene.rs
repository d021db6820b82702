//! No secret and no full phone number in any `Debug` or `Display` text: sentinel PINs, codes,
//! keys and numbers are searched in every public type's output, as digits, byte lists and hex.

use crate::common::*;
use buyster::memory::{BankFault, ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{
    Amount, AnyPayment, Authorized, Channel, CodeCheck, Currency, DeclineReason, Engine, Entry,
    Error, FundingSource, FundingToken, Iban, Key, Keys, Language, Merchant, MerchantId, OtpCode,
    PhoneNumber, Pin, PinCheck, Policy, Region, SecretKey, StateKind, Timestamp, Version,
};

/// A key whose bytes are 160 to 191: distinctive as decimal, hex and text.
const KEY: [u8; 32] = {
    let mut key = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = 160 + i as u8;
        i += 1;
    }
    key
};
const SECRET_PIN: &str = "975310";
const NATIONAL: &str = "612345678";

/// The encodings a secret could leak in.
fn encodings(secret: &[u8]) -> Vec<String> {
    let decimal = |bytes: &[u8]| {
        bytes
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![
        format!("[{}", decimal(&secret[..secret.len().min(6)])),
        hex.clone(),
        hex.to_uppercase(),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        forms.push(text.to_owned());
    }
    forms.push(
        format!("{:?}", &secret[..secret.len().min(4)])
            .trim_end_matches(']')
            .to_owned(),
    );
    forms
}

/// Fails if `text` holds the PIN, `code`, the national number or the key, in any encoding.
fn assert_clean(text: &str, code: &str) {
    let mut secrets = vec![
        SECRET_PIN.as_bytes().to_vec(),
        NATIONAL.as_bytes().to_vec(),
        KEY.to_vec(),
    ];
    if !code.is_empty() {
        secrets.push(code.as_bytes().to_vec());
    }
    for secret in secrets {
        for form in encodings(&secret) {
            assert!(!text.contains(&form), "{form:?} leaked in: {text}");
        }
    }
}

fn engine(host: &Host) -> Engine<MemoryStore, MemorySms, MemoryBank, ManualClock> {
    Engine::builder(Keys::new(1, SecretKey::from_bytes(KEY)))
        .store(host.store.clone())
        .sms(host.sms.clone())
        .bank(host.bank.clone())
        .clock(host.clock.clone())
        .events(host.events.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn payments_in_every_state_print_no_secret() {
    let host = Host::empty(Policy::default(), MemoryStore::new());
    let engine = engine(&host);
    engine
        .enroll(&host.phone, &pin(SECRET_PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let mut texts = vec![format!("{engine:?}")];

    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    texts.push(format!("{payment:?} {:?}", payment.state()));
    let rejected = engine.verify_pin(payment, &pin("975311")).await.unwrap();
    texts.push(format!("{rejected:?}"));
    let PinCheck::Rejected { payment, .. } = rejected else {
        panic!()
    };
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(SECRET_PIN)).await.unwrap()
    else {
        panic!()
    };
    texts.push(format!("{verified:?} {:?}", verified.state()));
    let sent = engine.send_code(verified).await.unwrap();
    let code = host.sms.last_code(&host.phone).unwrap();
    texts.push(format!("{sent:?} {:?}", sent.state()));
    let id = sent.id();
    let wrong = engine.confirm(sent, &other_code(&code)).await.unwrap();
    texts.push(format!("{wrong:?}"));
    let CodeCheck::Rejected { payment, .. } = wrong else {
        panic!()
    };
    host.bank.fail_next(BankFault::Unavailable);
    let outage = engine.confirm(payment, &code).await.unwrap_err();
    texts.push(format!("{outage:?} {outage}"));
    let authorized = engine.resume::<Authorized>(id).await.unwrap();
    texts.push(format!("{authorized:?} {:?}", authorized.state()));
    let confirmed = engine.settle(authorized).await.unwrap();
    texts.push(format!(
        "{confirmed:?} {:?} {:?}",
        confirmed.receipt(),
        confirmed.state()
    ));
    texts.push(format!("{:?}", engine.load(id).await.unwrap()));
    let replay = engine.resume::<buyster::OtpSent>(id).await.unwrap_err();
    texts.push(format!("{replay:?} {replay}"));
    for sms in host.sms.sent() {
        texts.push(format!("{sms:?}"));
    }
    for debit in host.bank.debits() {
        texts.push(format!("{debit:?}"));
    }
    for key in host.store.keys() {
        let entry = buyster::Store::get(&host.store, &key)
            .await
            .unwrap()
            .unwrap();
        texts.push(format!("{key:?} {key} {entry:?}"));
    }
    texts.push(format!(
        "{:?} {:?} {:?} {:?}",
        host.store, host.sms, host.bank, host.clock
    ));

    let failed = engine.initiate(order(100), &host.phone).await.unwrap().id();
    let failed = engine
        .cancel(failed, buyster::CancelReason::Fraud)
        .await
        .unwrap();
    texts.push(format!(
        "{failed:?} {} {:?}",
        failed.reason(),
        failed.state()
    ));
    let any: AnyPayment = failed.into_any();
    texts.push(format!("{any:?}"));
    let events = host.events.events();
    assert!(events.len() >= 9, "{events:?}");
    for event in &events {
        texts.push(format!("{event:?} {event} {:?}", event.kind()));
    }

    for text in &texts {
        assert_clean(text, code.expose_secret());
    }
    assert!(
        texts.iter().any(|t| t.contains("+33 6 •• •• •• 78")),
        "the masked number is shown"
    );
}

#[test]
fn values_print_no_secret() {
    let texts = [
        format!("{:?}", SECRET_PIN.parse::<Pin>().unwrap()),
        format!("{:?}", "918273".parse::<OtpCode>().unwrap()),
        format!("{:?}", SecretKey::from_bytes(KEY)),
        format!("{:?}", Keys::new(3, SecretKey::from_bytes(KEY))),
        format!(
            "{:?}",
            Keys::new(3, SecretKey::from_bytes(KEY))
                .rotate(4, SecretKey::from_bytes([1; 32]))
                .unwrap()
        ),
        format!("{:?}", "+33612345678".parse::<PhoneNumber>().unwrap()),
        format!("{:?}", IBAN.parse::<Iban>().unwrap()),
        format!("{:?}", IBAN.parse::<FundingSource>().unwrap()),
        format!(
            "{:?}",
            "token:abcdef9753101234".parse::<FundingToken>().unwrap()
        ),
        format!(
            "{:?} {}",
            Amount::new(4990, Currency::EUR).unwrap(),
            Amount::new(4990, Currency::EUR).unwrap()
        ),
        format!(
            "{:?} {}",
            Merchant::new("shop", "Shop").unwrap(),
            Merchant::new("shop", "Shop").unwrap()
        ),
        format!("{:?}", "shop".parse::<MerchantId>().unwrap()),
        format!(
            "{:?} {}",
            order(4990).with_channel(Channel::Tv),
            Channel::Tv
        ),
        format!(
            "{:?} {:?} {:?}",
            Policy::default(),
            Language::French,
            Region::FRANCE
        ),
        format!(
            "{:?} {}",
            Timestamp::from_unix_millis(0),
            StateKind::OtpSent
        ),
        format!(
            "{:?} {:?}",
            Entry::new(Version::new(1), SECRET_PIN.as_bytes().to_vec()),
            Key::payment(&"00000000000000000000000000000001".parse().unwrap())
        ),
        format!("{:?}", DeclineReason::InsufficientFunds),
    ];
    for text in texts {
        assert_clean(&text, "918273");
    }
}

#[test]
fn parse_errors_never_echo_their_input() {
    let refused: Vec<(&str, Error)> = vec![
        ("9753a0", "9753a0".parse::<Pin>().unwrap_err()),
        ("975", "975".parse::<Pin>().unwrap_err()),
        ("91827x", "91827x".parse::<OtpCode>().unwrap_err()),
        (
            "0612345678999",
            "0612345678999".parse::<PhoneNumber>().unwrap_err(),
        ),
        (
            "0700123456",
            "0700123456".parse::<PhoneNumber>().unwrap_err(),
        ),
        (
            "FR7630006000011234567890188",
            "FR7630006000011234567890188".parse::<Iban>().unwrap_err(),
        ),
        ("a0a1a2", "a0a1a2".parse::<SecretKey>().unwrap_err()),
        (
            "49.975310 EUR",
            "49.975310 EUR".parse::<Amount>().unwrap_err(),
        ),
        ("tok en", "tok en".parse::<FundingToken>().unwrap_err()),
        (
            "975310975310975310975310975310975310",
            "975310975310975310975310975310975310"
                .parse::<buyster::PaymentId>()
                .unwrap_err(),
        ),
    ];
    for (input, error) in refused {
        let text = format!("{error} {error:?}");
        assert!(!text.contains(input), "{input} echoed: {text}");
        assert_clean(&text, "918273");
    }
}

#[tokio::test]
async fn enrollments_accounts_refunds_and_their_events_print_no_secret() {
    use buyster::{
        AccountStatus, Confirmed, EnrollmentCheck, Exemption, RefundReason, SpendingLimit,
    };
    const NEW_PIN: &str = "864209";
    let host = Host::empty(Policy::default(), MemoryStore::new());
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(KEY)))
        .store(host.store.clone())
        .sms(host.sms.clone())
        .bank(host.bank.clone())
        .clock(host.clock.clone())
        .policy(Policy {
            low_value_exemption: true,
            ..Policy::default()
        })
        .events(host.events.clone())
        .build()
        .unwrap();
    let mut texts = Vec::new();
    let mut codes = Vec::new();

    // Enrollment through an SMS code.
    let enrollment = engine.start_enrollment(&host.phone).await.unwrap();
    texts.push(format!("{enrollment:?} {:?}", enrollment.state()));
    let code = host.sms.last_code_for_enrollment(enrollment.id()).unwrap();
    codes.push(code.expose_secret().to_owned());
    let id = enrollment.id();
    let weak = engine
        .finish_enrollment(enrollment, &code, &pin("123456"), IBAN.parse().unwrap())
        .await
        .unwrap_err();
    texts.push(format!("{weak:?} {weak}"));
    let enrollment = engine.resume_enrollment(id).await.unwrap();
    let wrong = engine
        .finish_enrollment(
            enrollment,
            &other_code(&code),
            &pin(SECRET_PIN),
            IBAN.parse().unwrap(),
        )
        .await
        .unwrap();
    texts.push(format!("{wrong:?}"));
    let EnrollmentCheck::Rejected { enrollment, .. } = wrong else {
        panic!()
    };
    let done = engine
        .finish_enrollment(enrollment, &code, &pin(SECRET_PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    texts.push(format!(
        "{done:?} {:?}",
        engine.load_enrollment(id).await.unwrap()
    ));

    // The account's life.
    let change = engine
        .change_pin(&host.phone, &pin(SECRET_PIN), &pin(NEW_PIN))
        .await
        .unwrap();
    texts.push(format!("{change:?}"));
    engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Suspended)
        .await
        .unwrap();
    engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Active)
        .await
        .unwrap();
    engine
        .back_office()
        .replace_funding_source(&host.phone, "DE89 3704 0044 0532 0130 00".parse().unwrap())
        .await
        .unwrap();
    engine
        .back_office()
        .reset_pin(&host.phone, &pin(SECRET_PIN))
        .await
        .unwrap();
    engine.back_office().unlock(&host.phone).await.unwrap();
    texts.push(format!(
        "{:?}",
        engine.back_office().account(&host.phone).await.unwrap()
    ));

    // A limit, the path without a code, a refund in each outcome.
    let refused = engine
        .initiate(order(100_001), &host.phone)
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        Error::LimitExceeded {
            limit: SpendingLimit::PerPayment,
            ..
        }
    ));
    texts.push(format!("{refused:?} {refused}"));
    let small = engine.initiate(order(1000), &host.phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(small, &pin(SECRET_PIN)).await.unwrap()
    else {
        panic!()
    };
    let exemption = verified.exemption();
    texts.push(format!("{exemption:?}"));
    let Exemption::Ticket(ticket) = exemption else {
        panic!()
    };
    let paid = engine
        .settle(engine.authorize_exempt(ticket).await.unwrap())
        .await
        .unwrap();
    let key = "RMA-1".parse().unwrap();
    host.bank.fail_next(BankFault::Unavailable);
    let lost = engine
        .refund(
            paid,
            Amount::new(100, Currency::EUR).unwrap(),
            RefundReason::Returned,
            &key,
        )
        .await
        .unwrap_err();
    texts.push(format!("{lost:?} {lost}"));
    let pending = engine
        .resume::<Confirmed>(host.bank.debits()[0].payment_id())
        .await
        .unwrap();
    texts.push(format!("{pending:?} {:?}", pending.refunds()));
    let refunded = engine
        .refund(
            pending,
            Amount::new(100, Currency::EUR).unwrap(),
            RefundReason::Returned,
            &key,
        )
        .await
        .unwrap();
    host.bank
        .fail_next(BankFault::Decline(DeclineReason::SuspectedFraud));
    let declined = engine
        .refund(
            refunded,
            Amount::new(200, Currency::EUR).unwrap(),
            RefundReason::Fraud,
            &"RMA-2".parse().unwrap(),
        )
        .await
        .unwrap_err();
    texts.push(format!("{declined:?} {declined}"));
    for refund in host.bank.refunds() {
        texts.push(format!("{refund:?}"));
    }
    for sms in host.sms.sent() {
        texts.push(format!("{sms:?}"));
    }
    let events = host.events.events();
    assert!(events.len() >= 15, "{events:?}");
    for event in &events {
        texts.push(format!("{event:?} {event} {:?}", event.kind()));
    }
    for text in &texts {
        assert_clean(text, "");
        for secret in codes.iter().map(String::as_str).chain([NEW_PIN, "123456"]) {
            assert!(!text.contains(secret), "{secret} leaked in: {text}");
        }
        assert!(
            !text.contains("3704 0044 0532"),
            "an IBAN leaked in: {text}"
        );
    }
}

/// The texts between `FundingToken(` and the next `)` in `text`: what a `Debug` shows of each
/// token.
fn shown_tokens(text: &str) -> Vec<&str> {
    text.match_indices("FundingToken(")
        .map(|(at, open)| {
            let rest = &text[at + open.len()..];
            &rest[..rest.find(')').unwrap()]
        })
        .collect()
}

#[tokio::test]
async fn no_funding_token_is_shown_whole_whatever_its_length() {
    use buyster::Exemption;
    const TOKEN: &str = "tK7qZ9wX3mV8pR2jH5";
    let policy = Policy {
        low_value_exemption: true,
        ..Policy::default()
    };
    for len in 1..=TOKEN.len() {
        let token = &TOKEN[..len];
        // The last 4 characters, and only while 8 or more stay hidden.
        let expected = if len >= 12 {
            format!("…{}", &token[len - 4..])
        } else {
            "…".to_owned()
        };
        let host = Host::empty(policy.clone(), MemoryStore::new());
        let source: FundingSource = format!("token:{token}").parse().unwrap();
        let mut texts = vec![
            format!("{:?}", token.parse::<FundingToken>().unwrap()),
            format!("{source:?}"),
        ];
        host.engine
            .enroll(&host.phone, &pin(SECRET_PIN), source)
            .await
            .unwrap();
        texts.push(format!(
            "{:?}",
            host.engine
                .back_office()
                .account(&host.phone)
                .await
                .unwrap()
        ));
        let payment = host
            .engine
            .initiate(order(1000), &host.phone)
            .await
            .unwrap();
        let PinCheck::Verified(verified) = host
            .engine
            .verify_pin(payment, &pin(SECRET_PIN))
            .await
            .unwrap()
        else {
            panic!()
        };
        texts.push(format!("{verified:?}"));
        let Exemption::Ticket(ticket) = verified.exemption() else {
            panic!()
        };
        let authorized = host.engine.authorize_exempt(ticket).await.unwrap();
        texts.push(format!("{authorized:?}"));
        let paid = host.engine.settle(authorized).await.unwrap();
        texts.push(format!("{paid:?} {:?}", host.bank.debits()));
        for text in &texts {
            let shown = shown_tokens(text);
            assert!(!shown.is_empty(), "{text}");
            for shown in shown {
                assert_eq!(shown, expected, "a token of {len} characters in: {text}");
            }
            if len >= 3 {
                assert!(!text.contains(token), "{token} shown whole in: {text}");
            }
        }
    }
}
