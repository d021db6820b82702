//! No secret and no full phone number in any `Debug` or `Display` text.

mod common;

use buyster::memory::BankFault;
use buyster::{
    AnyPayment, Authorized, CodeCheck, DeclineReason, Error, FundingSource, Keys, OtpCode, Pin,
    PinCheck, SecretKey,
};
use common::*;

/// Fails if `text` holds the PIN, the code, the national number or the master key.
fn assert_clean(text: &str, code: &str) {
    let key_hex: String = MASTER.iter().map(|b| format!("{b:02x}")).collect();
    let key_bytes = format!("{:?}", MASTER);
    for secret in [
        PIN,
        code,
        "612345678",
        &key_hex,
        &key_bytes[1..20],
        "3000 6000 0112",
        "30006000011234",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked in: {text}");
    }
}

#[tokio::test]
async fn payments_in_every_state_print_no_secret() {
    let host = Host::new().await;
    let mut texts = Vec::new();
    let payment = host.initiate().await;
    texts.push(format!("{payment:?}"));
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!();
    };
    texts.push(format!("{verified:?}"));
    let sent = host.engine.send_code(verified).await.unwrap();
    let code = host.code();
    texts.push(format!("{sent:?} {:?}", sent.state()));
    let id = sent.id();
    let rejected = host.engine.confirm(sent, &other_code(&code)).await.unwrap();
    texts.push(format!("{rejected:?}"));
    let CodeCheck::Rejected { payment, .. } = rejected else {
        panic!()
    };
    host.bank.fail_next(BankFault::Unavailable);
    let outage = host.engine.confirm(payment, &code).await.unwrap_err();
    texts.push(format!("{outage:?} {outage}"));
    let authorized = host.engine.resume::<Authorized>(id).await.unwrap();
    texts.push(format!("{authorized:?}"));
    let confirmed = host.engine.settle(authorized).await.unwrap();
    texts.push(format!("{confirmed:?} {:?}", confirmed.receipt()));
    texts.push(format!("{:?}", host.engine.load(id).await.unwrap()));
    for sms in host.sms.sent() {
        texts.push(format!("{sms:?}"));
    }
    for debit in host.bank.debits() {
        texts.push(format!("{debit:?}"));
    }
    texts.push(format!("{:?}", host.engine));
    texts.push(format!("{:?} {:?} {:?}", host.store, host.sms, host.bank));
    for text in &texts {
        assert_clean(text, code.expose_secret());
    }
    assert!(texts.iter().any(|t| t.contains("+33 6 •• •• •• 78")));
}

#[tokio::test]
async fn failed_payments_print_no_secret() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let code = host.code();
    host.bank
        .fail_next(BankFault::Decline(DeclineReason::SuspectedFraud));
    let error = host.engine.confirm(sent, &code).await.unwrap_err();
    assert_clean(&format!("{error:?} {error}"), code.expose_secret());
    let failed = host
        .engine
        .load(host.sms.sent()[0].payment_id())
        .await
        .unwrap();
    assert!(matches!(failed, AnyPayment::Failed(_)));
    assert_clean(&format!("{failed:?}"), code.expose_secret());
}

#[test]
fn secrets_print_redacted() {
    let pin: Pin = PIN.parse().unwrap();
    let code: OtpCode = "918273".parse().unwrap();
    let key = SecretKey::from_bytes(MASTER);
    assert_eq!(format!("{pin:?}"), "Pin([redacted])");
    assert_eq!(format!("{code:?}"), "OtpCode([redacted])");
    assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
    let keys = Keys::new(3, SecretKey::from_bytes(MASTER));
    assert_eq!(format!("{keys:?}"), "Keys { key_id: 3, previous: [], .. }");
    let funding: FundingSource = IBAN.parse().unwrap();
    assert_clean(&format!("{funding:?}"), "918273");
}

#[test]
fn parse_errors_never_echo_their_input() {
    let inputs = [
        ("2468a3", format!("{:?}", "2468a3".parse::<Pin>())),
        ("246", format!("{:?}", "246".parse::<Pin>())),
        ("91827x", format!("{:?}", "91827x".parse::<OtpCode>())),
        (
            "0612345678999",
            format!("{:?}", "0612345678999".parse::<buyster::PhoneNumber>()),
        ),
        (
            "FR7630006000011234567890188",
            format!(
                "{:?}",
                "FR7630006000011234567890188".parse::<buyster::Iban>()
            ),
        ),
    ];
    for (input, text) in inputs {
        assert!(text.starts_with("Err("), "{text}");
        assert!(!text.contains(input), "{input} echoed: {text}");
    }
    let errors: Vec<Error> = vec![
        "2468a3".parse::<Pin>().unwrap_err(),
        "91827x".parse::<OtpCode>().unwrap_err(),
        "0612345678999".parse::<buyster::PhoneNumber>().unwrap_err(),
        "FR7630006000011234567890188"
            .parse::<buyster::Iban>()
            .unwrap_err(),
        "5a5a".parse::<SecretKey>().unwrap_err(),
    ];
    for error in errors {
        assert_clean(&format!("{error} {error:?}"), "918273");
        assert!(!error.to_string().contains("5a5a"));
    }
}
