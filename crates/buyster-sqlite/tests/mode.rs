//! The store's file holds phone numbers and bank accounts: created readable and writable by
//! its owner only, and so are the write-ahead log and the shared memory SQLite makes beside it.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use buyster::{Key, Store, Write};
use buyster_sqlite::SqliteStore;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_and_its_log_and_shared_memory_are_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    let key = Key::for_testing("payment/a");
    store
        .put(&key, None, Write::new(b"a".to_vec()))
        .await
        .unwrap();
    for ending in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("store.db{ending}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_file_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let key = Key::for_testing("payment/a");
    store
        .put(&key, None, Write::new(b"a".to_vec()))
        .await
        .unwrap();
    assert_eq!(mode(&path), 0o640);
    assert_eq!(mode(&dir.path().join("store.db-wal")), 0o640);
}
