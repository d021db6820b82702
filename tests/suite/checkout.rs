//! The whole checkout on the memory host, and what is stored at each step.

use crate::common::*;
use buyster::{
    AnyPayment, Channel, CodeCheck, Error, FundingSource, Language, Merchant, Order, OtpSent,
    PaymentId, PinCheck, Policy, SmsEncoding, StateKind, TextError,
};

#[tokio::test]
async fn a_checkout_debits_once_and_keeps_a_receipt() {
    let host = Host::new().await;
    let payment = host.initiate().await;
    let id = payment.id();
    assert_eq!(payment.kind(), StateKind::Initiated);
    assert_eq!(payment.created_at(), T0);
    assert_eq!(payment.expires_at(), after(T0, minutes(15)));
    assert_eq!(host.kind(id).await, StateKind::Initiated);

    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!("right PIN refused");
    };
    let funding: FundingSource = IBAN.parse().unwrap();
    assert_eq!(verified.state().funding_source(), &funding);
    assert_eq!(host.kind(id).await, StateKind::PinVerified);
    assert!(
        host.sms.sent().is_empty(),
        "no SMS before the code is asked for"
    );

    let sent = host.engine.send_code(verified).await.unwrap();
    assert_eq!(sent.attempts_left(), 3);
    assert_eq!(sent.resends_left(), 3);
    assert_eq!(sent.code_expires_at(), after(T0, minutes(5)));
    assert_eq!(host.kind(id).await, StateKind::OtpSent);
    let outbox = host.sms.sent();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].to(), &host.phone);
    assert_eq!(outbox[0].payment_id(), id);
    let code = host.code();
    assert!(outbox[0].body().contains(code.expose_secret()));
    assert!(outbox[0].body().contains("49,90 €"));
    assert!(outbox[0].body().contains("Boutique Exemple"));
    assert_eq!(outbox[0].encoding(), SmsEncoding::Gsm7);
    assert_eq!(outbox[0].segments(), 1);

    let CodeCheck::Confirmed(confirmed) = host.engine.confirm(sent, &code).await.unwrap() else {
        panic!("right code refused");
    };
    let receipt = confirmed.receipt();
    assert_eq!(receipt.payment_id(), id);
    assert_eq!(receipt.amount(), order(4990).amount());
    assert_eq!(receipt.merchant().as_str(), "boutique-exemple");
    assert_eq!(receipt.order_reference(), "CMD-2026-000123");
    assert_eq!(receipt.bank_reference(), "MB-000001");
    assert_eq!(receipt.confirmed_at(), T0);

    let debits = host.bank.debits();
    assert_eq!(debits.len(), 1);
    assert_eq!(debits[0].payment_id(), id);
    assert_eq!(debits[0].idempotency_key(), id.to_string());
    assert_eq!(debits[0].amount(), order(4990).amount());
    assert_eq!(debits[0].funding_source(), &funding);
    assert_eq!(debits[0].reference(), "CMD-2026-000123");
    match host.stored(id).await {
        AnyPayment::Confirmed(stored) => assert_eq!(stored.receipt(), receipt),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_server_keeps_only_the_id_between_requests() {
    let host = Host::new().await;
    let id = host.initiate().await.id();
    let text = id.to_string();

    let id: PaymentId = text.parse().unwrap();
    let payment = host.engine.resume::<buyster::Initiated>(id).await.unwrap();
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!();
    };
    drop(host.engine.send_code(verified).await.unwrap());

    let payment = host.engine.resume::<OtpSent>(id).await.unwrap();
    let answer = host.engine.confirm(payment, &host.code()).await.unwrap();
    assert!(matches!(answer, CodeCheck::Confirmed(_)));
    assert_eq!(host.bank.debits().len(), 1);
}

