//! The mapping of failures onto `StoreError`: unreachable and stopped servers, backends
//! terminated while a write waits, PostgreSQL's own errors, corrupt rows.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use buyster::{KeyedWrite, Store, StoreError, Timestamp, Version, Write};
use buyster_postgres::{PostgresStore, Schema, SetupError, pool};
use buyster_test_postgres::TestPostgres;
use tokio::runtime::Handle;
use tokio_postgres::Client;

use crate::common::{connect, fresh_store, insert, key};

/// Every call of the store, each answering `Unavailable`.
async fn all_unavailable(store: &PostgresStore) {
    let k = key("k");
    let answers = [
        store.get(&k).await.map(drop),
        store
            .put(&k, None, Write::new(b"v".to_vec()))
            .await
            .map(drop),
        store.due(Timestamp::from_unix_millis(1), 1).await.map(drop),
        store.outbox(1).await.map(drop),
        store.acknowledge(&[1]).await,
        store
            .put_together(vec![KeyedWrite {
                key: k.clone(),
                expected: None,
                write: Write::new(b"v".to_vec()),
            }])
            .await
            .unwrap()
            .map(drop),
    ];
    for (call, answer) in answers.into_iter().enumerate() {
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "call {call} answered {answer:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://postgres@127.0.0.1:{port}/nowhere");
    let store = PostgresStore::new(pool(&url, 2).unwrap(), Schema::default(), Handle::current());
    all_unavailable(&store).await;
    let setup = PostgresStore::connect(&url, Schema::default()).await;
    assert!(matches!(setup, Err(SetupError::Connect(_))), "{setup:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_unavailable() {
    let server = TestPostgres::start().unwrap();
    let url = server.fresh_database().await;
    let store = PostgresStore::connect(&url, Schema::default())
        .await
        .unwrap();
    insert(&store, "before", b"x").await;
    // Stops the server (pg_ctl stop -m immediate); the pool's connection is cut.
    drop(server);
    tokio::time::sleep(Duration::from_millis(200)).await;
    all_unavailable(&store).await;
}

/// The process id of the session whose statement waits for a lock in `database`.
async fn waiting_backend(admin: &Client, database: &str) -> i32 {
    for _ in 0..200 {
        let row = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity
                 WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&database],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no session waits for a lock in {database}");
}

async fn terminate(admin: &Client, pid: i32) {
    let done: bool = admin
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(done);
}

/// Holds the row lock of `name` in an open transaction of `client`.
async fn lock_row(client: &Client, name: &str) {
    client.batch_execute("BEGIN").await.unwrap();
    client
        .query_one(
            "SELECT 1 FROM buyster.records WHERE key = $1 FOR UPDATE",
            &[&name],
        )
        .await
        .unwrap();
}

async fn database_of(client: &Client) -> String {
    client
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_cut_off_in_flight_has_an_unknown_outcome() {
    let (store, url) = fresh_store(2).await;
    let version = insert(&store, "held", b"v1").await;
    let (locker, admin) = (
        connect(&url).await,
        connect(TestPostgres::shared().url()).await,
    );
    lock_row(&locker, "held").await;
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let write = Write::new(b"v2".to_vec()).with_event(b"e".to_vec());
            store.put(&key("held"), Some(version), write).await
        })
    };
    terminate(
        &admin,
        waiting_backend(&admin, &database_of(&locker).await).await,
    )
    .await;
    let answer = waiting.await.unwrap();
    assert!(
        matches!(answer, Err(StoreError::OutcomeUnknown(_))),
        "{answer:?}"
    );
    // It was in fact rolled back: reading again tells.
    locker.batch_execute("ROLLBACK").await.unwrap();
    let entry = store.get(&key("held")).await.unwrap().unwrap();
    assert_eq!(
        (entry.version(), entry.value()),
        (version, b"v1".as_slice())
    );
    assert!(store.outbox(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_cut_off_before_its_commit_is_unavailable() {
    let (store, url) = fresh_store(2).await;
    let version = insert(&store, "held", b"v1").await;
    let (locker, admin) = (
        connect(&url).await,
        connect(TestPostgres::shared().url()).await,
    );
    lock_row(&locker, "held").await;
    // "a-new" is written first (key order), then the batch waits for "held".
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let batch = vec![
                KeyedWrite {
                    key: key("held"),
                    expected: Some(version),
                    write: Write::new(b"v2".to_vec()),
                },
                KeyedWrite {
                    key: key("a-new"),
                    expected: None,
                    write: Write::new(b"new".to_vec()).with_event(b"e".to_vec()),
                },
            ];
            store.put_together(batch).await.unwrap()
        })
    };
    terminate(
        &admin,
        waiting_backend(&admin, &database_of(&locker).await).await,
    )
    .await;
    let answer = waiting.await.unwrap();
    assert!(
        matches!(answer, Err(StoreError::Unavailable(_))),
        "{answer:?}"
    );
    locker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        store.get(&key("held")).await.unwrap().unwrap().version(),
        version
    );
    assert_eq!(store.get(&key("a-new")).await.unwrap(), None);
    assert!(store.outbox(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_terminated_while_idle_is_replaced_or_reported() {
    let (store, url) = fresh_store(1).await;
    let version = insert(&store, "k", b"v1").await;
    let pid: i32 = {
        let client = store.pool().get().await.unwrap();
        client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0)
    };
    let admin = connect(&url).await;
    terminate(&admin, pid).await;
    let answer = store
        .put(&key("k"), Some(version), Write::new(b"v2".to_vec()))
        .await;
    let stored = store.get(&key("k")).await.unwrap().unwrap();
    // The pool drops a connection it finds closed and makes another; one it has not found
    // closed yet fails the write without applying it.
    match answer {
        Ok(written) => assert_eq!(
            (stored.version(), stored.value()),
            (written, b"v2".as_slice())
        ),
        Err(StoreError::Unavailable(_) | StoreError::OutcomeUnknown(_)) => {
            assert_eq!(stored.version(), version);
        }
        Err(other) => panic!("answered {other:?}"),
    }
}

#[tokio::test]
async fn an_error_of_postgresql_is_a_backend_error() {
    let (store, url) = fresh_store(1).await;
    let version = insert(&store, "k", b"v1").await;
    connect(&url)
        .await
        .batch_execute("DROP TABLE buyster.outbox")
        .await
        .unwrap();
    let write = Write::new(b"v2".to_vec()).with_event(b"e".to_vec());
    let answer = store.put(&key("k"), Some(version), write).await;
    let Err(StoreError::Backend(error)) = answer else {
        panic!("answered {answer:?}");
    };
    assert!(format!("{error:?}").contains("does not exist"), "{error:?}");
    // The statement failed whole: the record did not change.
    let entry = store.get(&key("k")).await.unwrap().unwrap();
    assert_eq!(
        (entry.version(), entry.value()),
        (version, b"v1".as_slice())
    );
    assert!(matches!(store.outbox(1).await, Err(StoreError::Backend(_))));
}

#[tokio::test]
async fn corrupt_rows_are_backend_errors() {
    let (store, url) = fresh_store(1).await;
    connect(&url)
        .await
        .batch_execute(
            "INSERT INTO buyster.records (key, version, value, due) VALUES
                 ('not a key', 1, '\\x00', 5),
                 ('negative', -3, '\\x00', NULL)",
        )
        .await
        .unwrap();
    for answer in [
        store
            .due(Timestamp::from_unix_millis(10), 10)
            .await
            .map(drop),
        store.get(&key("negative")).await.map(drop),
    ] {
        let Err(StoreError::Backend(error)) = answer else {
            panic!("answered {answer:?}");
        };
        assert!(error.to_string().contains("corrupt row"), "{error}");
    }
    // A version beyond what bigint holds is a conflict, not an error.
    let beyond = Some(Version::new(u64::MAX));
    let answer = store
        .put(&key("negative"), beyond, Write::new(Vec::new()))
        .await;
    assert!(matches!(answer, Err(StoreError::Conflict)), "{answer:?}");
}
