//! buyster's store conformance kit, every check, driven from plain threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use buyster::testkit::store_conformance;
use buyster_postgres::{PostgresStore, Schema, pool};
use buyster_test_postgres::TestPostgres;

#[test]
fn the_store_passes_every_conformance_check() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = TestPostgres::shared().fresh_database_blocking();
    let pool = pool(&url, 16).unwrap();
    let made = AtomicUsize::new(0);
    // Each check gets an empty store: a schema of its own, made by the migration.
    let report = store_conformance(|| {
        let schema =
            Schema::new(&format!("check_{}", made.fetch_add(1, Ordering::Relaxed))).unwrap();
        runtime
            .block_on(PostgresStore::migrate(&pool, &schema))
            .unwrap();
        PostgresStore::new(pool.clone(), schema, runtime.handle().clone())
    });
    assert_eq!(report.checks().len(), 17, "{:?}", report.checks());
    assert!(report.checks().contains(&"writes together: all or none"));
    assert!(
        report
            .checks()
            .contains(&"outbox: a racing writer's events in the order of its writes")
    );
}
