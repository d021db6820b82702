//! The server's files and keys: SQLite files checked whole at start, the key's id kept in the
//! database and checked, files created 0600, a database removed under the server stopping it,
//! and the demo bank's ledger failures told apart from a bank outage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use buyster::SecretKey;
use serde_json::json;

use super::server::keyid::KeyId;
use super::server::{Config, Server, StartError};
use super::support::TestServer;

/// Another key than the one a test's first server made.
const OTHER_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn key(hex: &str) -> SecretKey {
    hex.parse().unwrap()
}

/// Opens a server on the files of `dir` as `adjust` says, without serving.
async fn open_in(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Result<Server, StartError> {
    let mut config = Config::new(dir.join("checkout.db"));
    config.print_sms = false;
    adjust(&mut config);
    Server::open(config).await.map(|(server, _)| server)
}

/// The refusal to open a server on `dir`, as text.
async fn refusal_in(dir: &Path, adjust: impl FnOnce(&mut Config)) -> String {
    match open_in(dir, adjust).await {
        Ok(_) => panic!("the server started"),
        Err(error) => error.to_string(),
    }
}

/// Every file of `dir`, with its length and a hash of its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (usize, u64)> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let mut hasher = DefaultHasher::new();
            bytes.hash(&mut hasher);
            (path, (bytes.len(), hasher.finish()))
        })
        .collect()
}

