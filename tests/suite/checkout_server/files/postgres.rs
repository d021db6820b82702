//! The key's id on PostgreSQL: kept in `checkout_key` beside the store's schema; another key
//! refused with both ids; `--reinitialise` refused with what to do by hand, nothing changed.

use buyster_test_postgres::TestPostgres;

use super::super::server::keyid::KeyId;
use super::super::support::TestServer;
use super::{OTHER_KEY, key, refusal_in};

const FIRST_KEY: &str = "6a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeef";

async fn database(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The stored key id, and the store's record count.
async fn state(client: &tokio_postgres::Client) -> (Vec<String>, i64) {
    let ids = client
        .query("SELECT key_id FROM checkout_key", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let records = client
        .query_one("SELECT count(*) FROM buyster.records", &[])
        .await
        .unwrap()
        .get(0);
    (ids, records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_another_key_is_refused_and_the_flag_says_what_to_do() {
    let url = TestPostgres::shared().fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let first = KeyId::of(&key(FIRST_KEY));
    let other = KeyId::of(&key(OTHER_KEY));
    let with = |hex: &'static str, reinitialise: bool| {
        let url = url.clone();
        move |config: &mut super::super::server::Config| {
            config.postgres = Some(url);
            config.master_key = Some(key(hex));
            config.reinitialise = reinitialise;
        }
    };
    let server = TestServer::start_in(dir.path(), with(FIRST_KEY, false)).await;
    let id = server.create(4990, super::super::support::PHONE).await;
    server.finish().await;
    let client = database(&url).await;
    let before = state(&client).await;
    assert_eq!(before.0, [first.to_string()]);
    assert!(before.1 > 0);

    let refusal = refusal_in(dir.path(), with(OTHER_KEY, false)).await;
    assert!(
        refusal.starts_with(&format!(
            "the PostgreSQL database of --postgres expects the master key with id {first}, and \
             the key given has id {other}"
        )),
        "{refusal}"
    );
    assert_eq!(state(&client).await, before);

    let refusal = refusal_in(dir.path(), with(OTHER_KEY, true)).await;
    assert!(
        refusal.contains(&format!(
            "--reinitialise does not move a shared database aside. Stop every server on it, \
             then in psql: ALTER SCHEMA buyster RENAME TO buyster_key_{first}; DELETE FROM \
             checkout_key;"
        )),
        "{refusal}"
    );
    assert_eq!(state(&client).await, before);

    // Records without an id: refused too.
    client
        .execute("DELETE FROM checkout_key", &[])
        .await
        .unwrap();
    let refusal = refusal_in(dir.path(), with(FIRST_KEY, false)).await;
    assert!(refusal.contains("holds records but no key id"), "{refusal}");
    client
        .execute(
            "INSERT INTO checkout_key (only_row, key_id) VALUES (1, $1)",
            &[&first.to_string()],
        )
        .await
        .unwrap();

    // What the instructions say, done by hand, lets the other key start on a new schema.
    client
        .batch_execute(&format!(
            "ALTER SCHEMA buyster RENAME TO buyster_key_{first}; DELETE FROM checkout_key;"
        ))
        .await
        .unwrap();
    let server = TestServer::start_in(dir.path(), with(OTHER_KEY, false)).await;
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(404, Some("unknown_payment"));
    server.finish().await;
    assert_eq!(state(&client).await.0, [other.to_string()]);
    let kept: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM buyster_key_{first}.records"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, before.1);
}
