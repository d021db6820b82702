//! The recovery task on the engine's due index: what is due is finished in due order, however
//! many unfinished payments wait behind it.

use std::time::Duration;

use serde_json::json;

use super::server::bank::OUTAGE_AMOUNT;
use super::support::{PHONE, TestServer};

const ROUND: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_payment_is_settled_in_the_first_round_despite_150_abandoned_ones() {
    // The timer runs once at start, on an empty store; the test drives the rounds itself.
    let server = TestServer::start_with(|config| {
        config.recovery_every = Duration::from_secs(3600);
        // 151 payments for one number from one client, all left open: limits that fit.
        config.limits.payments_per_client = 151;
        config.limits.payments_per_number = 151;
        config.limits.open_payments_per_client = 151;
    })
    .await;
    let app = server.server.app();
    let policy = app.policy().clone();
    let mut abandoned = Vec::new();
    for n in 0..150 {
        let reference = format!("CMD-ABANDONED-{n}");
        abandoned.push(server.create_for(4990, PHONE, &reference).await);
    }
    assert_eq!(abandoned.len(), 150);

    let (id, sent) = server.sent(OUTAGE_AMOUNT).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": sent }))
        .await
        .expect(503, Some("bank_unavailable"))
        .state("authorized");
    let nothing = app.recover_due(ROUND).await.unwrap();
    assert_eq!(nothing.examined, 0, "{nothing:?}");

    server.advance(policy.recovery_delay + Duration::from_secs(1));
    let first = app.recover_due(ROUND).await.unwrap();
    assert_eq!(
        (
            first.examined,
            first.finished,
            first.postponed,
            first.errors
        ),
        (1, 1, 0, 0),
        "{first:?}"
    );
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("confirmed");
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 2)]);

    // The abandoned payments fall due at their expiry: a full round, then the rest.
    server.advance(policy.payment_ttl);
    let full = app.recover_due(ROUND).await.unwrap();
    assert!(full.reached(ROUND), "{full:?}");
    assert_eq!((full.finished, full.errors), (ROUND, 0), "{full:?}");
    let rest = app.recover_due(ROUND).await.unwrap();
    assert_eq!((rest.examined, rest.finished), (50, 50), "{rest:?}");
    assert_eq!(app.recover_due(ROUND).await.unwrap().examined, 0);
    for id in &abandoned {
        let shown = server.get(&format!("/api/payments/{id}")).await;
        shown.expect(200, None).state("failed");
        assert_eq!(shown.field("failure"), "expired");
    }
    assert_eq!(server.ledger(&id).await, [("debited".to_owned(), 2)]);
    server.finish().await;
}
