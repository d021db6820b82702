//! A fresh database per test, the store on it, and a connection of the test's own.

use buyster::{Key, Store, Version, Write};
use buyster_postgres::{PostgresStore, Schema, pool};
use buyster_test_postgres::TestPostgres;
use tokio::runtime::Handle;
use tokio_postgres::{Client, NoTls};

/// A migrated store in the default schema of a fresh database, with a pool of `size`
/// connections, on the current runtime; and the database's URL.
pub async fn fresh_store(size: usize) -> (PostgresStore, String) {
    let url = TestPostgres::shared().fresh_database().await;
    let pool = pool(&url, size).unwrap();
    PostgresStore::migrate(&pool, &Schema::default())
        .await
        .unwrap();
    (
        PostgresStore::new(pool, Schema::default(), Handle::current()),
        url,
    )
}

/// A connection of the test's own to the database of `url`.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

pub fn key(name: &str) -> Key {
    Key::for_testing(name)
}

/// Writes `value` under a new key.
pub async fn insert(store: &PostgresStore, name: &str, value: &[u8]) -> Version {
    store
        .put(&key(name), None, Write::new(value.to_vec()))
        .await
        .unwrap()
}
