//! The JSON API over HTTP: the whole flow, and every way a request is refused.

use std::time::Duration;

use serde_json::json;

use super::server::bank::{DECLINED_AMOUNT, LOST_ANSWER_AMOUNT, OUTAGE_AMOUNT};
use super::server::seed;
use super::support::{PHONE, PIN, TestServer, WRONG_PIN, other_code};

const MINUTE: Duration = Duration::from_secs(60);

fn pin(id: &str) -> String {
    format!("/api/payments/{id}/pin")
}

fn code(id: &str) -> String {
    format!("/api/payments/{id}/code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_goes_through_the_json_api_once() {
    let server = TestServer::start().await;
    let id = server.create(4990, "06 12 34 56 78").await;
    let shown = server.get(&format!("/api/payments/{id}")).await;
    shown.expect(200, None).state("initiated");
    assert_eq!(shown.field("phone"), "+33 6 •• •• •• 78");
    assert_eq!(shown.json["amount_minor"], 4990);
    assert_eq!(shown.field("amount"), "49,90 €");

    let sent = server.post(&pin(&id), json!({ "pin": PIN })).await;
    sent.expect(200, None).state("otp_sent");
    assert_eq!(sent.json["attempts_left"], 3);
    assert_eq!(sent.json["resends_left"], 3);
    let code_sent = server.code_for(&id).await;

    let paid = server.post(&code(&id), json!({ "code": code_sent })).await;
    paid.expect(200, None).state("confirmed");
    assert!(paid.field("id") == id);
    let bank_reference = paid.json["receipt"]["bank_reference"].as_str().unwrap();
    assert!(bank_reference.starts_with("DEMO-"), "{}", paid.text);
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 1)]);

    // Replays after success: refused with the state, and no second debit.
    for (path, body) in [
        (code(&id), json!({ "code": code_sent })),
        (pin(&id), json!({ "pin": PIN })),
        (format!("/api/payments/{id}/resend"), json!({})),
        (format!("/api/payments/{id}/cancel"), json!({})),
    ] {
        server
            .post(&path, body)
            .await
            .expect(409, Some("wrong_state"))
            .state("confirmed");
    }
    let shown = server.get(&format!("/api/payments/{id}")).await;
    shown.expect(200, None).state("confirmed");
    assert_eq!(shown.json["receipt"]["bank_reference"], bank_reference);
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 1)]);
    let ledger = server.get("/dev/ledger").await;
    assert_eq!(
        ledger
            .text
            .matches(&format!("data-payment=\"{id}\""))
            .count(),
        1
    );
    assert!(ledger.text.contains(&format!("debited {bank_reference}")));
    assert!(ledger.text.contains("FR76 •••• 189"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payments_are_400() {
    let server = TestServer::start().await;
    let good = json!({
        "merchant": seed::MERCHANT_ID, "amount_minor": 4990, "currency": "EUR",
        "reference": "CMD-1", "phone": PHONE,
    });
    let cases = [
        ("phone", json!("12"), "invalid_phone"),
        (
            "phone",
            json!("+33 6 12 34 56 78 90 12 34"),
            "invalid_phone",
        ),
        ("phone", json!("06-12-ab-56-78"), "invalid_phone"),
        ("phone", json!(""), "invalid_phone"),
        ("phone", json!(612345678), "invalid_phone"),
        ("amount_minor", json!(0), "invalid_amount"),
        ("amount_minor", json!(-4990), "invalid_amount"),
        ("amount_minor", json!(49.9), "invalid_amount"),
        ("amount_minor", json!(4990.0), "invalid_amount"),
        ("amount_minor", json!("4990"), "invalid_amount"),
        ("amount_minor", json!(1e30), "invalid_amount"),
        ("amount_minor", json!(u64::MAX), "invalid_amount"),
        ("currency", json!("XYZ"), "invalid_currency"),
        ("currency", json!(978), "invalid_currency"),
        // A currency the engine's policy does not take: refused at creation.
        ("currency", json!("GBP"), "invalid_currency"),
        ("currency", json!("USD"), "invalid_currency"),
        ("reference", json!(""), "invalid_reference"),
        ("reference", json!("x".repeat(65)), "invalid_reference"),
        ("reference", json!("a\u{7}b"), "invalid_reference"),
        ("merchant", json!("no such shop"), "invalid_merchant"),
        ("channel", json!("fax"), "invalid_channel"),
    ];
    for (field, value, error) in cases {
        let mut body = good.clone();
        body[field] = value;
        let answer = server.post("/api/payments", body).await;
        answer.expect(400, Some(error));
        assert!(answer.json.get("state").is_none(), "{}", answer.text);
    }
    for field in ["merchant", "amount_minor", "currency", "reference", "phone"] {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        let answer = server.post("/api/payments", body).await;
        assert_eq!(answer.status, 400, "{field}: {}", answer.text);
    }
    let mut body = good.clone();
    body["merchant"] = json!("another-shop");
    server
        .post("/api/payments", body)
        .await
        .expect(400, Some("unknown_merchant"));
    for raw in ["{", "[]", "\"text\"", "null", ""] {
        server
            .post_raw("/api/payments", Some("application/json"), raw, None)
            .await
            .expect(400, Some("malformed_request"));
    }
    let form = "merchant=boutique-demo&amount_minor=4990";
    for content_type in [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
    ] {
        server
            .post_raw("/api/payments", content_type, form, None)
            .await
            .expect(415, Some("unsupported_media_type"));
    }
    let huge = format!("{{\"reference\": \"{}\"}}", "x".repeat(20_000));
    server
        .post_raw("/api/payments", Some("application/json"), &huge, None)
        .await
        .expect(413, Some("body_too_large"));
    // The good body still goes through, with another channel.
    let mut body = good.clone();
    body["channel"] = json!("tv");
    let created = server.post("/api/payments", body).await;
    created.expect(201, None).state("initiated");
    assert_eq!(created.field("channel"), "tv");
    let location = created.headers["location"].to_str().unwrap();
    assert_eq!(location, format!("/api/payments/{}", created.field("id")));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_pins_and_codes_are_400_and_count_nothing() {
    let server = TestServer::start().await;
    let id = server.create(4990, PHONE).await;
    for bad in [
        json!(""),
        json!("12345"),
        json!("1234567"),
        json!("12a456"),
        json!(246813),
        json!(null),
    ] {
        server
            .post(&pin(&id), json!({ "pin": bad }))
            .await
            .expect(400, Some("invalid_pin"));
    }
    server
        .post(&pin(&id), json!({}))
        .await
        .expect(400, Some("invalid_pin"));
    // None of them counted: the first wrong PIN leaves two more.
    let wrong = server.post(&pin(&id), json!({ "pin": WRONG_PIN })).await;
    wrong.expect(422, Some("wrong_pin")).state("initiated");
    assert_eq!(wrong.json["attempts_left"], 2);
    server
        .post(&pin(&id), json!({ "pin": PIN }))
        .await
        .expect(200, None);

    for bad in [
        json!(""),
        json!("12345"),
        json!("1234567"),
        json!("12 45x6"),
        json!(123456),
    ] {
        server
            .post(&code(&id), json!({ "code": bad }))
            .await
            .expect(400, Some("invalid_code"));
    }
    let shown = server.get(&format!("/api/payments/{id}")).await;
    shown.state("otp_sent");
    assert_eq!(shown.json["attempts_left"], 3);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404() {
    let server = TestServer::start().await;
    let unknown = "0123456789abcdef0123456789abcdef";
    for id in [
        unknown,
        "nope",
        "0123456789ABCDEF0123456789ABCDEF",
        "%00",
        "..%2F..%2Fetc",
    ] {
        server
            .get(&format!("/api/payments/{id}"))
            .await
            .expect(404, Some("unknown_payment"));
        for (step, body) in [
            ("pin", json!({ "pin": PIN })),
            ("code", json!({ "code": "123456" })),
            ("resend", json!({})),
            ("cancel", json!({})),
        ] {
            server
                .post(&format!("/api/payments/{id}/{step}"), body)
                .await
                .expect(404, Some("unknown_payment"));
        }
    }
    server
        .get("/api/refunds")
        .await
        .expect(404, Some("not_found"));
    server
        .send(
            hyper::Method::DELETE,
            &format!("/api/payments/{unknown}"),
            None,
            "",
            None,
        )
        .await
        .expect(405, Some("method_not_allowed"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_above_the_per_payment_limit_is_402_at_creation() {
    let server = TestServer::start().await;
    let order = json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": 100_001,
        "currency": "EUR",
        "reference": "CMD-LIMIT-1",
        "phone": PHONE,
    });
    let refused = server.post("/api/payments", order.clone()).await;
    refused.expect(402, Some("limit_exceeded"));
    assert_eq!(refused.field("limit"), "per_payment");
    assert!(refused.json["frees_at"].is_null(), "{}", refused.text);
    assert!(
        refused.json.get("id").is_none(),
        "nothing made: {}",
        refused.text
    );
    assert!(
        !refused.headers.contains_key("retry-after"),
        "it never fits"
    );
    // Nothing was stored under the order: the same reference within the limit makes its
    // payment, and it goes through to its code.
    let id = server.create_for(100_000, PHONE, "CMD-LIMIT-1").await;
    server
        .post(&pin(&id), json!({ "pin": PIN }))
        .await
        .expect(200, None)
        .state("otp_sent");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_over_the_24_hour_limit_is_402_at_the_right_pin() {
    let server = TestServer::start().await;
    let (id, code) = server.sent(100_000).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(200, None)
        .state("confirmed");
    let id = server.create(50_001, PHONE).await;
    let refused = server.post(&pin(&id), json!({ "pin": PIN })).await;
    refused
        .expect(402, Some("limit_exceeded"))
        .state("initiated");
    assert_eq!(refused.field("limit"), "per_24_hours");
    assert!(refused.json["frees_at"].is_string(), "{}", refused.text);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(server.server.app().sms.messages().await.unwrap().len(), 1);
    // What is left of the limit goes on: the refusal counted no wrong PIN.
    server.sent(50_000).await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pins_lock_the_number_alike_for_unknown_numbers() {
    let server = TestServer::start().await;
    for phone in [PHONE, "+33 7 81 00 00 01"] {
        let id = server.create(4990, phone).await;
        for left in [2, 1] {
            let answer = server.post(&pin(&id), json!({ "pin": WRONG_PIN })).await;
            answer.expect(422, Some("wrong_pin")).state("initiated");
            assert_eq!(answer.json["attempts_left"], left);
        }
        let locked = server.post(&pin(&id), json!({ "pin": WRONG_PIN })).await;
        locked.expect(423, Some("locked")).state("initiated");
        assert!(locked.json["locked_until"].is_string(), "{}", locked.text);
        assert!(locked.headers.contains_key("retry-after"));
        // Locked, even the right PIN is not looked at.
        server
            .post(&pin(&id), json!({ "pin": PIN }))
            .await
            .expect(423, Some("locked"));
    }
    // The lock lifts after 15 minutes; a new payment (the first has expired by then) passes.
    server.advance(16 * MINUTE);
    let id = server.create(4990, PHONE).await;
    server
        .post(&pin(&id), json!({ "pin": PIN }))
        .await
        .expect(200, None)
        .state("otp_sent");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_fail_the_payment() {
    let server = TestServer::start().await;
    let (id, sent) = server.sent(4990).await;
    for left in [2, 1] {
        let answer = server
            .post(&code(&id), json!({ "code": other_code(&sent) }))
            .await;
        answer.expect(422, Some("wrong_code")).state("otp_sent");
        assert_eq!(answer.json["attempts_left"], left);
    }
    let last = server
        .post(&code(&id), json!({ "code": other_code(&sent) }))
        .await;
    last.expect(422, Some("too_many_attempts")).state("failed");
    assert_eq!(last.json["attempts_left"], 0);
    server
        .post(&code(&id), json!({ "code": sent }))
        .await
        .expect(409, Some("wrong_state"))
        .state("failed");
    let shown = server.get(&format!("/api/payments/{id}")).await;
    assert_eq!(shown.field("failure"), "too_many_attempts");
    assert!(server.ledger(&id).await.is_empty());
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_and_sms_are_limited() {
    let server = TestServer::start().await;
    let (id, _) = server.sent(4990).await;
    let resend = format!("/api/payments/{id}/resend");
    let early = server.post(&resend, json!({})).await;
    early.expect(429, Some("resend_too_soon")).state("otp_sent");
    assert!(early.json["retry_at"].is_string());
    assert_eq!(early.headers["retry-after"], "30");
    for left in [2, 1, 0] {
        server.advance(Duration::from_secs(31));
        let answer = server.post(&resend, json!({})).await;
        answer.expect(200, None).state("otp_sent");
        assert_eq!(answer.json["resends_left"], left);
    }
    server.advance(Duration::from_secs(31));
    server
        .post(&resend, json!({}))
        .await
        .expect(409, Some("resend_limit"))
        .state("otp_sent");

    // Four SMS so far to this number; the fifth passes, the sixth waits for the window.
    server.sent(4990).await;
    let id = server.create(4990, PHONE).await;
    let limited = server.post(&pin(&id), json!({ "pin": PIN })).await;
    limited
        .expect(429, Some("rate_limited"))
        .state("pin_verified");
    assert!(limited.headers.contains_key("retry-after"));
    server.advance(10 * MINUTE);
    let answer = server
        .post(&format!("/api/payments/{id}/resend"), json!({}))
        .await;
    answer.expect(200, None).state("otp_sent");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sms_is_503_and_can_be_sent_again() {
    let server = TestServer::start().await;
    let id = server.create(4990, PHONE).await;
    server.server.app().sms.fail_next(1);
    server
        .post(&pin(&id), json!({ "pin": PIN }))
        .await
        .expect(503, Some("sms_unavailable"))
        .state("pin_verified");
    server
        .post(&format!("/api/payments/{id}/resend"), json!({}))
        .await
        .expect(200, None)
        .state("otp_sent");
    server.code_for(&id).await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_debit_is_402() {
    let server = TestServer::start().await;
    let (id, sent) = server.sent(DECLINED_AMOUNT).await;
    let declined = server.post(&code(&id), json!({ "code": sent })).await;
    declined.expect(402, Some("declined")).state("failed");
    assert_eq!(declined.field("decline_reason"), "insufficient_funds");
    let shown = server.get(&format!("/api/payments/{id}")).await;
    assert_eq!(shown.field("failure"), "declined");
    assert_eq!(server.ledger(&id).await, [("declined".to_owned(), 1)]);
    server
        .post(&code(&id), json!({ "code": sent }))
        .await
        .expect(409, Some("wrong_state"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_outage_is_503_then_the_recovery_task_settles_once() {
    let server = TestServer::start_with(|config| {
        config.recovery_every = Duration::from_millis(100);
    })
    .await;
    let mut ids = Vec::new();
    for amount in [OUTAGE_AMOUNT, LOST_ANSWER_AMOUNT] {
        let (id, sent) = server.sent(amount).await;
        let outage = server.post(&code(&id), json!({ "code": sent })).await;
        outage
            .expect(503, Some("bank_unavailable"))
            .state("authorized");
        assert!(outage.headers.contains_key("retry-after"));
        // The code is consumed: a retry by the buyer cannot pay twice.
        server
            .post(&code(&id), json!({ "code": sent }))
            .await
            .expect(409, Some("wrong_state"))
            .state("authorized");
        ids.push(id);
    }
    // The task takes up unpaid payments older than a minute.
    server.advance(MINUTE + Duration::from_secs(1));
    for id in &ids {
        let mut state = String::new();
        for _ in 0..100 {
            let shown = server.get(&format!("/api/payments/{id}")).await;
            state = shown.field("state").to_owned();
            if state == "confirmed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(state, "confirmed");
        assert_eq!(server.ledger(id).await, [("debited".to_owned(), 2)]);
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_codes_and_payments_are_410() {
    let server = TestServer::start().await;
    let (id, sent) = server.sent(4990).await;
    server.advance(5 * MINUTE + Duration::from_secs(1));
    server
        .post(&code(&id), json!({ "code": sent }))
        .await
        .expect(410, Some("expired"))
        .state("otp_sent");
    server
        .post(&format!("/api/payments/{id}/resend"), json!({}))
        .await
        .expect(200, None);
    let fresh = server.code_for(&id).await;
    server.advance(10 * MINUTE);
    server
        .post(&code(&id), json!({ "code": fresh }))
        .await
        .expect(410, Some("expired"))
        .state("failed");
    assert_eq!(
        server
            .get(&format!("/api/payments/{id}"))
            .await
            .field("failure"),
        "expired"
    );

    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_task_fails_abandoned_payments() {
    let server = TestServer::start_with(|config| {
        config.recovery_every = Duration::from_millis(100);
    })
    .await;
    let abandoned = server.create(4990, PHONE).await;
    server.advance(16 * MINUTE);
    let mut failure = String::new();
    for _ in 0..100 {
        let shown = server.get(&format!("/api/payments/{abandoned}")).await;
        failure = shown.field("failure").to_owned();
        if !failure.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failure, "expired");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_an_open_payment_once() {
    let server = TestServer::start().await;
    let id = server.create(4990, PHONE).await;
    let cancel = format!("/api/payments/{id}/cancel");
    for _ in 0..2 {
        let cancelled = server.post(&cancel, json!({})).await;
        cancelled.expect(200, None).state("failed");
        assert_eq!(cancelled.field("failure"), "cancelled");
    }
    server
        .post(&pin(&id), json!({ "pin": PIN }))
        .await
        .expect(409, Some("wrong_state"))
        .state("failed");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_record_is_500_without_details() {
    let server = TestServer::start().await;
    let id = server.create(4990, PHONE).await;
    let db = rusqlite::Connection::open(server.dir.join("checkout.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let changed = db
        .execute(
            "UPDATE records SET value = CAST(value || x'00' AS BLOB) WHERE key = ?1",
            [format!("payment/{id}")],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let answer = server.get(&format!("/api/payments/{id}")).await;
    answer.expect(500, Some("internal"));
    assert_eq!(answer.field("message"), "internal error");
    server
        .post(&pin(&id), json!({ "pin": PIN }))
        .await
        .expect(500, Some("internal"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_reads_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestServer::start_in(dir.path(), |_| {}).await;
    let (id, sent) = first.sent(4990).await;
    first.finish().await;
    let key = dir.path().join("checkout.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = TestServer::start_in(dir.path(), |_| {}).await;
    second
        .post(&code(&id), json!({ "code": sent }))
        .await
        .expect(200, None)
        .state("confirmed");
    second.finish().await;
}

#[test]
fn flags_override_the_environment() {
    use super::server::{Command, Config};
    let env = |name: &str| match name {
        "CHECKOUT_ADDR" => Some("127.0.0.1:9000".to_owned()),
        "CHECKOUT_DB" => Some("/tmp/shop.db".to_owned()),
        _ => None,
    };
    let Ok(Command::Run(config)) = Config::from_args(Vec::new(), env) else {
        panic!("no config");
    };
    assert_eq!(config.addr.port(), 9000);
    assert_eq!(config.db, std::path::Path::new("/tmp/shop.db"));
    let args = ["--addr", "127.0.0.1:9001", "--no-dev-pages"].map(String::from);
    let Ok(Command::Run(config)) = Config::from_args(args, env) else {
        panic!("no config");
    };
    assert_eq!(config.addr.port(), 9001);
    assert!(!config.dev_pages);
    assert!(Config::from_args(["--port".to_owned()], env).is_err());
    assert!(Config::from_args(["--addr".to_owned()], env).is_err());
    let bad_key = |name: &str| (name == "BUYSTER_MASTER_KEY").then(|| "abc".to_owned());
    assert!(Config::from_args(Vec::new(), bad_key).is_err());
    assert!(matches!(
        Config::from_args(["-h".to_owned()], env),
        Ok(Command::Help)
    ));
    let args = ["--webhook-url", "http://127.0.0.1:9/hooks"].map(String::from);
    let Ok(Command::Run(config)) = Config::from_args(args, env) else {
        panic!("no config");
    };
    assert_eq!(
        config.webhook_url.as_deref(),
        Some("http://127.0.0.1:9/hooks")
    );
    assert_eq!(
        config.webhook_secret_file(),
        std::path::Path::new("/tmp/shop.webhook.key")
    );
    assert!(Config::from_args(["--webhook-url".to_owned()], env).is_err());
    let args = [
        "--postgres",
        "postgresql://shop@db/shop",
        "--demo-buyers",
        "40",
    ]
    .map(String::from);
    let Ok(Command::Run(config)) = Config::from_args(args, env) else {
        panic!("no config");
    };
    assert_eq!(
        config.postgres.as_deref(),
        Some("postgresql://shop@db/shop")
    );
    assert_eq!(config.demo_buyers, 40);
    let on_postgres = |name: &str| (name == "BUYSTER_POSTGRES_URL").then(|| "host=db".to_owned());
    let Ok(Command::Run(config)) = Config::from_args(Vec::new(), on_postgres) else {
        panic!("no config");
    };
    assert_eq!(config.postgres.as_deref(), Some("host=db"));
    assert!(Config::from_args(["--demo-buyers", "1001"].map(String::from), env).is_err());
    let weak_secret = |name: &str| (name == "CHECKOUT_WEBHOOK_SECRET").then(|| "short".to_owned());
    assert!(Config::from_args(Vec::new(), weak_secret).is_err());
}
