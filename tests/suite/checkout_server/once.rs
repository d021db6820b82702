//! One order, one payment: `POST /api/payments` under the order's reference or an
//! `Idempotency-Key` header gives the same payment back, however often it is sent.

use std::sync::Arc;

use serde_json::{Value, json};

use super::server::seed;
use super::support::{PHONE, PIN, TestServer};

fn order(reference: &str, amount_minor: u64) -> Value {
    json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": amount_minor,
        "currency": "EUR",
        "reference": reference,
        "phone": PHONE,
    })
}

/// The payment records in the server's store.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_posted_twice_is_one_payment() {
    let server = TestServer::start().await;
    // Under the order's reference.
    let first = server
        .post("/api/payments", order("CMD-ONCE-1", 4990))
        .await;
    first.expect(201, None).state("initiated");
    let id = first.field("id").to_owned();
    let again = server
        .post("/api/payments", order("CMD-ONCE-1", 4990))
        .await;
    again.expect(201, None).state("initiated");
    assert_eq!(again.field("id"), id);

    // Further along, the same request answers the payment as it now stands.
    server
        .post(&format!("/api/payments/{id}/pin"), json!({ "pin": PIN }))
        .await
        .expect(200, None)
        .state("otp_sent");
    let later = server
        .post("/api/payments", order("CMD-ONCE-1", 4990))
        .await;
    later.expect(201, None).state("otp_sent");
    assert_eq!(later.field("id"), id);
    server.code_for(&id).await;

    // Under an Idempotency-Key: the key decides, not the reference.
    let keyed = server
        .post_keyed("/api/payments", &order("CMD-ONCE-2", 4990), "retry-7f3a")
        .await;
    keyed.expect(201, None).state("initiated");
    let keyed_id = keyed.field("id").to_owned();
    assert_ne!(keyed_id, id);
    let replayed = server
        .post_keyed("/api/payments", &order("CMD-ONCE-2", 4990), "retry-7f3a")
        .await;
    assert_eq!(replayed.field("id"), keyed_id);
    // The same order under another key is another payment: the merchant's new attempt.
    let second_try = server
        .post_keyed("/api/payments", &order("CMD-ONCE-2", 4990), "retry-7f3b")
        .await;
    second_try.expect(201, None).state("initiated");
    assert_ne!(second_try.field("id"), keyed_id);
    assert_eq!(payments_stored(&server), 3);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_order_under_a_used_key_is_409() {
    let server = TestServer::start().await;
    let first = server
        .post("/api/payments", order("CMD-ONCE-3", 4990))
        .await;
    first.expect(201, None);
    let id = first.field("id").to_owned();
    let other_amount = server
        .post("/api/payments", order("CMD-ONCE-3", 5990))
        .await;
    other_amount.expect(409, Some("idempotency_key_reused"));
    assert!(
        other_amount.field("message").contains("under a new key"),
        "{}",
        other_amount.text
    );
    // The refusal names no payment, and the first is left as it was.
    assert!(
        other_amount.json.get("id").is_none(),
        "{}",
        other_amount.text
    );
    let mut other_number = order("CMD-ONCE-3", 4990);
    other_number["phone"] = json!("+33611223344");
    server
        .post("/api/payments", other_number)
        .await
        .expect(409, Some("idempotency_key_reused"));
    let keyed = server
        .post_keyed("/api/payments", &order("CMD-ONCE-4", 4990), "key-1")
        .await;
    keyed.expect(201, None);
    server
        .post_keyed("/api/payments", &order("CMD-ONCE-4", 4991), "key-1")
        .await
        .expect(409, Some("idempotency_key_reused"));
    let shown = server.get(&format!("/api/payments/{id}")).await;
    shown.expect(200, None).state("initiated");
    assert_eq!(shown.json["amount_minor"], 4990);
    assert_eq!(payments_stored(&server), 2);

    // A key that is not one: 400, nothing stored.
    for bad in ["", "clé-1", &"k".repeat(256)] {
        server
            .post_keyed("/api/payments", &order("CMD-ONCE-5", 4990), bad)
            .await
            .expect(400, Some("invalid_idempotency_key"));
    }
    assert_eq!(payments_stored(&server), 2);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_identical_requests_make_one_payment() {
    let server = Arc::new(TestServer::start().await);
    for (reference, key) in [("CMD-RACE-1", None), ("CMD-RACE-2", Some("race-key"))] {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let server = Arc::clone(&server);
                tokio::spawn(async move {
                    let body = order(reference, 4990);
                    let answer = match key {
                        Some(key) => server.post_keyed("/api/payments", &body, key).await,
                        None => server.post("/api/payments", body).await,
                    };
                    answer.expect(201, None).state("initiated");
                    answer.field("id").to_owned()
                })
            })
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            ids.insert(task.await.unwrap());
        }
        assert_eq!(ids.len(), 1, "{ids:?}");
    }
    assert_eq!(payments_stored(&server), 2);
    let Ok(server) = Arc::try_unwrap(server) else {
        panic!("a task still holds the server");
    };
    server.finish().await;
}
