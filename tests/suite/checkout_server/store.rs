//! `SqliteStore` against buyster's store conformance kit, and under concurrent tokio tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use buyster::testkit::store_conformance;
use buyster::{Key, Store, StoreError, Version};

use super::server::SqliteStore;

#[test]
fn the_sqlite_store_passes_the_conformance_kit() {
    // The kit polls the store's futures on plain threads, with no runtime: the store then runs
    // its SQLite calls on the calling thread.
    let dir = tempfile::tempdir().unwrap();
    let made = AtomicUsize::new(0);
    let report = store_conformance(|| {
        let n = made.fetch_add(1, Ordering::SeqCst);
        SqliteStore::open(&dir.path().join(format!("store-{n}.db"))).unwrap()
    });
    assert_eq!(report.checks().len(), 14, "{:?}", report.checks());
}

/// Increments a counter under `key` by compare-and-swap, reading again after each conflict.
async fn increment(store: &SqliteStore, key: &Key) {
    loop {
        let current = store.get(key).await.unwrap();
        let (expected, count) = match &current {
            Some(entry) => (
                Some(entry.version()),
                u64::from_le_bytes(entry.value().try_into().unwrap()),
            ),
            None => (None, 0),
        };
        match store
            .put(key, expected, (count + 1).to_le_bytes().to_vec().into())
            .await
        {
            Ok(_) => return,
            Err(StoreError::Conflict) => continue,
            Err(error) => panic!("{error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_lose_no_update_under_tokio() {
    // Two stores on one file are two SQLite connections: the compare-and-swap must hold across
    // them, as across processes. Calls run on tokio's blocking pool.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let stores = [
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    ];
    let key = Arc::new(Key::for_testing("counter"));
    let mut tasks = Vec::new();
    for task in 0..8 {
        let store = stores[task % 2].clone();
        let key = Arc::clone(&key);
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                increment(&store, &key).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let entry = stores[0].get(&key).await.unwrap().unwrap();
    assert_eq!(u64::from_le_bytes(entry.value().try_into().unwrap()), 200);
    assert_eq!(entry.version(), Version::new(200));
}
