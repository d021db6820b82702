//! Many connections racing compare-and-swap on one key; batches written together.

use std::collections::BTreeSet;
use std::time::Instant;

use buyster::{KeyedWrite, Store, StoreError, Version, Write};

use crate::common::{fresh_store, insert, key};

const TASKS: u64 = 32;
const INCREMENTS: u64 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_increments_lose_no_update_and_share_no_version() {
    let (store, _) = fresh_store(16).await;
    let first = insert(&store, "race/counter", &0u64.to_be_bytes()).await;
    assert_eq!(first, Version::new(1));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let counter = key("race/counter");
                let (mut versions, mut conflicts) = (Vec::new(), 0u64);
                while (versions.len() as u64) < INCREMENTS {
                    let entry = store.get(&counter).await.unwrap().unwrap();
                    let next = u64::from_be_bytes(entry.value().try_into().unwrap()) + 1;
                    let bytes = next.to_be_bytes().to_vec();
                    let write = Write::new(bytes.clone()).with_event(bytes);
                    match store.put(&counter, Some(entry.version()), write).await {
                        Ok(version) => versions.push(version),
                        Err(StoreError::Conflict) => conflicts += 1,
                        Err(other) => panic!("put failed: {other}"),
                    }
                }
                (versions, conflicts)
            })
        })
        .collect();
    let (mut versions, mut conflicts) = (BTreeSet::from([first]), 0);
    for task in tasks {
        let (won, lost) = task.await.unwrap();
        conflicts += lost;
        for version in won {
            assert!(versions.insert(version), "{version:?} given twice");
        }
    }
    let elapsed = started.elapsed();
    let total = TASKS * INCREMENTS;
    eprintln!(
        "{total} increments by {TASKS} tasks through 16 connections in {elapsed:?} \
         ({:.0} applied puts/s), {conflicts} conflicts",
        total as f64 / elapsed.as_secs_f64()
    );
    // Versions come from the schema's sequence: one new version per applied write, the last
    // write's the greatest (a write that lost its race may have burnt a number).
    assert_eq!(versions.len() as u64, total + 1);
    let entry = store.get(&key("race/counter")).await.unwrap().unwrap();
    assert_eq!(entry.value(), total.to_be_bytes());
    assert_eq!(Some(&entry.version()), versions.last());
    // The events, one per applied write, in counter order.
    let events = store.outbox(10_000).await.unwrap();
    let counters: Vec<u64> = events
        .iter()
        .map(|e| u64::from_be_bytes(e.event.as_slice().try_into().unwrap()))
        .collect();
    assert_eq!(counters, (1..=total).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_returns_versions_and_events_in_its_order() {
    let (store, _) = fresh_store(4).await;
    let va = insert(&store, "batch/a", b"a").await;
    // Written in key order (a before z), answered and evented in the batch's order.
    let batch = vec![
        KeyedWrite {
            key: key("batch/z"),
            expected: None,
            write: Write::new(b"z".to_vec())
                .with_event(b"z1".to_vec())
                .with_event(b"z2".to_vec()),
        },
        KeyedWrite {
            key: key("batch/a"),
            expected: Some(va),
            write: Write::new(b"a2".to_vec()).with_event(b"a1".to_vec()),
        },
    ];
    let versions = store.put_together(batch).await.unwrap().unwrap();
    // Answered in the batch's order, z's and a's, each new.
    let [vz, va2] = versions.as_slice() else {
        panic!("{versions:?}");
    };
    assert_eq!(
        store.get(&key("batch/z")).await.unwrap().unwrap().version(),
        *vz
    );
    assert_eq!(
        store.get(&key("batch/a")).await.unwrap().unwrap().version(),
        *va2
    );
    assert!(*va2 > va && vz != va2, "{versions:?}");
    let events: Vec<Vec<u8>> = store
        .outbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, [b"z1".to_vec(), b"z2".to_vec(), b"a1".to_vec()]);
    // An empty batch is supported, and writes nothing.
    assert!(matches!(store.put_together(Vec::new()).await, Some(Ok(v)) if v.is_empty()));
}
