//! The low-value exemption (PSD2 RTS art. 16): off by default; when on, small euro payments
//! may skip the SMS code within a count and a total since the last code, the PIN always
//! checked. The path without a code exists only for the payments it admits.

use crate::common::*;
use buyster::{
    Amount, CancelReason, Currency, Error, EventKind, Exemption, ExemptionTicket, Merchant, Order,
    Payment, PinCheck, PinVerified, Policy, StateKind,
};

fn exempting() -> Policy {
    Policy {
        low_value_exemption: true,
        ..Policy::default()
    }
}

fn priced(minor: u64, currency: Currency) -> Order {
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple").unwrap();
    Order::new(merchant, Amount::new(minor, currency).unwrap(), "CMD-7").unwrap()
}

async fn verified(host: &Host, order: Order) -> Payment<PinVerified> {
    let payment = host.engine.initiate(order, &host.phone).await.unwrap();
    match host.engine.verify_pin(payment, &pin(PIN)).await.unwrap() {
        PinCheck::Verified(verified) => verified,
        other => panic!("{other:?}"),
    }
}

fn ticket(payment: Payment<PinVerified>) -> ExemptionTicket {
    match payment.exemption() {
        Exemption::Ticket(ticket) => ticket,
        Exemption::CodeNeeded(payment) => panic!("not exempt: {payment:?}"),
    }
}

/// Pays `minor` euro cents without a code, or gives the payment back when it needs its code.
async fn pay_exempt(host: &Host, minor: u64) -> Result<(), Box<Payment<PinVerified>>> {
    let ticket = match verified(host, priced(minor, Currency::EUR))
        .await
        .exemption()
    {
        Exemption::Ticket(ticket) => ticket,
        Exemption::CodeNeeded(payment) => return Err(Box::new(payment)),
    };
    let authorized = host.engine.authorize_exempt(ticket).await.unwrap();
    assert!(authorized.state().low_value_exempt());
    let paid = host.engine.settle(authorized).await.unwrap();
    assert!(paid.receipt().low_value_exempt());
    Ok(())
}

/// Pays `minor` euro cents with the code.
async fn pay_with_code(host: &Host, minor: u64) {
    let verified = verified(host, priced(minor, Currency::EUR)).await;
    let sent = host.engine.send_code(verified).await.unwrap();
    let code = host.sms.last_code_for(sent.id()).unwrap();
    host.engine.confirm(sent, &code).await.unwrap();
}

#[tokio::test]
async fn off_by_default() {
    let host = Host::new().await;
    let payment = verified(&host, priced(1_000, Currency::EUR)).await;
    assert!(!payment.state().low_value_exempt());
    let Exemption::CodeNeeded(payment) = payment.exemption() else {
        panic!("a ticket with the exemption off")
    };
    assert_eq!(payment.kind(), StateKind::PinVerified);
}

#[tokio::test]
async fn a_small_payment_is_paid_with_the_pin_alone() {
    let host = Host::with_policy(exempting()).await;
    host.events.clear();
    pay_exempt(&host, 2_000).await.unwrap();
    assert!(host.sms.sent().is_empty(), "no SMS at all");
    assert_eq!(host.bank.debits().len(), 1);
    assert_eq!(
        host.events.kinds(),
        [
            EventKind::Initiated,
            EventKind::PinVerified,
            EventKind::ExemptAuthorized,
            EventKind::Confirmed
        ]
    );
}

