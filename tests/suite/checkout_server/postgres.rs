//! The checkout server on PostgreSQL (`--postgres`): three server processes on one database
//! share the engine's store, the bank's ledger, the index and the SMS outbox, and the engine's
//! compare-and-swap holds across them. A throwaway server from `buyster-test-postgres`.

use std::net::SocketAddr;

use buyster::Policy;
use buyster_test_postgres::TestPostgres;
use hyper::Method;
use serde_json::{Value, json};

use super::kill::{Backend, Http, Process, free_addr, kill_test};
use super::receiver::{Plan, Receiver};
use super::server::seed;
use super::support::{PIN, WRONG_PIN};

/// Three servers on a fresh database, started one after the other (the first creates the
/// tables and seeds the buyers); a client for each.
async fn three_servers(dir: &std::path::Path) -> (String, Vec<Process>, Vec<Http>) {
    let url = TestPostgres::shared().fresh_database().await;
    let receiver = Receiver::start(Plan::default()).await;
    let backend = Backend::Postgres(url.clone());
    let addrs: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect();
    let mut processes = Vec::new();
    for addr in &addrs {
        processes.push(Process::start(dir, *addr, &receiver.url, &backend).await);
    }
    let clients = addrs.iter().map(|addr| Http::new(&[*addr])).collect();
    (url, processes, clients)
}

async fn database(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn create(http: &Http, phone: &str, reference: &str) -> String {
    let order = json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": 4990,
        "currency": "EUR",
        "reference": reference,
        "phone": phone,
    });
    let (status, created, text) = http.post("/api/payments", order).await;
    assert_eq!(status, 201, "{text}");
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_right_codes_over_three_servers_debit_once() {
    let temp = tempfile::tempdir().unwrap();
    let (url, processes, servers) = three_servers(temp.path()).await;
    // Started on one server, its PIN on another, its code read on the third's outbox page.
    let id = create(&servers[0], seed::BUYER_PHONE, "CMD-PG-1").await;
    let (status, _, text) = servers[1]
        .post(&format!("/api/payments/{id}/pin"), json!({ "pin": PIN }))
        .await;
    assert_eq!(status, 200, "{text}");
    let code = servers[2]
        .code(&id)
        .await
        .expect("the SMS on the third server");
    // The same order asked of another server: the same payment.
    assert_eq!(create(&servers[2], seed::BUYER_PHONE, "CMD-PG-1").await, id);

    let servers = std::sync::Arc::new(servers);
    let answers: Vec<_> = (0..50)
        .map(|n| {
            let (servers, id, code) = (std::sync::Arc::clone(&servers), id.clone(), code.clone());
            tokio::spawn(async move {
                let path = format!("/api/payments/{id}/code");
                let (status, body, _) = servers[n % 3].post(&path, json!({ "code": code })).await;
                (status, body)
            })
        })
        .collect();
    let mut confirmed = 0;
    for answer in answers {
        let (status, body): (u16, Value) = answer.await.unwrap();
        match status {
            200 => confirmed += 1,
            409 => assert_eq!(body["error"], "wrong_state", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(confirmed, 1);
    let ledger = database(&url)
        .await
        .query(
            "SELECT l.outcome, c.calls FROM bank_ledger l JOIN bank_calls c USING (idempotency_key)",
            &[],
        )
        .await
        .unwrap();
    let rows: Vec<(String, i64)> = ledger.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(rows, [("debited".to_owned(), 1)]);
    let (_, shown, _) = servers[0]
        .call(Method::GET, &format!("/api/payments/{id}"), None)
        .await;
    assert_eq!(shown["state"], "confirmed");
    for process in processes {
        process.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_pins_over_three_servers_lock_after_the_limit() {
    let temp = tempfile::tempdir().unwrap();
    let (_url, processes, servers) = three_servers(temp.path()).await;
    let phone = seed::extra_buyer(0);
    let mut ids = Vec::new();
    for n in 0..8 {
        ids.push(create(&servers[n % 3], &phone, &format!("CMD-PG-PIN-{n}")).await);
    }
    let servers = std::sync::Arc::new(servers);
    let answers: Vec<_> = (0..24)
        .map(|n| {
            let (servers, id) = (std::sync::Arc::clone(&servers), ids[n % ids.len()].clone());
            tokio::spawn(async move {
                let path = format!("/api/payments/{id}/pin");
                servers[n % 3]
                    .post(&path, json!({ "pin": WRONG_PIN }))
                    .await
            })
        })
        .collect();
    let (mut wrong, mut locked) = (0, 0);
    for answer in answers {
        let (status, body, text) = answer.await.unwrap();
        match (status, body["error"].as_str()) {
            (422, Some("wrong_pin")) => wrong += 1,
            (423, Some("locked")) => locked += 1,
            _ => panic!("{text}"),
        }
    }
    let limit = Policy::default().max_pin_failures;
    assert!(wrong <= usize::from(limit), "{wrong} wrong-PIN answers");
    assert!(wrong >= 1 && wrong + locked == 24, "{wrong} + {locked}");
    // The right PIN is refused too now: the lock is the number's, on every server.
    for server in servers.iter() {
        let (status, body, _) = server
            .post(
                &format!("/api/payments/{}/pin", ids[0]),
                json!({ "pin": PIN }),
            )
            .await;
        assert_eq!((status, body["error"].as_str()), (423, Some("locked")));
    }
    let Ok(servers) = std::sync::Arc::try_unwrap(servers) else {
        panic!("a task still holds the clients");
    };
    drop(servers);
    for process in processes {
        process.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_killed_30_times_under_load_debit_once_and_deliver_every_event() {
    let url = TestPostgres::shared().fresh_database().await;
    kill_test(Backend::Postgres(url)).await;
}
