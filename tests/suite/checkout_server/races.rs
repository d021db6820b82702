//! Fifty requests at once on one payment or one number, through the JSON API on SQLite: each
//! race ends one way, with the ledger to match.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::server::seed;
use super::support::{PHONE, PIN, TestServer, WRONG_PIN};

const RACERS: usize = 50;

/// Runs `RACERS` requests at once, `request(n)` each, and counts the answers by status and
/// `error` code.
async fn race<F, Fut>(server: &Arc<TestServer>, request: F) -> BTreeMap<(u16, String), usize>
where
    F: Fn(Arc<TestServer>, usize) -> Fut,
    Fut: std::future::Future<Output = super::support::Answer> + Send + 'static,
{
    let tasks: Vec<_> = (0..RACERS)
        .map(|n| tokio::spawn(request(Arc::clone(server), n)))
        .collect();
    let mut counts = BTreeMap::new();
    for task in tasks {
        let answer = task.await.unwrap();
        let code = answer.json["error"].as_str().unwrap_or("").to_owned();
        *counts.entry((answer.status.as_u16(), code)).or_insert(0) += 1;
    }
    counts
}

fn count(counts: &BTreeMap<(u16, String), usize>, status: u16, code: &str) -> usize {
    counts.get(&(status, code.to_owned())).copied().unwrap_or(0)
}

async fn finish(server: Arc<TestServer>) {
    let Ok(server) = Arc::try_unwrap(server) else {
        panic!("a task still holds the server");
    };
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_right_codes_confirm_once_and_debit_once() {
    let server = Arc::new(TestServer::start().await);
    let (id, code) = server.sent(4990).await;
    let path = format!("/api/payments/{id}/code");
    let counts = race(&server, |server, _| {
        let (path, code) = (path.clone(), code.clone());
        async move { server.post(&path, json!({ "code": code })).await }
    })
    .await;
    assert_eq!(count(&counts, 200, ""), 1, "{counts:?}");
    assert_eq!(count(&counts, 409, "wrong_state"), RACERS - 1, "{counts:?}");
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 1)]);
    finish(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_wrong_pins_for_one_number_stop_at_the_lock() {
    // Every racer is the one test client: its abuse limits would stop all but 10 before the
    // engine (abuse.rs); raised here, so that all fifty race for the number's guard.
    let server = TestServer::start_with(|config| {
        config.limits.wrong_pins_per_client = 1000;
        config.limits.payments_per_number = 1000;
    });
    let server = Arc::new(server.await);
    let phone = seed::extra_buyer(7);
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(server.create(4990, &phone).await);
    }
    let ids = Arc::new(ids);
    let counts = race(&server, |server, n| {
        let ids = Arc::clone(&ids);
        async move {
            let path = format!("/api/payments/{}/pin", ids[n % ids.len()]);
            server.post(&path, json!({ "pin": WRONG_PIN })).await
        }
    })
    .await;
    let max = usize::from(server.server.app().policy().max_pin_failures);
    // Each wrong PIN counted once: the last one allowed locks the number and says so.
    assert_eq!(count(&counts, 422, "wrong_pin"), max - 1, "{counts:?}");
    assert_eq!(
        count(&counts, 423, "locked"),
        RACERS - (max - 1),
        "{counts:?}"
    );
    // The right PIN is locked out too, and no SMS went anywhere.
    server
        .post(
            &format!("/api/payments/{}/pin", ids[0]),
            json!({ "pin": PIN }),
        )
        .await
        .expect(423, Some("locked"))
        .state("initiated");
    assert!(server.server.app().sms.messages().await.unwrap().is_empty());
    finish(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_identical_orders_make_one_payment() {
    let server = Arc::new(TestServer::start().await);
    let order = json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": 4990,
        "currency": "EUR",
        "reference": "CMD-FIFTY",
        "phone": PHONE,
    });
    let ids = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let counts = race(&server, |server, _| {
        let (order, ids) = (order.clone(), Arc::clone(&ids));
        async move {
            let answer = server.post("/api/payments", order).await;
            ids.lock().unwrap().insert(answer.field("id").to_owned());
            answer
        }
    })
    .await;
    assert_eq!(count(&counts, 201, ""), RACERS, "{counts:?}");
    assert_eq!(ids.lock().unwrap().len(), 1);
    finish(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_racing_right_codes_end_one_way() {
    for round in 0..4 {
        let server = Arc::new(TestServer::start().await);
        let (id, code) = server.sent(4990).await;
        let counts = race(&server, |server, n| {
            let (id, code) = (id.clone(), code.clone());
            async move {
                if (n + round) % 2 == 0 {
                    let path = format!("/api/payments/{id}/code");
                    server.post(&path, json!({ "code": code })).await
                } else {
                    let path = format!("/api/payments/{id}/cancel");
                    server.post(&path, Value::Null).await
                }
            }
        })
        .await;
        let shown = server.get(&format!("/api/payments/{id}")).await;
        let ledger = server.ledger(&id).await;
        match shown.field("state") {
            "confirmed" => {
                assert_eq!(ledger, [("debited".to_owned(), 1)]);
                // One code won; every cancel after it found the payment paid.
                assert_eq!(count(&counts, 409, "wrong_state"), RACERS - 1, "{counts:?}");
            }
            "failed" => {
                assert!(ledger.is_empty(), "{ledger:?}");
                assert_eq!(count(&counts, 200, ""), RACERS / 2, "cancels: {counts:?}");
            }
            other => panic!("{other}: {counts:?}"),
        }
        finish(server).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_resends_send_within_the_caps() {
    let server = Arc::new(TestServer::start().await);
    let (id, _) = server.sent(4990).await;
    server.advance(std::time::Duration::from_secs(31));
    let path = format!("/api/payments/{id}/resend");
    let counts = race(&server, |server, _| {
        let path = path.clone();
        async move { server.post(&path, Value::Null).await }
    })
    .await;
    // One resend passes the cooldown; the others find it just spent.
    assert_eq!(count(&counts, 200, ""), 1, "{counts:?}");
    assert_eq!(
        count(&counts, 429, "resend_too_soon") + count(&counts, 409, "conflict"),
        RACERS - 1,
        "{counts:?}"
    );
    let sms = server.server.app().sms.messages().await.unwrap();
    assert_eq!(
        sms.iter().filter(|m| m.payment.to_string() == id).count(),
        2
    );
    finish(server).await;
}
