//! The due query reads the partial index `records_due`, in order, up to its limit.

use buyster::{Store, Timestamp};

use crate::common::{connect, fresh_store};

#[tokio::test]
async fn the_due_query_is_an_index_scan_of_records_due() {
    // One connection: the statement the store prepared is that session's, to explain.
    let (store, url) = fresh_store(1).await;
    let admin = connect(&url).await;
    // 20,000 records, one in a hundred due, and fresh statistics.
    admin
        .batch_execute(
            "INSERT INTO buyster.records (key, version, value, due)
             SELECT 'payment/' || i, 1, '\\x00', CASE WHEN i % 100 = 0 THEN i * 1000 END
             FROM generate_series(1, 20000) AS i;
             ANALYZE buyster.records;",
        )
        .await
        .unwrap();
    let due = store
        .due(Timestamp::from_unix_millis(500_000), 3)
        .await
        .unwrap();
    let keys: Vec<&str> = due.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["payment/100", "payment/200", "payment/300"]);

    let client = store.pool().get().await.unwrap();
    let name: String = client
        .query_one(
            "SELECT name::text FROM pg_prepared_statements
             WHERE statement LIKE '%ORDER BY due, key%' AND statement NOT LIKE '%pg_prepared%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // The plan every later call of the prepared statement may use, whatever its arguments.
    client
        .batch_execute("SET plan_cache_mode = force_generic_plan")
        .await
        .unwrap();
    let plan: Vec<String> = client
        .query(&format!("EXPLAIN EXECUTE {name}(500000, 3)"), &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let plan = plan.join("\n");
    eprintln!("{plan}");
    assert!(plan.contains("Scan using records_due on records"), "{plan}");
    assert!(
        !plan.contains("Seq Scan") && !plan.contains("Sort"),
        "{plan}"
    );
    client.batch_execute("RESET plan_cache_mode").await.unwrap();
}
