//! A store's file closed and opened again, shared within a process, migrated, and written by
//! another process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use buyster::{Key, Store, StoreError, Timestamp, Version, Write};
use buyster_sqlite::{OpenError, SCHEMA_VERSION, SqliteStore};

fn at(millis: u64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_file_keeps_its_records_due_index_and_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (a, b, c) = (
        Key::for_testing("payment/a"),
        Key::for_testing("payment/b"),
        Key::for_testing("payment/c"),
    );
    let (va, seqs) = {
        let store = SqliteStore::open(&path).unwrap();
        let write = Write::new(b"a1".to_vec())
            .due_at(at(3_000))
            .with_event(b"e1".to_vec());
        let va = store.put(&a, None, write).await.unwrap();
        let va = store
            .put(&a, Some(va), Write::new(b"a2".to_vec()).due_at(at(2_000)))
            .await
            .unwrap();
        let write = Write::new(b"b".to_vec())
            .due_at(at(1_000))
            .with_event(b"e2".to_vec());
        store.put(&b, None, write).await.unwrap();
        let write = Write::new(b"c".to_vec()).with_event(b"e3".to_vec());
        store.put(&c, None, write).await.unwrap();
        let seqs: Vec<u64> = store
            .outbox(10)
            .await
            .unwrap()
            .iter()
            .map(|entry| entry.seq)
            .collect();
        // The newest event acknowledged: its number must not come back.
        store.acknowledge(&[seqs[2]]).await.unwrap();
        (va, seqs)
    };

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.stats().writes,
        0,
        "a new store on the file, not the old one"
    );
    let entry = store.get(&a).await.unwrap().unwrap();
    assert_eq!((entry.version(), entry.value()), (va, &b"a2"[..]));
    assert_eq!(va, Version::new(2));
    let due: Vec<(String, u64)> = store
        .due(at(10_000), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|due| (due.key.to_string(), due.at.as_unix_millis()))
        .collect();
    assert_eq!(
        due,
        [
            ("payment/b".to_owned(), 1_000),
            ("payment/a".to_owned(), 2_000)
        ]
    );
    let outbox = store.outbox(10).await.unwrap();
    let kept: Vec<(u64, &[u8])> = outbox
        .iter()
        .map(|entry| (entry.seq, entry.event.as_slice()))
        .collect();
    assert_eq!(kept, [(seqs[0], &b"e1"[..]), (seqs[1], &b"e2"[..])]);
    let write = Write::new(b"d".to_vec()).with_event(b"e4".to_vec());
    store
        .put(&Key::for_testing("payment/d"), None, write)
        .await
        .unwrap();
    let newest = store.outbox(10).await.unwrap().last().unwrap().seq;
    assert!(newest > seqs[2], "{newest} after {seqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_opens_of_one_file_share_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let first = SqliteStore::open(&path).unwrap();
    // The same file by another name: still one store.
    let second = SqliteStore::open(dir.path().join(".").join("store.db")).unwrap();
    assert_eq!(first.path(), second.path());
    let key = Arc::new(Key::for_testing("counter"));
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let key = Arc::clone(&key);
            tokio::spawn(async move {
                let mut done = 0;
                while done < 25 {
                    let entry = store.get(&key).await.unwrap();
                    let count = entry.as_ref().map_or(0, |entry| entry.value()[0]);
                    let write = Write::new(vec![count + 1]);
                    match store
                        .put(&key, entry.map(|entry| entry.version()), write)
                        .await
                    {
                        Ok(_) => done += 1,
                        Err(StoreError::Conflict) => {}
                        Err(error) => panic!("{error}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let entry = first.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (entry.version(), entry.value()),
        (Version::new(200), &[200][..])
    );
    assert_eq!(
        first.stats(),
        second.stats(),
        "one writer counts every write"
    );
}

#[test]
fn a_file_of_the_first_schema_is_migrated_and_its_removals_survive_reopening() {
    use buyster::testkit::block_on;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("first.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(buyster_sqlite::MIGRATIONS[0]).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        old.execute(
            "INSERT INTO records VALUES ('payment/old', 9, x'6f6c64', 5)",
            [],
        )
        .unwrap();
    }
    let key = Key::for_testing("payment/old");
    {
        let store = SqliteStore::open(&path).unwrap();
        assert!(matches!(
            block_on(store.remove(&key, Version::new(8))),
            Some(Err(StoreError::Conflict))
        ));
        assert_eq!(block_on(store.due(at(10), 10)).unwrap().len(), 1);
        assert!(matches!(
            block_on(store.remove(&key, Version::new(9))),
            Some(Ok(()))
        ));
        assert!(block_on(store.get(&key)).unwrap().is_none());
        assert!(block_on(store.due(at(10), 10)).unwrap().is_empty());
    }
    // Opened again: the key created anew starts above the version it was removed at.
    let store = SqliteStore::open(&path).unwrap();
    let version = block_on(store.put(&key, None, Write::new(b"new".to_vec()))).unwrap();
    assert_eq!(version, Version::new(10));
    let file = rusqlite::Connection::open(&path).unwrap();
    let schema: u32 = file
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(schema, SCHEMA_VERSION);
}

#[test]
fn a_file_from_the_unversioned_schema_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE records (key TEXT PRIMARY KEY, version INTEGER NOT NULL,
                                   value BLOB NOT NULL, due INTEGER);
             INSERT INTO records VALUES ('payment/old', 7, x'6f6c64', NULL);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let entry = buyster::testkit::block_on(store.get(&Key::for_testing("payment/old")))
        .unwrap()
        .unwrap();
    assert_eq!(
        (entry.version(), entry.value()),
        (Version::new(7), &b"old"[..])
    );
    drop(store);
    let file = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = file
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = file
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let tables: u32 = file
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('outbox', 'records_due')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(tables, 2);
}

#[test]
fn a_file_with_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let opened = SqliteStore::open(&path);
    assert!(
        matches!(opened, Err(OpenError::NewerSchema { found, known })
            if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{opened:?}"
    );
}

#[test]
fn a_foreign_writer_is_not_waited_for_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    let key = Key::for_testing("payment/a");
    let foreign = rusqlite::Connection::open(&path).unwrap();
    foreign.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let put = buyster::testkit::block_on(store.put(&key, None, Write::new(b"a".to_vec())));
    assert!(matches!(put, Err(StoreError::Unavailable(_))), "{put:?}");
    // No busy handler: refused at once, not after SQLite's default five seconds.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    foreign.execute_batch("ROLLBACK").unwrap();
    assert_eq!(buyster::testkit::block_on(store.get(&key)).unwrap(), None);
    let version =
        buyster::testkit::block_on(store.put(&key, None, Write::new(b"a".to_vec()))).unwrap();
    assert_eq!(version, Version::new(1));
}

#[test]
fn one_new_file_opened_from_many_threads_at_once_gets_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let barrier = std::sync::Barrier::new(8);
    let stores: Vec<SqliteStore> = std::thread::scope(|scope| {
        let opening: Vec<_> = (0..8)
            .map(|n| {
                let (path, barrier) = (&path, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let store = SqliteStore::open(path).unwrap();
                    let key = Key::for_testing(&format!("payment/{n}"));
                    buyster::testkit::block_on(store.put(&key, None, Write::new(vec![n]))).unwrap();
                    store
                })
            })
            .collect();
        opening.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for store in &stores {
        assert_eq!(store.stats().writes, 8, "{store:?}");
    }
    // Closed and opened again, over and over: each new store finds the file free.
    drop(stores);
    for round in 0..20 {
        let store = SqliteStore::open(&path).unwrap();
        let key = Key::for_testing(&format!("round/{round}"));
        buyster::testkit::block_on(store.put(&key, None, Write::new(vec![round]))).unwrap();
        assert_eq!(store.stats().writes, 1);
    }
}