/// A server on `dir` that took one payment to its code, then stopped, its files at rest (the
/// log checkpointed into each database); the payment's id.
async fn served_once(dir: &Path) -> String {
    let server = TestServer::start_in(dir, |_| {}).await;
    let (id, _) = server.sent(4990).await;
    server.finish().await;
    for name in ["checkout.db", "checkout.bank.db", "checkout.index.db"] {
        let connection = rusqlite::Connection::open(dir.join(name)).unwrap();
        connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    id
}

/// The id of the key in the key file of `dir`.
fn file_key_id(dir: &Path) -> KeyId {
    let text = std::fs::read_to_string(dir.join("checkout.key")).unwrap();
    KeyId::of(&key(text.trim()))
}

#[test]
fn the_key_id_is_hmac_sha256_of_a_fixed_label_truncated_to_8_bytes() {
    // Computed apart: python3 -c "import hmac,hashlib; print(hmac.new(bytes(32),
    // b'buyster checkout: key id v1', hashlib.sha256).hexdigest()[:16])"
    let zero = key(&"0".repeat(64));
    assert_eq!(KeyId::of(&zero).to_string(), "d38b3d6d66526057");
    assert_ne!(KeyId::of(&key(OTHER_KEY)), KeyId::of(&zero));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_refuses_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bank = dir.path().join("checkout.bank.db");
    std::fs::write(&bank, "bank ledger, not a database\n".repeat(200)).unwrap();
    let before = snapshot(dir.path());

    let refusal = refusal_in(dir.path(), |_| {}).await;
    assert!(
        refusal.starts_with(&format!("{} is not an SQLite database", bank.display())),
        "{refusal}"
    );
    // Nothing made or changed: no key file, no other database, the file as it was.
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_page_refuses_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    served_once(dir.path()).await;
    let store = dir.path().join("checkout.db");
    let mut bytes = std::fs::read(&store).unwrap();
    let page = 4096;
    assert!(bytes.len() >= 3 * page, "{} bytes", bytes.len());
    // Page 2, the root of the first table made (`records`), overwritten.
    bytes[page..2 * page].fill(0xA5);
    std::fs::write(&store, &bytes).unwrap();
    let before = snapshot(dir.path());

    let refusal = refusal_in(dir.path(), |_| {}).await;
    assert!(
        refusal.starts_with(&format!("{} is damaged: ", store.display())),
        "{refusal}"
    );
    assert!(
        refusal.contains("restore the file from a backup"),
        "{refusal}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_key_over_the_database_refuses_with_both_ids_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    served_once(dir.path()).await;
    let expected = file_key_id(dir.path());
    let given = KeyId::of(&key(OTHER_KEY));
    let before = snapshot(dir.path());

    let refusal = refusal_in(dir.path(), |config| {
        config.master_key = Some(key(OTHER_KEY));
    })
    .await;
    let store = dir.path().join("checkout.db");
    assert!(
        refusal.starts_with(&format!(
            "the database {} expects the master key with id {expected}, and the key given has \
             id {given}",
            store.display()
        )),
        "{refusal}"
    );
    assert!(refusal.contains("--reinitialise"), "{refusal}");
    assert_eq!(snapshot(dir.path()), before);

    // The key file lost: the key generated in its place is refused the same, and not kept.
    std::fs::remove_file(dir.path().join("checkout.key")).unwrap();
    let refusal = refusal_in(dir.path(), |_| {}).await;
    assert!(
        refusal.contains(&format!("expects the master key with id {expected}")),
        "{refusal}"
    );
    assert!(!dir.path().join("checkout.key").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_without_a_key_id_refuse_start_up() {
    let dir = tempfile::tempdir().unwrap();
    served_once(dir.path()).await;
    let connection = rusqlite::Connection::open(dir.path().join("checkout.db")).unwrap();
    connection.execute("DROP TABLE checkout_key", []).unwrap();
    drop(connection);
    let before = snapshot(dir.path());

    let refusal = refusal_in(dir.path(), |_| {}).await;
    let given = file_key_id(dir.path());
    assert!(
        refusal.contains("holds records but no key id")
            && refusal.contains(&format!("the key given has id {given}")),
        "{refusal}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_starts_over_with_the_new_key_and_keeps_the_old_files_aside() {
    let dir = tempfile::tempdir().unwrap();
    let old_payment = served_once(dir.path()).await;
    let old = file_key_id(dir.path());
    let before = snapshot(dir.path());

    let server = TestServer::start_in(dir.path(), |config| {
        config.master_key = Some(key(OTHER_KEY));
        config.reinitialise = true;
    })
    .await;
    server
        .get(&format!("/api/payments/{old_payment}"))
        .await
        .expect(404, Some("unknown_payment"));
    let (id, code) = server.sent(4990).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(200, None)
        .state("confirmed");
    server.finish().await;

    // Each old file is kept whole under a name with the old key's id.
    for name in ["checkout.db", "checkout.bank.db", "checkout.index.db"] {
        let original = dir.path().join(name);
        let aside = dir.path().join(format!("{name}.key-{old}"));
        let bytes = std::fs::read(&aside).unwrap();
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&bytes, &mut hasher);
        let kept = (bytes.len(), std::hash::Hasher::finish(&hasher));
        assert_eq!(kept, before[&original], "{name}");
    }
    let aside = rusqlite::Connection::open(dir.path().join(format!("checkout.db.key-{old}")));
    let kept: String = aside
        .unwrap()
        .query_row("SELECT key_id FROM checkout_key", [], |row| row.get(0))
        .unwrap();
    assert_eq!(kept, old.to_string());

    // The flag is for one start: left on, it is refused, nothing moved.
    let given = KeyId::of(&key(OTHER_KEY));
    let refusal = refusal_in(dir.path(), |config| {
        config.master_key = Some(key(OTHER_KEY));
        config.reinitialise = true;
    })
    .await;
    assert!(
        refusal.contains(&format!("already holds this key's id {given}")),
        "{refusal}"
    );
    assert!(dir.path().join("checkout.db").exists());
    let again = TestServer::start_in(dir.path(), |config| {
        config.master_key = Some(key(OTHER_KEY));
    })
    .await;
    again
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("confirmed");
    again.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_file_present_and_the_database_gone_refuses_start_up() {
    let dir = tempfile::tempdir().unwrap();
    served_once(dir.path()).await;
    let store = dir.path().join("checkout.db");
    std::fs::remove_file(&store).unwrap();
    let before = snapshot(dir.path());

    let refusal = refusal_in(dir.path(), |_| {}).await;
    let given = file_key_id(dir.path());
    assert!(
        refusal.starts_with(&format!(
            "the key file {} (key id {given}) was made with a database, but the database {} is \
             missing or holds no records",
            dir.path().join("checkout.key").display(),
            store.display()
        )),
        "{refusal}"
    );
    assert_eq!(snapshot(dir.path()), before);

    // An empty file in its place is no better.
    std::fs::write(&store, b"").unwrap();
    let refusal = refusal_in(dir.path(), |_| {}).await;
    assert!(
        refusal.contains("is missing or holds no records"),
        "{refusal}"
    );

    // The flag starts a new database with the key.
    let server = TestServer::start_in(dir.path(), |config| config.reinitialise = true).await;
    let id = server.create(4990, super::support::PHONE).await;
    server.finish().await;
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("initiated");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_from_the_environment_and_no_database_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("checkout.db"));
    config.print_sms = false;
    config.master_key = Some(key(OTHER_KEY));
    let (server, origins) = Server::open(config).await.unwrap();
    assert!(origins.key_check.new_database);
    assert_eq!(origins.key_check.key_id, KeyId::of(&key(OTHER_KEY)));
    assert!(origins.key_check.moved.is_empty());
    assert!(!dir.path().join("checkout.key").exists());
    drop(server);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_databases_and_their_logs_are_created_0600() {
    use std::os::unix::fs::PermissionsExt;

    let server = TestServer::start().await;
    let (id, code) = server.sent(4990).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(200, None);
    for name in ["checkout.db", "checkout.bank.db", "checkout.index.db"] {
        for ending in ["", "-wal", "-shm"] {
            let path = server.dir.join(format!("{name}{ending}"));
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }
    server.finish().await;
}

/// A server on `dir` watching its files every 20 ms, served until it stops by itself; what
/// `serve` answered.
async fn serve_until_stopped(dir: &Path, meanwhile: impl FnOnce(&Path)) -> std::io::Result<()> {
    let server = open_in(dir, |config| {
        config.watch_every = Duration::from_millis(20);
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving = tokio::spawn(server.serve(listener, std::future::pending()));
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(!serving.is_finished(), "stopped with its files in place");
    meanwhile(dir);
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("still serving")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_removed_while_serving_stops_the_server_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("checkout.db");
    let served = serve_until_stopped(dir.path(), |_| std::fs::remove_file(&store).unwrap()).await;
    let error = served.unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "the database file {} was removed",
            store.display()
        )),
        "{error}"
    );
    // Started again, it refuses: the key file says a database was made.
    let refusal = refusal_in(dir.path(), |_| {}).await;
    assert!(
        refusal.contains("is missing or holds no records"),
        "{refusal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_replaced_while_serving_stops_the_server_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("checkout.index.db");
    let served = serve_until_stopped(dir.path(), |dir| {
        let copy = dir.join("copy.db");
        std::fs::copy(&index, &copy).unwrap();
        std::fs::rename(&copy, &index).unwrap();
    })
    .await;
    let error = served.unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "the database file {} was replaced by another file",
            index.display()
        )),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_be_opened_refuses_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("checkout.index.db");
    std::fs::create_dir(&index).unwrap();
    let before = snapshot_names(dir.path());

    let refusal = refusal_in(dir.path(), |_| {}).await;
    assert!(
        refusal.starts_with(&format!("{} cannot be read: ", index.display())),
        "{refusal}"
    );
    assert_eq!(snapshot_names(dir.path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_over_moves_nothing_when_a_name_aside_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    served_once(dir.path()).await;
    let old = file_key_id(dir.path());
    let taken = dir.path().join(format!("checkout.index.db.key-{old}"));
    std::fs::write(&taken, b"kept from before").unwrap();
    let before = snapshot(dir.path());

    let refusal = refusal_in(dir.path(), |config| {
        config.master_key = Some(key(OTHER_KEY));
        config.reinitialise = true;
    })
    .await;
    assert_eq!(
        refusal,
        format!(
            "{} already exists; nothing was moved: move it away and start again",
            taken.display()
        )
    );
    assert_eq!(snapshot(dir.path()), before);
}

/// The names in `dir`, directories included.
fn snapshot_names(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    names.sort();
    names
}

mod ledger;
mod postgres;
mod process;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_from_the_environment_and_the_store_gone_beside_its_ledger_refuses_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let with_key = |config: &mut Config| config.master_key = Some(key(OTHER_KEY));
    let server = TestServer::start_in(dir.path(), with_key).await;
    server.create(4990, super::support::PHONE).await;
    server.finish().await;
    let store = dir.path().join("checkout.db");
    std::fs::remove_file(&store).unwrap();
    let before = snapshot(dir.path());

    let refusal = refusal_in(dir.path(), with_key).await;
    assert!(
        refusal.starts_with(&format!(
            "the database {} is missing or holds no records, but the bank's ledger and the \
             shop's index beside it were made with it",
            store.display()
        )),
        "{refusal}"
    );
    assert_eq!(snapshot(dir.path()), before);
}
