//! The demo bank's ledger failing under the server: the buyer is told the server failed, not
//! the bank; the payment stays authorized; repaired, recovery settles it with one debit.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::super::support::TestServer;

/// Makes every new row of `bank_ledger` fail, as a disk that refuses writes would.
pub(super) const REFUSE: &str = "CREATE TRIGGER refuse_ledger BEFORE INSERT ON bank_ledger
    BEGIN SELECT RAISE(ABORT, 'disk I/O refused'); END;";
const REPAIR: &str = "DROP TRIGGER refuse_ledger";

fn on_the_ledger(server: &TestServer, sql: &str) {
    on_the_ledger_at(&server.dir.join("checkout.bank.db"), sql);
}

/// Runs `sql` on the ledger's file at `path`, beside the server's own connection.
pub(super) fn on_the_ledger_at(path: &Path, sql: &str) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection.execute_batch(sql).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_failure_is_told_apart_and_the_payment_settled_once_after_repair() {
    let server = TestServer::start_with(|config| {
        config.recovery_every = Duration::from_secs(3600);
    })
    .await;
    let app = server.server.app();
    let delay = app.policy().recovery_delay;
    let (id, code) = server.sent(4990).await;
    on_the_ledger(&server, REFUSE);

    let answer = server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await;
    answer
        .expect(500, Some("storage_failed"))
        .state("authorized");
    assert!(
        !answer.field("message").contains("will be settled"),
        "{}",
        answer.text
    );
    assert!(answer.headers.get("retry-after").is_none());
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("authorized");
    assert!(server.ledger(&id).await.is_empty());
    assert!(app.bank.ledger_failed(&id));
    assert_eq!(app.bank.take_ledger_failures(), 1);

    // Recovery meets the same failure: the payment is postponed, still authorized, counted.
    server.advance(delay + Duration::from_secs(1));
    let round = app.recover_due(10).await.unwrap();
    assert_eq!(
        (round.examined, round.finished, round.postponed),
        (1, 0, 1),
        "{round:?}"
    );
    assert_eq!(
        app.bank.take_ledger_failures(),
        0,
        "the round reported its count"
    );
    assert!(server.ledger(&id).await.is_empty());
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("authorized");

    // Repaired: the next round settles it, one debit, one call that reached the ledger.
    on_the_ledger(&server, REPAIR);
    server.advance(delay + Duration::from_secs(1));
    let round = app.recover_due(10).await.unwrap();
    assert_eq!((round.examined, round.finished), (1, 1), "{round:?}");
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("confirmed");
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 1)]);
    assert!(!app.bank.ledger_failed(&id));
    server.advance(delay + Duration::from_secs(1));
    assert_eq!(app.recover_due(10).await.unwrap().examined, 0);
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 1)]);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_outage_is_still_told_as_one() {
    let server = TestServer::start_with(|config| {
        config.recovery_every = Duration::from_secs(3600);
    })
    .await;
    let (id, code) = server.sent(super::super::server::bank::OUTAGE_AMOUNT).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(503, Some("bank_unavailable"))
        .state("authorized");
    assert!(!server.server.app().bank.ledger_failed(&id));
    assert_eq!(server.server.app().bank.take_ledger_failures(), 0);
    server.finish().await;
}

/// The value of the hidden field `name` of the page's form.
fn hidden(text: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = text.find(&marker).expect("no such field in the form") + marker.len();
    text[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_page_tells_a_ledger_failure_as_the_server_s() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let server = TestServer::start_with(|config| {
        config.recovery_every = Duration::from_secs(3600);
    })
    .await;
    let page = server.get("/checkout").await;
    let set_cookie = page.headers["set-cookie"].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let (csrf, order) = (hidden(&page.text, "csrf"), hidden(&page.text, "order"));
    let form = format!(
        "csrf={csrf}&order={order}&phone=0612345678&pin={}",
        super::super::support::PIN
    );
    let started = server
        .post_raw("/checkout", Some(FORM), &form, Some(&cookie))
        .await;
    assert_eq!(started.status, 303, "{}", started.text);
    let location = started.headers["location"].to_str().unwrap().to_owned();
    let id = location.trim_start_matches("/payments/").to_owned();
    let code = server.code_for(&id).await;
    on_the_ledger(&server, REFUSE);

    let answer = server
        .post_raw(
            &format!("{location}/code"),
            Some(FORM),
            &format!("csrf={csrf}&code={code}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(answer.status, 500, "{}", answer.text);
    assert!(
        answer.text.contains("Une erreur de notre serveur"),
        "{}",
        answer.text
    );
    assert!(!answer.text.contains("Votre banque"), "{}", answer.text);
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("authorized");
    assert!(server.ledger(&id).await.is_empty());
    server.finish().await;
}
