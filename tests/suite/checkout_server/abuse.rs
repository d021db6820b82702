//! The abuse limits: payments per client and per number, open payments per client, wrong PINs
//! per client and per session and the numbers they are for, each refused with 429 before the
//! engine is asked; the client behind a trusted proxy; the limiter's memory bound.

use std::net::IpAddr;
use std::time::Duration;

use buyster::{Clock, IdempotencyKey, MerchantId, PhoneNumber, Timestamp};
use serde_json::{Value, json};

use super::server::config::{Command, Config};
use super::server::limits::{
    Admission, ClientAddress, Limiter, Limits, Network, PinSender, TooMany, client_of,
};
use super::server::seed;
use super::support::{Answer, PHONE, PIN, TestServer, WRONG_PIN};

/// A second and a third client: the test client binds its socket to these loopback addresses.
const B: &str = "127.0.0.2";
const C: &str = "127.0.0.3";
const OTHER_PHONE: &str = "+33612300001";

/// Limits so large that only the ones a test sets bind.
fn loose() -> Limits {
    Limits {
        payments_per_client: 1000,
        payments_per_number: 1000,
        open_payments_per_client: 1000,
        wrong_pins_per_client: 1000,
        wrong_pin_numbers_per_client: 1000,
        wrong_pins_per_session: 1000,
        wrong_pin_numbers_per_session: 1000,
        ..Limits::default()
    }
}

async fn start(adjust: impl FnOnce(&mut Limits)) -> TestServer {
    let mut limits = loose();
    adjust(&mut limits);
    TestServer::start_with(|config| config.limits = limits).await
}

fn order(reference: &str, phone: &str) -> Value {
    json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": 4990,
        "currency": "EUR",
        "reference": reference,
        "phone": phone,
    })
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The payments in the engine's store.
fn payments_stored(server: &TestServer) -> u32 {
    let store = rusqlite::Connection::open(server.dir.join("checkout.db")).unwrap();
    store
        .query_row(
            "SELECT count(*) FROM records WHERE key LIKE 'payment/%'",
            [],
            |row| row.get(0),
        )
        .unwrap()
}

/// Asserts a 429 of `error` whose `Retry-After` is `wait` (whole seconds, rounded up) and
/// whose `retry_at` is `now + wait`.
#[track_caller]
fn assert_limited(answer: &Answer, error: &str, wait: u64) {
    answer.expect(429, Some(error));
    let header = answer.headers["retry-after"].to_str().unwrap();
    assert_eq!(header, wait.to_string(), "{}", answer.text);
    assert!(!answer.field("retry_at").is_empty(), "{}", answer.text);
}

