//! The example as a process of its own: what it logs when the bank's ledger fails under it,
//! and how it ends when its database is removed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::super::kill::{Http, checkout_binary, free_addr};
use super::super::server::seed;
use super::super::support::PIN;
use super::ledger::{REFUSE, on_the_ledger_at};

/// The process, killed if the test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_logs_a_ledger_failure_and_stops_with_an_error_when_its_database_goes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("checkout.db");
    let log = dir.path().join("server.log");
    let addr = free_addr();
    let child = Command::new(checkout_binary())
        .args([
            "--addr",
            &addr.to_string(),
            "--db",
            db.to_str().unwrap(),
            "--dev-pages",
        ])
        .env_remove("BUYSTER_MASTER_KEY")
        .env_remove("BUYSTER_POSTGRES_URL")
        .env_remove("CHECKOUT_DEV_PAGES")
        .env_remove("CHECKOUT_REINITIALISE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "no server");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let http = Http::new(&[addr]);
    let order = json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": 4990,
        "currency": "EUR",
        "reference": "CMD-PROCESS-1",
        "phone": seed::BUYER_PHONE,
    });
    let (status, created, text) = http.post("/api/payments", order).await;
    assert_eq!(status, 201, "{text}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _, text) = http
        .post(&format!("/api/payments/{id}/pin"), json!({ "pin": PIN }))
        .await;
    assert_eq!(status, 200, "{text}");
    let code = http.code(&id).await.unwrap();
    on_the_ledger_at(&dir.path().join("checkout.bank.db"), REFUSE);
    let (status, answer, text) = http
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (500, Some("storage_failed")),
        "{text}"
    );

    std::fs::remove_file(&db).unwrap();
    let exit = loop {
        if let Some(exit) = running.0.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(exit.code(), Some(1));

    let logged = std::fs::read_to_string(&log).unwrap();
    let ledger_line = format!(
        "error: bank ledger: the debit of payment {id} failed in the server's storage: sqlite: \
         disk I/O refused;"
    );
    assert_eq!(logged.matches(&ledger_line).count(), 1, "{logged}");
    let gone = format!(
        "error: the database file {} was removed while",
        db.display()
    );
    // Once as it is seen, once as the process ends with it.
    assert_eq!(logged.matches(&gone).count(), 2, "{logged}");
    for secret in [PIN, code.as_str(), "612345678", "30006000011234567890189"] {
        assert!(!logged.contains(secret), "{secret} in {logged}");
    }
}
