//! The server's SQLite files: the engine's store (`buyster_sqlite::SqliteStore`), the bank's
//! ledger and the merchant's index, each in a file of its own with one writer.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use buyster_sqlite::SqliteStore;
use serde_json::json;

use super::support::{PHONE, TestServer};

/// The tables of the SQLite file at `path`, SQLite's own left out.
fn tables(path: &Path) -> BTreeSet<String> {
    let file = rusqlite::Connection::open(path).unwrap();
    let mut statement = file
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_the_ledger_and_the_index_each_have_a_file() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let server = TestServer::start_in(dir, |_| {}).await;
    let (id, code) = server.sent(4990).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(200, None)
        .state("confirmed");
    server.finish().await;
    // The store's two tables, and the server's one-row table of the key's id.
    assert_eq!(
        tables(&dir.join("checkout.db")),
        set(&["checkout_key", "outbox", "records", "removed_floor"])
    );
    assert_eq!(
        tables(&dir.join("checkout.bank.db")),
        set(&["bank_calls", "bank_ledger", "bank_refunds"])
    );
    assert_eq!(
        tables(&dir.join("checkout.index.db")),
        set(&["counters", "merchants"])
    );
    let store = rusqlite::Connection::open(dir.join("checkout.db")).unwrap();
    let payment: u32 = store
        .query_row(
            "SELECT count(*) FROM records WHERE key = ?1",
            [format!("payment/{id}")],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(payment, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkouts_go_through_the_store_s_one_writer() {
    // 24 payments for one number from one client, all left open: limits that fit.
    let server = TestServer::start_with(|config| {
        config.limits.payments_per_client = 24;
        config.limits.payments_per_number = 24;
        config.limits.open_payments_per_client = 24;
    });
    let server = Arc::new(server.await);
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let server = Arc::clone(&server);
            tokio::spawn(async move { server.create(4990, PHONE).await })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 24);
    // Opening the server's file in the same process gives a handle on the server's store, not
    // a second writer: its counts are the server's.
    let store = SqliteStore::open(server.dir.join("checkout.db")).unwrap();
    let stats = store.stats();
    assert!(stats.writes >= 24, "{stats:?}");
    assert_eq!(
        stats.commits, stats.groups,
        "every group committed: {stats:?}"
    );
    drop(store);
    let Ok(server) = Arc::try_unwrap(server) else {
        panic!("a task still holds the server");
    };
    server.finish().await;
}