fn pin_body(pin: &str) -> Value {
    json!({ "pin": pin })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_over_the_client_limit_is_429_stores_nothing_and_spares_other_clients() {
    let server = start(|limits| limits.payments_per_client = 2).await;
    server.create_for(4990, PHONE, "ABUSE-C-1").await;
    server.advance(Duration::from_secs(60));
    server.create_for(4990, PHONE, "ABUSE-C-2").await;
    let stored = payments_stored(&server);
    assert_eq!(stored, 2);

    let refused = server
        .post("/api/payments", order("ABUSE-C-3", PHONE))
        .await;
    // The first creation leaves the 600 s window 540 s from now.
    assert_limited(&refused, "too_many_payments", 540);
    assert!(refused.json.get("id").is_none(), "{}", refused.text);
    assert_eq!(payments_stored(&server), stored);

    // Another client is not affected, and the order is made once, for it.
    let other = server
        .post_from(ip(B), "/api/payments", &order("ABUSE-C-3", PHONE), &[])
        .await;
    other.expect(201, None).state("initiated");
    assert_eq!(payments_stored(&server), stored + 1);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creation_window_slides_on_the_server_clock() {
    let server = start(|limits| limits.payments_per_client = 2).await;
    server.create_for(4990, PHONE, "ABUSE-W-1").await;
    server.advance(Duration::from_secs(300));
    server.create_for(4990, PHONE, "ABUSE-W-2").await;
    let refused = server
        .post("/api/payments", order("ABUSE-W-3", PHONE))
        .await;
    assert_limited(&refused, "too_many_payments", 300);
    // One second short of the first leaving the window: still refused.
    server.advance(Duration::from_secs(299));
    let refused = server
        .post("/api/payments", order("ABUSE-W-3", PHONE))
        .await;
    assert_limited(&refused, "too_many_payments", 1);
    server.advance(Duration::from_secs(1));
    server.create_for(4990, PHONE, "ABUSE-W-3").await;
    // The second is still in the window: one creation, not two.
    let refused = server
        .post("/api/payments", order("ABUSE-W-4", PHONE))
        .await;
    assert_limited(&refused, "too_many_payments", 300);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_for_one_number_are_limited_whoever_asks() {
    let server = start(|limits| limits.payments_per_number = 2).await;
    server.create_for(4990, PHONE, "ABUSE-N-1").await;
    let second = server
        .post_from(ip(B), "/api/payments", &order("ABUSE-N-2", PHONE), &[])
        .await;
    second.expect(201, None);
    let stored = payments_stored(&server);
    let refused = server
        .post_from(ip(C), "/api/payments", &order("ABUSE-N-3", PHONE), &[])
        .await;
    assert_limited(&refused, "too_many_payments_for_number", 600);
    assert_eq!(payments_stored(&server), stored);
    // Another number, from the same client: taken.
    let other = server
        .post_from(
            ip(C),
            "/api/payments",
            &order("ABUSE-N-3", OTHER_PHONE),
            &[],
        )
        .await;
    other.expect(201, None);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_payments_are_bounded_and_freed_when_one_ends_or_expires() {
    let server = start(|limits| limits.open_payments_per_client = 2).await;
    let ttl = server.server.app().policy().payment_ttl;
    let first = server.create_for(4990, PHONE, "ABUSE-O-1").await;
    server.advance(Duration::from_secs(10));
    let second = server.create_for(4990, PHONE, "ABUSE-O-2").await;
    let stored = payments_stored(&server);
    let refused = server
        .post("/api/payments", order("ABUSE-O-3", PHONE))
        .await;
    // The first expires, and frees its slot, in its time to live less 10 s.
    assert_limited(&refused, "too_many_open_payments", ttl.as_secs() - 10);
    assert_eq!(payments_stored(&server), stored);

    // Cancelled: the first is failed, and its slot free.
    server
        .post(&format!("/api/payments/{first}/cancel"), json!({}))
        .await
        .expect(200, None)
        .state("failed");
    let third = server.create_for(4990, PHONE, "ABUSE-O-3").await;
    let refused = server
        .post("/api/payments", order("ABUSE-O-4", PHONE))
        .await;
    refused.expect(429, Some("too_many_open_payments"));

    // Paid: the second confirmed, its slot free.
    server
        .post(&format!("/api/payments/{second}/pin"), pin_body(PIN))
        .await
        .expect(200, None);
    let code = server.code_for(&second).await;
    server
        .post(
            &format!("/api/payments/{second}/code"),
            json!({ "code": code }),
        )
        .await
        .expect(200, None)
        .state("confirmed");
    server.create_for(4990, OTHER_PHONE, "ABUSE-O-4").await;
    server
        .post("/api/payments", order("ABUSE-O-5", PHONE))
        .await
        .expect(429, Some("too_many_open_payments"));

    // Expired: past their time to live, the open ones free their slots.
    server.advance(ttl);
    server.create_for(4990, PHONE, "ABUSE-O-5").await;
    server.create_for(4990, PHONE, "ABUSE-O-6").await;
    let _ = third;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_answers_its_payment_and_counts_nothing() {
    let server = start(|limits| limits.payments_per_client = 2).await;
    let id = server.create_for(4990, PHONE, "ABUSE-R-1").await;
    for _ in 0..5 {
        let again = server
            .post("/api/payments", order("ABUSE-R-1", PHONE))
            .await;
        again.expect(201, None);
        assert_eq!(again.field("id"), id);
    }
    let keyed = order("ABUSE-R-KEYED", PHONE);
    let first = server.post_keyed("/api/payments", &keyed, "key-r-2").await;
    first.expect(201, None);
    let stored = payments_stored(&server);
    // Both in the window: the client is at its limit.
    server
        .post("/api/payments", order("ABUSE-R-3", PHONE))
        .await
        .expect(429, Some("too_many_payments"));
    // At the limit, a retry is still answered its payment, under its reference or its key.
    let again = server
        .post("/api/payments", order("ABUSE-R-1", PHONE))
        .await;
    again.expect(201, None);
    assert_eq!(again.field("id"), id);
    let again = server.post_keyed("/api/payments", &keyed, "key-r-2").await;
    again.expect(201, None);
    assert_eq!(again.field("id"), first.field("id"));
    // A retry from another client (the same order, the same number) counts nothing either.
    let elsewhere = server
        .post_from(ip(B), "/api/payments", &order("ABUSE-R-1", PHONE), &[])
        .await;
    elsewhere.expect(201, None);
    assert_eq!(elsewhere.field("id"), id);
    assert_eq!(payments_stored(&server), stored);
    // The same key for another number is refused by the engine, and counts nothing.
    let reused = server
        .post_keyed(
            "/api/payments",
            &order("ABUSE-R-KEYED", OTHER_PHONE),
            "key-r-2",
        )
        .await;
    reused.expect(409, Some("idempotency_key_reused"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pins_stop_at_the_client_cap_before_the_number_s_guard() {
    let server = start(|limits| limits.wrong_pins_per_client = 2).await;
    let id = server.create(4990, PHONE).await;
    let pin = format!("/api/payments/{id}/pin");
    let wrong = server.post(&pin, pin_body(WRONG_PIN)).await;
    wrong.expect(422, Some("wrong_pin"));
    assert_eq!(wrong.json["attempts_left"], 2);
    server.advance(Duration::from_secs(60));
    let wrong = server.post(&pin, pin_body(WRONG_PIN)).await;
    wrong.expect(422, Some("wrong_pin"));
    assert_eq!(wrong.json["attempts_left"], 1);

    // The third would lock the number: refused before the engine, unchecked, and so is any
    // PIN from this client until the first wrong one leaves the hour's window.
    for attempt in [WRONG_PIN, PIN] {
        let refused = server.post(&pin, pin_body(attempt)).await;
        assert_limited(&refused, "too_many_pin_attempts", 3540);
        refused.state("initiated");
        assert_eq!(refused.field("id"), id);
    }
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("initiated");
    assert!(server.server.app().sms.messages().await.unwrap().is_empty());

    // The guard counted two, not the refused ones (a third would have locked the number):
    // the buyer's right PIN, from elsewhere, goes through.
    let paid = server.post_from(ip(B), &pin, &pin_body(PIN), &[]).await;
    paid.expect(200, None).state("otp_sent");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_pin_counts_nothing_against_the_client() {
    let server = start(|limits| limits.wrong_pins_per_client = 1).await;
    for _ in 0..3 {
        let id = server.create(4990, PHONE).await;
        server
            .post(&format!("/api/payments/{id}/pin"), pin_body(PIN))
            .await
            .expect(200, None)
            .state("otp_sent");
        server
            .post(&format!("/api/payments/{id}/cancel"), json!({}))
            .await
            .expect(200, None);
    }
    // A PIN for a payment that cannot take one counts nothing either.
    let id = server.create(4990, PHONE).await;
    server
        .post(&format!("/api/payments/{id}/cancel"), json!({}))
        .await
        .expect(200, None);
    server
        .post(&format!("/api/payments/{id}/pin"), pin_body(WRONG_PIN))
        .await
        .expect(409, Some("wrong_state"));
    let id = server.create(4990, PHONE).await;
    let pin = format!("/api/payments/{id}/pin");
    server
        .post(&pin, pin_body(WRONG_PIN))
        .await
        .expect(422, Some("wrong_pin"));
    let refused = server.post(&pin, pin_body(WRONG_PIN)).await;
    assert_limited(&refused, "too_many_pin_attempts", 3600);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gets_pins_wrong_for_a_bounded_number_of_numbers() {
    let server = start(|limits| limits.wrong_pin_numbers_per_client = 2).await;
    let numbers = ["+33612300001", "+33612300002", "+33612300003"];
    let mut pins = Vec::new();
    for number in numbers {
        let id = server.create(4990, number).await;
        pins.push(format!("/api/payments/{id}/pin"));
    }
    server
        .post(&pins[0], pin_body(WRONG_PIN))
        .await
        .expect(422, Some("wrong_pin"));
    server.advance(Duration::from_secs(600));
    server
        .post(&pins[1], pin_body(WRONG_PIN))
        .await
        .expect(422, Some("wrong_pin"));
    let refused = server.post(&pins[2], pin_body(WRONG_PIN)).await;
    // Room for a third number when the first leaves the window, 3000 s from now.
    assert_limited(&refused, "too_many_pin_numbers", 3000);
    // The numbers already tried may still be tried.
    let again = server.post(&pins[0], pin_body(WRONG_PIN)).await;
    again.expect(422, Some("wrong_pin"));
    assert_eq!(again.json["attempts_left"], 1);
    // Another client tries the third number: its guard was never touched.
    let elsewhere = server
        .post_from(ip(B), &pins[2], &pin_body(WRONG_PIN), &[])
        .await;
    elsewhere.expect(422, Some("wrong_pin"));
    assert_eq!(elsewhere.json["attempts_left"], 2);
    // The window slides: an hour after its last wrong PIN, the first number has left it.
    server.advance(Duration::from_secs(3600));
    let id = server.create(4990, numbers[2]).await;
    server
        .post(&format!("/api/payments/{id}/pin"), pin_body(WRONG_PIN))
        .await
        .expect(422, Some("wrong_pin"));
    server.finish().await;
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A browser's session cookie and the first fields of a new checkout form, and the form's page.
async fn checkout_form(server: &TestServer, cookie: Option<&str>) -> (String, String) {
    let page = match cookie {
        Some(cookie) => server.get_with_cookie("/checkout", cookie).await,
        None => server.get("/checkout").await,
    };
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.text.find(&marker).unwrap() + marker.len();
        page.text[start..].split('"').next().unwrap().to_owned()
    };
    let cookie = match cookie {
        Some(cookie) => cookie.to_owned(),
        None => {
            let set = page.headers["set-cookie"].to_str().unwrap();
            set.split(';').next().unwrap().to_owned()
        }
    };
    (
        cookie,
        format!("csrf={}&order={}", field("csrf"), field("order")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_limit_wrong_pins_per_session_and_say_when_to_retry() {
    let server = start(|limits| limits.wrong_pins_per_session = 1).await;
    let (cookie, fields) = checkout_form(&server, None).await;
    let body = format!("{fields}&phone=0612345678&pin={WRONG_PIN}");
    let wrong = server
        .post_raw("/checkout", Some(FORM), &body, Some(&cookie))
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert!(wrong.text.contains("Code confidentiel incorrect"));
    let csrf = fields.split('&').next().unwrap();
    let action_at = wrong.text.find("/pin\"").unwrap();
    let start = wrong.text[..action_at].rfind("/payments/").unwrap();
    let pin = &wrong.text[start..action_at + 4];

    let refused = server
        .post_raw(
            pin,
            Some(FORM),
            &format!("{csrf}&pin={WRONG_PIN}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.headers["retry-after"], "3600");
    assert!(refused.text.contains("été vérifié"), "{}", refused.text);
    assert!(refused.text.contains("Code confidentiel"));

    // Another browser on the same address has a budget of its own; the guard counted one.
    let (other, other_fields) = checkout_form(&server, None).await;
    let other_csrf = other_fields.split('&').next().unwrap();
    let wrong = server
        .post_raw(
            pin,
            Some(FORM),
            &format!("{other_csrf}&pin={WRONG_PIN}"),
            Some(&other),
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert!(
        wrong.text.contains("Il vous reste 1 essai"),
        "{}",
        wrong.text
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkout_page_refuses_a_client_over_its_payments_with_429() {
    let server = start(|limits| limits.payments_per_client = 1).await;
    server.create(4990, PHONE).await;
    let (cookie, fields) = checkout_form(&server, None).await;
    let stored = payments_stored(&server);
    let body = format!("{fields}&phone=0612345678&pin={PIN}");
    let refused = server
        .post_raw("/checkout", Some(FORM), &body, Some(&cookie))
        .await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.headers["retry-after"], "600");
    assert!(
        refused
            .text
            .contains("Trop de paiements commencés récemment")
    );
    // The form again, to retry later.
    assert!(refused.text.contains("name=\"order\""));
    assert_eq!(payments_stored(&server), stored);
    assert!(server.server.app().sms.messages().await.unwrap().is_empty());
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let forwarded = |address: &'static str| [("x-forwarded-for", address)];
    // Not trusted (the default): the header is the client's to write, and ignored.
    let server = start(|limits| limits.payments_per_client = 1).await;
    let from = ip("127.0.0.1");
    let first = order("ABUSE-X-1", PHONE);
    server
        .post_from(from, "/api/payments", &first, &forwarded("198.51.100.7"))
        .await
        .expect(201, None);
    let second = order("ABUSE-X-2", PHONE);
    server
        .post_from(from, "/api/payments", &second, &forwarded("198.51.100.8"))
        .await
        .expect(429, Some("too_many_payments"));
    server.finish().await;

    // Behind a trusted proxy: the address it names is the client.
    let server = start(|limits| {
        limits.payments_per_client = 1;
        limits.trusted_proxies = vec!["127.0.0.0/30".parse().unwrap()];
    })
    .await;
    server
        .post_from(from, "/api/payments", &first, &forwarded("198.51.100.7"))
        .await
        .expect(201, None);
    server
        .post_from(from, "/api/payments", &second, &forwarded("198.51.100.7"))
        .await
        .expect(429, Some("too_many_payments"));
    // What the client wrote to the left of the proxy's entry changes nothing.
    server
        .post_from(
            ip(B),
            "/api/payments",
            &second,
            &forwarded("203.0.113.1, 198.51.100.7"),
        )
        .await
        .expect(429, Some("too_many_payments"));
    server
        .post_from(from, "/api/payments", &second, &forwarded("198.51.100.8"))
        .await
        .expect(201, None);
    server.finish().await;
}

#[test]
fn a_client_is_its_address_an_ipv6_one_by_its_64_block() {
    let of = |text: &str| ClientAddress::of(ip(text));
    assert_eq!(of("2001:db8:1:2:aaaa::1"), of("2001:db8:1:2:ffff:1:2:3"));
    assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
    assert_eq!(of("::ffff:203.0.113.9"), of("203.0.113.9"));
    assert_ne!(of("203.0.113.9"), of("203.0.113.10"));
    // No address in a log line.
    assert_eq!(format!("{:?}", of("203.0.113.9")), "ClientAddress(v4)");

    let proxies: Vec<Network> = vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
    let headers = |value: &str| {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    };
    let client = |peer: &str, value: &str| client_of(ip(peer), &headers(value), &proxies);
    // An untrusted peer is the client, whatever it writes.
    assert_eq!(client("192.0.2.1", "198.51.100.7"), of("192.0.2.1"));
    // A trusted peer: the nearest untrusted address, from the right.
    assert_eq!(client("10.1.2.3", "198.51.100.7"), of("198.51.100.7"));
    assert_eq!(
        client("::1", "1.2.3.4, 198.51.100.7, 10.9.9.9"),
        of("198.51.100.7")
    );
    assert_eq!(
        client("::ffff:10.0.0.1", "198.51.100.7"),
        of("198.51.100.7")
    );
    // Nothing but proxies, or garbage: the last proxy that passed it on.
    assert_eq!(client("10.1.2.3", "10.0.0.9"), of("10.0.0.9"));
    assert_eq!(client("10.1.2.3", "not-an-address"), of("10.1.2.3"));
    assert_eq!(client("10.1.2.3", "198.51.100.7, unknown"), of("10.1.2.3"));
    assert_eq!(
        client_of(ip("10.1.2.3"), &axum::http::HeaderMap::new(), &proxies),
        of("10.1.2.3")
    );
    for bad in ["10.0.0.0/33", "::/129", "proxy", "10.0.0.0/x", ""] {
        assert!(bad.parse::<Network>().is_err(), "{bad}");
    }
    let everything: Network = "0.0.0.0/0".parse().unwrap();
    assert!(everything.contains(ip("203.0.113.9")));
    assert!(!everything.contains(ip("2001:db8::1")));
}

fn creation_of(limiter: &Limiter, client: u32, order: u32) -> super::server::limits::Creation {
    let merchant: MerchantId = seed::MERCHANT_ID.parse().unwrap();
    let key: IdempotencyKey = format!("order/{order}").parse().unwrap();
    let phone: PhoneNumber = PHONE.parse().unwrap();
    let address = IpAddr::V4(std::net::Ipv4Addr::from_bits(0x0a00_0000 + client));
    limiter.creation(ClientAddress::of(address), &merchant, &key, &phone)
}

#[test]
fn the_limiter_holds_a_bounded_number_of_records_under_many_clients() {
    let limits = Limits {
        records: 64,
        payments_per_number: u32::MAX,
        open_payments_per_client: u32::MAX,
        ..Limits::default()
    };
    let limiter = Limiter::new(limits, Duration::from_secs(900));
    let start = buyster::SystemClock.now();
    for client in 0..5_000 {
        let at = Timestamp::from_unix_millis(start.as_unix_millis() + u64::from(client));
        let creation = creation_of(&limiter, client, client);
        assert!(matches!(
            limiter.admit_creation(&creation, at),
            Ok(Admission::New(_))
        ));
        // The client and the one number.
        assert!(limiter.records() <= 64, "{}", limiter.records());
    }
    // The latest clients are remembered: one still at its limit is refused.
    let at = Timestamp::from_unix_millis(start.as_unix_millis() + 5_000);
    let latest = 4_999;
    for order in 1..20 {
        let creation = creation_of(&limiter, latest, 100_000 + order);
        assert!(matches!(
            limiter.admit_creation(&creation, at),
            Ok(Admission::New(_))
        ));
    }
    let refused = limiter.admit_creation(&creation_of(&limiter, latest, 200_000), at);
    assert!(
        matches!(refused, Err(TooMany::Payments { .. })),
        "{refused:?}"
    );
    // Idle records are swept first: once every window is past, new clients take the places
    // of idle ones, and no live one is forgotten.
    let later = at.saturating_add(Duration::from_secs(3600));
    for client in 0..32 {
        let creation = creation_of(&limiter, 50_000 + client, client);
        assert!(limiter.admit_creation(&creation, later).is_ok());
    }
    assert!(limiter.records() <= 64);
    let first = creation_of(&limiter, 50_000, 0);
    assert!(matches!(
        limiter.admit_creation(&first, later),
        Ok(Admission::Retry)
    ));
}

#[test]
fn a_pin_sender_counts_under_its_address_and_its_session() {
    let limits = Limits {
        wrong_pins_per_client: 3,
        wrong_pins_per_session: 1,
        ..Limits::default()
    };
    let limiter = Limiter::new(limits, Duration::from_secs(900));
    let now = buyster::SystemClock.now();
    let phone: PhoneNumber = PHONE.parse().unwrap();
    let address = ClientAddress::of(ip("192.0.2.1"));
    let session = |token: &str| PinSender {
        address,
        session: Some(limiter.session(token)),
    };
    let _ = limiter.admit_pin(session("a"), &phone, now).unwrap();
    assert!(matches!(
        limiter.admit_pin(session("a"), &phone, now),
        Err(TooMany::PinAttempts { .. })
    ));
    // A refused attempt counted nowhere: the address has two left.
    let _ = limiter.admit_pin(session("b"), &phone, now).unwrap();
    let ticket = limiter.admit_pin(session("c"), &phone, now).unwrap();
    assert!(matches!(
        limiter.admit_pin(session("d"), &phone, now),
        Err(TooMany::PinAttempts { .. })
    ));
    // Given back (a right PIN): room again for the address, not for session "c" alone.
    limiter.pin_not_wrong(session("c"), ticket);
    let _ = limiter.admit_pin(session("d"), &phone, now).unwrap();
}

#[test]
fn the_limits_are_set_by_flags_and_environment_variables() {
    let env = |name: &str| match name {
        "CHECKOUT_PAYMENTS_PER_CLIENT" => Some("7".to_owned()),
        "CHECKOUT_PIN_WINDOW" => Some("120".to_owned()),
        "CHECKOUT_TRUSTED_PROXIES" => Some("10.0.0.0/8, ::1".to_owned()),
        _ => None,
    };
    let args = [
        "--payments-per-client",
        "9",
        "--payments-per-number",
        "4",
        "--payment-window",
        "60",
        "--open-payments-per-client",
        "3",
        "--wrong-pins-per-client",
        "8",
        "--wrong-pin-numbers-per-client",
        "2",
        "--wrong-pins-per-session",
        "6",
        "--wrong-pin-numbers-per-session",
        "1",
        "--limiter-records",
        "500",
    ]
    .map(str::to_owned);
    let Ok(Command::Run(config)) = Config::from_args(args, env) else {
        panic!("refused");
    };
    let expected = Limits {
        payments_per_client: 9,
        payments_per_number: 4,
        payment_window: Duration::from_secs(60),
        open_payments_per_client: 3,
        wrong_pins_per_client: 8,
        wrong_pin_numbers_per_client: 2,
        wrong_pins_per_session: 6,
        wrong_pin_numbers_per_session: 1,
        pin_window: Duration::from_secs(120),
        records: 500,
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
    };
    assert_eq!(config.limits, expected);
    assert_eq!(Config::new("checkout.db".into()).limits, Limits::default());

    let refused = |args: &[&str]| {
        let owned: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        match Config::from_args(owned, |_| None) {
            Err(message) => message,
            Ok(_) => panic!("taken: {args:?}"),
        }
    };
    for (args, says) in [
        (&["--payments-per-client", "0"][..], "--payments-per-client"),
        (
            &["--payments-per-client", "-1"][..],
            "--payments-per-client",
        ),
        (&["--pin-window", "0"][..], "--pin-window"),
        (&["--pin-window", "999999999"][..], "--pin-window"),
        (
            &["--trusted-proxies", "10.0.0.0/40"][..],
            "--trusted-proxies",
        ),
        (&["--wrong-pins-per-client"][..], "needs a value"),
    ] {
        let message = refused(args);
        assert!(message.contains(says), "{args:?}: {message}");
    }
    let bad_env =
        |name: &str| (name == "CHECKOUT_OPEN_PAYMENTS_PER_CLIENT").then(|| "x".to_owned());
    let Err(message) = Config::from_args(Vec::<String>::new(), bad_env) else {
        panic!("taken");
    };
    assert!(
        message.contains("CHECKOUT_OPEN_PAYMENTS_PER_CLIENT"),
        "{message}"
    );
    assert!(super::server::config::USAGE.contains("--wrong-pin-numbers-per-client N"));
    assert!(super::server::config::USAGE.contains("CHECKOUT_TRUSTED_PROXIES"));
}