#[tokio::test]
async fn the_pin_is_always_required() {
    let host = Host::with_policy(exempting()).await;
    let payment = host.initiate().await;
    let answer = host
        .engine
        .verify_pin(payment, &pin(WRONG_PIN))
        .await
        .unwrap();
    assert!(matches!(
        answer,
        PinCheck::Rejected {
            attempts_left: 2,
            ..
        }
    ));
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn above_thirty_euros_or_in_another_currency_the_code_is_needed() {
    let host = Host::with_policy(Policy {
        other_currencies: vec![buyster::CurrencyLimits::new(
            Currency::GBP,
            100_000,
            150_000,
            300_000,
        )],
        ..exempting()
    })
    .await;
    assert!(pay_exempt(&host, 3_001).await.is_err());
    assert!(pay_exempt(&host, 3_000).await.is_ok());
    let pounds = verified(&host, priced(100, Currency::GBP)).await;
    assert!(!pounds.state().low_value_exempt());
    // The refused payment goes the code's way, its SMS counted at the send.
    let sent = host.engine.send_code(pounds).await.unwrap();
    assert_eq!(sent.kind(), StateKind::OtpSent);
}

#[tokio::test]
async fn five_in_a_row_at_most_then_a_code_starts_again() {
    let host = Host::with_policy(exempting()).await;
    for _ in 0..5 {
        pay_exempt(&host, 100).await.unwrap();
    }
    let sixth = pay_exempt(&host, 100).await.unwrap_err();
    assert!(!sixth.state().low_value_exempt());
    let sent = host.engine.send_code(*sixth).await.unwrap();
    let code = host.sms.last_code_for(sent.id()).unwrap();
    host.engine.confirm(sent, &code).await.unwrap();
    // A full authentication: the streak starts again.
    pay_exempt(&host, 100).await.unwrap();
}

#[tokio::test]
async fn one_hundred_euros_in_all_at_most() {
    let host = Host::with_policy(exempting()).await;
    for _ in 0..4 {
        pay_exempt(&host, 2_500).await.unwrap();
    }
    assert!(pay_exempt(&host, 1).await.is_err());
    pay_with_code(&host, 4_990).await;
    pay_exempt(&host, 2_500).await.unwrap();
}

#[tokio::test]
async fn a_failed_exempt_payment_gives_its_place_back() {
    let host = Host::with_policy(exempting()).await;
    for _ in 0..4 {
        pay_exempt(&host, 100).await.unwrap();
    }
    let fifth = verified(&host, priced(100, Currency::EUR)).await;
    assert!(fifth.state().low_value_exempt());
    host.engine
        .cancel(fifth.id(), CancelReason::Buyer)
        .await
        .unwrap();
    pay_exempt(&host, 100).await.unwrap();
    assert!(pay_exempt(&host, 100).await.is_err());
}

#[tokio::test]
async fn an_expired_ticket_fails_the_payment() {
    let host = Host::with_policy(exempting()).await;
    let ticket = ticket(verified(&host, priced(100, Currency::EUR)).await);
    let id = ticket.payment().id();
    host.clock.advance(minutes(15));
    assert!(matches!(
        host.engine.authorize_exempt(ticket).await,
        Err(Error::Expired)
    ));
    assert_eq!(host.failure(id).await, buyster::FailureReason::Expired);
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn a_ticket_works_once() {
    let host = Host::with_policy(exempting()).await;
    let verified = verified(&host, priced(100, Currency::EUR)).await;
    let id = verified.id();
    let again = host.engine.resume::<PinVerified>(id).await.unwrap();
    host.engine
        .authorize_exempt(ticket(verified))
        .await
        .unwrap();
    let stale = ticket(again);
    assert!(matches!(
        host.engine.authorize_exempt(stale).await,
        Err(Error::WrongState {
            expected: StateKind::PinVerified,
            found: StateKind::Authorized
        })
    ));
    assert_eq!(host.kind(id).await, StateKind::Authorized);
}

#[tokio::test]
async fn a_ticket_issued_under_an_older_policy_is_checked_against_the_current_one() {
    let host = Host::with_policy(exempting()).await;
    let lowered = Policy {
        exemption_max_amount: 1_000,
        ..exempting()
    };
    for (policy, minor) in [(Policy::default(), 500), (lowered, 2_000)] {
        let ticket = ticket(verified(&host, priced(minor, Currency::EUR)).await);
        let id = ticket.payment().id();
        let debits = host.bank.debits().len();
        let keys = buyster::Keys::new(1, buyster::SecretKey::from_bytes(MASTER));
        let engine = host.restarted(keys, policy);
        assert!(matches!(
            engine.authorize_exempt(ticket).await,
            Err(Error::ExemptionWithdrawn)
        ));
        // Nothing moved: the payment waits for its code, which pays it.
        assert_eq!(host.kind(id).await, StateKind::PinVerified);
        assert_eq!(host.bank.debits().len(), debits);
        let payment = engine.resume::<PinVerified>(id).await.unwrap();
        let sent = engine.send_code(payment).await.unwrap();
        let code = host.sms.last_code_for(id).unwrap();
        engine.confirm(sent, &code).await.unwrap();
        assert_eq!(host.kind(id).await, StateKind::Confirmed);
        assert_eq!(host.bank.debits().len(), debits + 1);
    }
}

#[tokio::test]
async fn a_code_does_not_reopen_the_room_of_tickets_still_pending() {
    let host = Host::with_policy(exempting()).await;
    // Five tickets taken, none used yet: the streak is full.
    let mut tickets = Vec::new();
    for _ in 0..5 {
        tickets.push(ticket(verified(&host, priced(100, Currency::EUR)).await));
    }
    // A payment by code ends the streak; the five tickets may still be used, so they count
    // in the new one.
    pay_with_code(&host, 4_990).await;
    let sixth = pay_exempt(&host, 100).await.unwrap_err();
    assert!(!sixth.state().low_value_exempt());
    host.engine
        .cancel(sixth.id(), CancelReason::Buyer)
        .await
        .unwrap();
    let mut exempt = 0;
    for ticket in tickets {
        host.engine.authorize_exempt(ticket).await.unwrap();
        exempt += 1;
    }
    assert_eq!(exempt, 5, "at most five exempt payments since the code");
    // Once they are used, the next code frees the streak at once.
    pay_with_code(&host, 4_990).await;
    pay_exempt(&host, 100).await.unwrap();
}

/// A payment of `minor` euro cents through its right PIN on `engine`.
async fn verified_on(host: &Host, engine: &TestEngine, minor: u64) -> Payment<PinVerified> {
    let order = priced(minor, Currency::EUR);
    let payment = engine.initiate(order, &host.phone).await.unwrap();
    match engine.verify_pin(payment, &pin(PIN)).await.unwrap() {
        PinCheck::Verified(verified) => verified,
        other => panic!("{other:?}"),
    }
}

/// Payments of `minor` euro cents paid on `engine` without a code, one after the other, until
/// one needs its code (cancelled then): how many went without.
async fn exempt_until_a_code_is_needed(host: &Host, engine: &TestEngine, minor: u64) -> usize {
    for paid in 0..20 {
        match verified_on(host, engine, minor).await.exemption() {
            Exemption::Ticket(ticket) => {
                let authorized = engine.authorize_exempt(ticket).await.unwrap();
                engine.settle(authorized).await.unwrap();
            }
            Exemption::CodeNeeded(payment) => {
                engine
                    .cancel(payment.id(), CancelReason::Buyer)
                    .await
                    .unwrap();
                return paid;
            }
        }
    }
    panic!("twenty payments without a code")
}

#[tokio::test]
async fn tickets_out_when_a_code_ends_the_streak_stay_counted_however_full_the_ledger() {
    let host = Host::with_policy(exempting()).await;
    // Eight payments by code on eight days fill the ledger's room for reservations apart.
    for day in 0..8 {
        if day > 0 {
            host.clock.advance(minutes(24 * 60));
        }
        pay_with_code(&host, 5_000).await;
    }
    // Two tickets taken today; their reservations merge with today's others.
    let first = ticket(verified(&host, priced(1_000, Currency::EUR)).await);
    let second = ticket(verified(&host, priced(1_000, Currency::EUR)).await);
    pay_with_code(&host, 5_000).await;
    // Since that code: the two tickets, then new payments until one needs its code.
    for ticket in [first, second] {
        let authorized = host.engine.authorize_exempt(ticket).await.unwrap();
        host.engine.settle(authorized).await.unwrap();
    }
    let more = exempt_until_a_code_is_needed(&host, &host.engine, 1_000).await;
    assert_eq!(2 + more, 5, "payments without a code since the last code");
}

#[tokio::test]
async fn a_ticket_lives_as_long_as_its_payment_whatever_the_policy_says_later() {
    let hour = Policy {
        payment_ttl: minutes(60),
        ..exempting()
    };
    let host = Host::with_policy(hour).await;
    let mut tickets = Vec::new();
    for _ in 0..5 {
        tickets.push(ticket(verified(&host, priced(1_000, Currency::EUR)).await));
    }
    // The host restarts with payments of 10 minutes; the tickets' payments keep their hour.
    let keys = buyster::Keys::new(1, buyster::SecretKey::from_bytes(MASTER));
    let ten_minutes = Policy {
        payment_ttl: minutes(10),
        ..exempting()
    };
    let engine = host.restarted(keys, ten_minutes);
    host.clock.advance(minutes(11));
    let sent = engine
        .send_code(verified_on(&host, &engine, 5_000).await)
        .await
        .unwrap();
    let code = host.sms.last_code_for(sent.id()).unwrap();
    engine.confirm(sent, &code).await.unwrap();
    let mut without_code = 0;
    for ticket in tickets {
        let authorized = engine.authorize_exempt(ticket).await.unwrap();
        engine.settle(authorized).await.unwrap();
        without_code += 1;
    }
    without_code += exempt_until_a_code_is_needed(&host, &engine, 1_000).await;
    assert_eq!(
        without_code, 5,
        "payments without a code since the last code"
    );
}