#[tokio::test]
async fn a_code_works_once() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let code = host.code();
    host.engine.confirm(sent, &code).await.unwrap();

    let replay = host.engine.resume::<OtpSent>(id).await.unwrap_err();
    assert!(matches!(
        replay,
        Error::WrongState {
            expected: StateKind::OtpSent,
            found: StateKind::Confirmed
        }
    ));
    assert_eq!(host.bank.debits().len(), 1);
    assert_eq!(host.kind(id).await, StateKind::Confirmed);
}

#[tokio::test]
async fn resume_in_the_wrong_state_is_refused_and_changes_nothing() {
    let host = Host::new().await;
    let id = host.initiate().await.id();
    let error = host.engine.resume::<OtpSent>(id).await.unwrap_err();
    assert!(matches!(
        error,
        Error::WrongState {
            expected: StateKind::OtpSent,
            found: StateKind::Initiated
        }
    ));
    assert_eq!(error.to_string(), "the payment is initiated, not otp sent");
    assert_eq!(host.kind(id).await, StateKind::Initiated);
}

#[tokio::test]
async fn an_unknown_id_is_not_found() {
    let host = Host::new().await;
    let id: PaymentId = "0123456789abcdef0123456789abcdef".parse().unwrap();
    assert!(matches!(host.engine.load(id).await, Err(Error::NotFound)));
    assert!(matches!(
        host.engine.resume::<OtpSent>(id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn initiate_answers_alike_for_any_number_and_touches_no_account() {
    let host = Host::new().await;
    let before = host.store.keys();
    let unknown = "+33698765432".parse().unwrap();
    let a = host
        .engine
        .initiate(order(4990), &host.phone)
        .await
        .unwrap();
    let b = host.engine.initiate(order(4990), &unknown).await.unwrap();
    assert_eq!(
        (a.kind(), b.kind()),
        (StateKind::Initiated, StateKind::Initiated)
    );
    assert_eq!(
        (a.expires_at(), b.expires_at()),
        (b.expires_at(), a.expires_at())
    );
    let added: Vec<String> = host
        .store
        .keys()
        .into_iter()
        .filter(|k| !before.contains(k))
        .map(|k| k.to_string())
        .collect();
    assert_eq!(added.len(), 2);
    assert!(added.iter().all(|k| k.starts_with("payment/")), "{added:?}");
}

#[tokio::test]
async fn the_store_holds_no_phone_number_in_a_key() {
    let host = Host::new().await;
    host.sent().await;
    let keys = host.store.keys();
    assert!(keys.iter().any(|k| k.as_str().starts_with("account/")));
    assert!(keys.iter().any(|k| k.as_str().starts_with("guard/")));
    for key in keys {
        for fragment in ["612345678", "33612345678", "0612345678"] {
            assert!(!key.as_str().contains(fragment), "{key}");
        }
    }
}

#[tokio::test]
async fn the_order_is_kept_whole_with_its_channel() {
    let host = Host::new().await;
    let order = order(12_345).with_channel(Channel::Tv);
    let payment = host
        .engine
        .initiate(order.clone(), &host.phone)
        .await
        .unwrap();
    assert_eq!(payment.order(), &order);
    assert_eq!(host.stored(payment.id()).await.order(), &order);
}

#[tokio::test]
async fn the_sms_language_follows_the_number_or_the_policy() {
    let host = Host::new().await;
    let uk = "+447911123456".parse().unwrap();
    host.engine
        .enroll(&uk, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let payment = host.engine.initiate(order(4990), &uk).await.unwrap();
    let PinCheck::Verified(v) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!();
    };
    host.engine.send_code(v).await.unwrap();
    let body = host.sms.sent().pop().unwrap().body().to_owned();
    assert!(
        body.starts_with("Code ") && body.contains("payment of €49.90 to Boutique Exemple"),
        "{body}"
    );

    let policy = Policy {
        sms_language: Some(Language::English),
        ..Policy::default()
    };
    let host = Host::with_policy(policy).await;
    host.sent().await;
    let body = host.sms.sent().pop().unwrap().body().to_owned();
    assert!(body.contains("Never share this code"), "{body}");
}

#[tokio::test]
async fn engine_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let host = Host::new().await;
    let sent = host.sent().await;
    let code = host.code();
    let confirm = host.engine.confirm(sent, &code);
    assert_send(&confirm);
    assert!(matches!(confirm.await.unwrap(), CodeCheck::Confirmed(_)));
}

#[test]
fn a_merchant_name_or_reference_cannot_hide_characters_or_turn_its_text_around() {
    for text in [
        "Boutique \u{202E}elpmexE",
        "Boutique\u{2028}Exemple",
        "Bou\u{200B}tique Exemple",
        "Boutique\u{2066}Exemple\u{2069}",
        "Boutique\u{FE0F}Exemple",
        "Boutique\u{E0041}Exemple",
    ] {
        assert!(
            matches!(
                Merchant::new("boutique-exemple", text),
                Err(Error::InvalidMerchant(TextError::InvisibleCharacter))
            ),
            "{text:?}"
        );
        assert!(
            matches!(
                Order::new(order(4990).merchant().clone(), order(4990).amount(), text),
                Err(Error::InvalidReference(TextError::InvisibleCharacter))
            ),
            "{text:?}"
        );
    }
    let spaced = Merchant::new("boutique-exemple", "Boutique\u{A0}Exemple").unwrap();
    assert_eq!(spaced.display_name(), "Boutique Exemple");
}

#[tokio::test]
async fn a_name_with_no_break_spaces_is_stored_and_sent_with_plain_ones() {
    let host = Host::new().await;
    let merchant = Merchant::new("chez-leon", "Chez\u{202F}Léon\u{A0}!").unwrap();
    let order = Order::new(merchant, order(4990).amount(), "CMD\u{A0}42").unwrap();
    assert_eq!(order.reference(), "CMD 42");
    let payment = host
        .engine
        .initiate(order.clone(), &host.phone)
        .await
        .unwrap();
    let id = payment.id();
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!();
    };
    host.engine.send_code(verified).await.unwrap();
    let body = host.sms.sent().pop().unwrap().body().to_owned();
    assert!(body.contains("à Chez Léon !."), "{body}");
    assert_eq!(host.stored(id).await.order(), &order);
}

#[tokio::test]
async fn a_french_name_is_folded_into_one_gsm7_sms_and_kept_exact_elsewhere() {
    let host = Host::new().await;
    let name = "Crêperie Façon Cœur d’Artichaut";
    let merchant = Merchant::new("creperie", name).unwrap();
    let order = Order::new(merchant, order(4990).amount(), "CMD-1").unwrap();
    let payment = host.engine.initiate(order, &host.phone).await.unwrap();
    let id = payment.id();
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!();
    };
    host.engine.send_code(verified).await.unwrap();
    let sms = host.sms.sent().pop().unwrap();
    assert!(
        sms.body()
            .contains("paiement de 49,90 € à Creperie Facon Coeur d'Artichaut. Ne donnez"),
        "{}",
        sms.body()
    );
    assert_eq!(sms.encoding(), SmsEncoding::Gsm7);
    assert_eq!(sms.segments(), 1);
    let stored = host.stored(id).await;
    assert_eq!(stored.order().merchant().display_name(), name);
    assert_eq!(stored.order().merchant().to_string(), name);
}

#[tokio::test]
async fn a_name_that_cannot_be_folded_is_sent_exact_in_ucs2() {
    let host = Host::new().await;
    let name = "Кафе Пушкинъ";
    let merchant = Merchant::new("cafe-pushkin", name).unwrap();
    let order = Order::new(merchant, order(4990).amount(), "CMD-1").unwrap();
    let payment = host.engine.initiate(order, &host.phone).await.unwrap();
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!();
    };
    host.engine.send_code(verified).await.unwrap();
    let sms = host.sms.sent().pop().unwrap();
    assert!(
        sms.body().contains("à Кафе Пушкинъ. Ne donnez"),
        "{}",
        sms.body()
    );
    assert_eq!(sms.encoding(), SmsEncoding::Ucs2);
    assert_eq!(sms.segments(), 2);
}
