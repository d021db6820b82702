//! `SqliteStore` against buyster's store conformance kit, every check included.

use std::sync::atomic::{AtomicUsize, Ordering};

use buyster::testkit::store_conformance;
use buyster_sqlite::SqliteStore;

#[test]
fn the_sqlite_store_passes_every_check_of_the_conformance_kit() {
    // The kit polls the store's futures with its own block_on, on plain threads and without a
    // runtime; each check gets a new file, so an empty store.
    let dir = tempfile::tempdir().unwrap();
    let made = AtomicUsize::new(0);
    let report = store_conformance(|| {
        let n = made.fetch_add(1, Ordering::SeqCst);
        SqliteStore::open(dir.path().join(format!("store-{n}.db"))).unwrap()
    });
    assert_eq!(report.checks().len(), 17, "{:?}", report.checks());
    assert!(
        report.checks().contains(&"writes together: all or none"),
        "{:?}",
        report.checks()
    );
}
