//! The migration: idempotent, safe to run from many instances at once, data kept.

use buyster::{Store, Version};
use buyster_postgres::{PostgresStore, Schema, SetupError, pool};
use buyster_test_postgres::TestPostgres;

use crate::common::{connect, insert, key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_migrations_at_once_make_the_tables_once() {
    let url = TestPostgres::shared().fresh_database().await;
    let pool = pool(&url, 8).unwrap();
    let schema = Schema::new("shop_store").unwrap();
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let (pool, schema) = (pool.clone(), schema.clone());
            tokio::spawn(async move { PostgresStore::migrate(&pool, &schema).await })
        })
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    let client = connect(&url).await;
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'shop_store' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tables, ["outbox", "records"]);
    let sequences: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_sequences
             WHERE schemaname = 'shop_store' AND sequencename = 'versions'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sequences, 1, "one sequence of versions, made once");
    let index: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'shop_store' AND indexname = 'records_due'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        index.ends_with("(due, key) WHERE (due IS NOT NULL)"),
        "{index}"
    );

    // Again, with data in the tables: nothing changes.
    let store = PostgresStore::new(
        pool.clone(),
        schema.clone(),
        tokio::runtime::Handle::current(),
    );
    let version = insert(&store, "kept", b"kept").await;
    PostgresStore::migrate(&pool, &schema).await.unwrap();
    let entry = store.get(&key("kept")).await.unwrap().unwrap();
    assert_eq!(
        (entry.version(), entry.value()),
        (version, b"kept".as_slice())
    );
    assert_eq!(version, Version::new(1));
}

#[tokio::test]
async fn connect_migrates_the_default_schema() {
    let url = TestPostgres::shared().fresh_database().await;
    let store = PostgresStore::connect(&url, Schema::default())
        .await
        .unwrap();
    assert_eq!(store.schema().as_str(), "buyster");
    insert(&store, "connected", b"x").await;
    let again = PostgresStore::connect(&url, Schema::default())
        .await
        .unwrap();
    assert!(again.get(&key("connected")).await.unwrap().is_some());
}

#[test]
fn connect_needs_a_tokio_runtime() {
    let outcome = buyster::testkit::block_on(PostgresStore::connect(
        "postgresql://postgres@127.0.0.1:1/x",
        Schema::default(),
    ));
    assert!(matches!(outcome, Err(SetupError::NoRuntime)), "{outcome:?}");
}

#[test]
fn a_bad_url_is_a_config_error() {
    assert!(matches!(
        pool("postgresql://[::1", 1),
        Err(SetupError::Config(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_made_before_the_sequence_get_it_above_their_versions() {
    let url = TestPostgres::shared().fresh_database().await;
    let client = connect(&url).await;
    // The tables as a release without removal made them, with a key at version 41.
    client
        .batch_execute(
            "CREATE SCHEMA older;
             CREATE TABLE older.records (key text PRIMARY KEY, version bigint NOT NULL,
                                         value bytea NOT NULL, due bigint);
             CREATE INDEX records_due ON older.records (due, key) WHERE due IS NOT NULL;
             CREATE TABLE older.outbox (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                        event bytea NOT NULL);
             INSERT INTO older.records VALUES ('payment/old', 41, '\\x6f6c64', 7);",
        )
        .await
        .unwrap();
    let pool = pool(&url, 2).unwrap();
    let schema = Schema::new("older").unwrap();
    PostgresStore::migrate(&pool, &schema).await.unwrap();
    let store = PostgresStore::new(
        pool.clone(),
        schema.clone(),
        tokio::runtime::Handle::current(),
    );
    let old = key("payment/old");
    assert!(matches!(
        store.remove(&old, Version::new(40)).await,
        Some(Err(buyster::StoreError::Conflict))
    ));
    assert!(matches!(
        store.remove(&old, Version::new(41)).await,
        Some(Ok(()))
    ));
    assert!(store.get(&old).await.unwrap().is_none());
    // Made again, and once more after a second migration: above every version it had.
    PostgresStore::migrate(&pool, &schema).await.unwrap();
    let again = insert(&store, "payment/old", b"new").await;
    assert!(again > Version::new(41), "{again:?}");
}
