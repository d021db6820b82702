//! Many tasks on one store: compare-and-swap under a race, and group commit counted.

use std::sync::Arc;

use buyster::{Key, KeyedWrite, Store, StoreError, Version, Write};
use buyster_sqlite::SqliteStore;
use tokio::sync::Barrier;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    (dir, store)
}

fn counter_of(value: &[u8]) -> u64 {
    u64::from_le_bytes(value.try_into().unwrap())
}

/// Increments a counter under `key` by compare-and-swap, reading again after each conflict.
async fn increment(store: &SqliteStore, key: &Key) {
    loop {
        let current = store.get(key).await.unwrap();
        let (expected, count) = match &current {
            Some(entry) => (Some(entry.version()), counter_of(entry.value())),
            None => (None, 0),
        };
        let write = Write::new((count + 1).to_le_bytes().to_vec()).with_event(vec![1]);
        match store.put(key, expected, write).await {
            Ok(_) => return,
            Err(StoreError::Conflict) => continue,
            Err(error) => panic!("{error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_racing_on_one_key_lose_no_update() {
    let (_dir, store) = store();
    let key = Arc::new(Key::for_testing("counter"));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, key) = (store.clone(), Arc::clone(&key));
            tokio::spawn(async move {
                for _ in 0..25 {
                    increment(&store, &key).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let entry = store.get(&key).await.unwrap().unwrap();
    assert_eq!(counter_of(entry.value()), 400);
    assert_eq!(entry.version(), Version::new(400));
    // One event per applied write, none for a conflicting one.
    assert_eq!(store.outbox(1_000).await.unwrap().len(), 400);
    let stats = store.stats();
    assert!(stats.commits <= stats.writes, "{stats:?}");
}

/// Puts `count` new keys from as many tasks at once; the store's stats before and after.
async fn concurrent_puts(store: &SqliteStore, count: usize) {
    let barrier = Arc::new(Barrier::new(count));
    let tasks: Vec<_> = (0..count)
        .map(|n| {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let key = Key::for_testing(&format!("payment/{n}"));
                store.put(&key, None, Write::new(vec![1; 200])).await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), Version::new(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_puts_share_far_fewer_commits() {
    let (_dir, store) = store();
    concurrent_puts(&store, 64).await;
    let stats = store.stats();
    println!("64 concurrent puts: {stats:?}");
    assert_eq!(stats.writes, 64);
    assert_eq!(stats.commits, stats.groups);
    assert!(stats.commits < 64, "{stats:?}");
    assert!(stats.largest_group > 1, "{stats:?}");
    for n in 0..64 {
        let key = Key::for_testing(&format!("payment/{n}"));
        assert_eq!(store.get(&key).await.unwrap().unwrap().value(), [1; 200]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_one_after_another_commit_one_by_one() {
    // The counter the test above relies on: with nothing to group, one commit per put.
    let (_dir, store) = store();
    for n in 0..16 {
        let key = Key::for_testing(&format!("payment/{n}"));
        store.put(&key, None, Write::new(vec![n])).await.unwrap();
    }
    let stats = store.stats();
    assert_eq!((stats.writes, stats.groups, stats.commits), (16, 16, 16));
    assert_eq!(stats.largest_group, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_writes_racing_with_others_roll_back_only_themselves() {
    let (_dir, store) = store();
    let contested = Key::for_testing("contested");
    let first = store
        .put(
            &contested,
            None,
            Write::new(b"first".to_vec()).with_event(b"first".to_vec()),
        )
        .await
        .unwrap();
    let before = store.stats();
    // 30 new keys, a put on the contested key as if it were absent, and a batch whose second
    // write expects the contested key absent: all at once.
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = Vec::new();
    for n in 0..30 {
        let (store, barrier) = (store.clone(), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let key = Key::for_testing(&format!("neighbour/{n}"));
            let write = Write::new(vec![n]).with_event(vec![n]);
            store
                .put(&key, None, write)
                .await
                .map(|version| vec![version])
        }));
    }
    let (racer, batch) = (store.clone(), store.clone());
    let (contested_for_put, contested_for_batch) = (contested.clone(), contested.clone());
    let (barrier_put, barrier_batch) = (Arc::clone(&barrier), Arc::clone(&barrier));
    let lost = tokio::spawn(async move {
        barrier_put.wait().await;
        let write = Write::new(b"lost".to_vec()).with_event(b"lost".to_vec());
        racer.put(&contested_for_put, None, write).await
    });
    let refused = tokio::spawn(async move {
        barrier_batch.wait().await;
        let writes = vec![
            KeyedWrite {
                key: Key::for_testing("batch/new"),
                expected: None,
                write: Write::new(b"batch".to_vec()).with_event(b"batch".to_vec()),
            },
            KeyedWrite {
                key: contested_for_batch,
                expected: None,
                write: Write::new(b"batch".to_vec()),
            },
        ];
        batch.put_together(writes).await.unwrap()
    });
    assert!(matches!(lost.await.unwrap(), Err(StoreError::Conflict)));
    assert!(matches!(refused.await.unwrap(), Err(StoreError::Conflict)));
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), [Version::new(1)]);
    }
    for n in 0..30 {
        let key = Key::for_testing(&format!("neighbour/{n}"));
        assert_eq!(store.get(&key).await.unwrap().unwrap().value(), [n]);
    }
    let kept = store.get(&contested).await.unwrap().unwrap();
    assert_eq!((kept.version(), kept.value()), (first, &b"first"[..]));
    assert_eq!(
        store.get(&Key::for_testing("batch/new")).await.unwrap(),
        None
    );
    let events: Vec<Vec<u8>> = store
        .outbox(100)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.event)
        .collect();
    assert_eq!(
        events.len(),
        31,
        "the first write's event and one per neighbour"
    );
    assert!(
        !events
            .iter()
            .any(|event| event == b"lost" || event == b"batch")
    );
    let after = store.stats();
    assert_eq!(after.writes - before.writes, 32);
    assert!(after.groups - before.groups < 32, "{before:?} {after:?}");
}
