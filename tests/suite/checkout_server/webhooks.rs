//! Webhooks: the engine's durable events POSTed to a receiver, signed, in order, at least
//! once, across failures of the receiver and restarts of the server.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::receiver::{Plan, Received, Receiver};
use super::server::config::Config;
use super::server::webhook::{
    DEFAULT_TOLERANCE, Schedule, WebhookError, WebhookSecret, signature_header, verify_webhook,
};
use super::support::{PIN, TestServer, WRONG_PIN};

const SECRET: &str = "whsec_suite_5f0c2a9e71d84b36a0e4c1f97b2d6e38";

fn kinds(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_owned())
        .collect()
}

/// The events of a checkout with a wrong PIN first, in the order of its changes.
const CHECKOUT: [&str; 5] = [
    "initiated",
    "pin_rejected",
    "pin_verified",
    "authorized",
    "confirmed",
];

/// Webhooks to `url` with the suite's secret, retried quickly.
fn webhooks_to(url: &str) -> impl FnOnce(&mut Config) {
    let url = url.to_owned();
    move |config| {
        config.webhook_url = Some(url);
        config.webhook_secret = Some(SECRET.parse().unwrap());
        config.webhook_schedule = Schedule {
            every: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
        };
        config.webhook_timeout = Duration::from_millis(300);
    }
}

/// A whole checkout with a wrong PIN first; the payment's id.
async fn checkout(server: &TestServer) -> String {
    let id = server.create(4990, super::support::PHONE).await;
    server
        .post(
            &format!("/api/payments/{id}/pin"),
            json!({ "pin": WRONG_PIN }),
        )
        .await
        .expect(422, Some("wrong_pin"));
    server
        .post(&format!("/api/payments/{id}/pin"), json!({ "pin": PIN }))
        .await
        .expect(200, None);
    let code = server.code_for(&id).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(200, None)
        .state("confirmed");
    id
}

#[track_caller]
fn assert_signed(received: &Received, secret: &WebhookSecret) {
    assert_eq!(
        verify_webhook(
            secret,
            &received.signature,
            &received.body,
            SystemTime::now(),
            DEFAULT_TOLERANCE
        ),
        Ok(()),
        "{received:?}"
    );
    assert_eq!(received.json()["id"], received.event_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_gets_every_event_of_a_checkout_in_order_signed() {
    let receiver = Receiver::start(Plan::default()).await;
    let server = TestServer::start_with(webhooks_to(&receiver.url)).await;
    let id = checkout(&server).await;
    let events = receiver.wait_for(&id, CHECKOUT.len()).await;
    assert_eq!(kinds(&events), CHECKOUT);
    let secret: WebhookSecret = SECRET.parse().unwrap();
    let taken = receiver.taken();
    // The demo buyer's enrollment, at the first start, came first.
    assert_eq!(kinds(&taken[..1]), ["enrolled"]);
    for received in &taken {
        assert_signed(received, &secret);
        let body = String::from_utf8(received.body.clone()).unwrap();
        assert!(!body.contains("612345678") && !body.contains(PIN), "{body}");
    }
    let ids: BTreeSet<_> = taken.iter().map(|r| r.event_id.clone()).collect();
    assert_eq!(ids.len(), taken.len(), "no event twice when all goes well");
    assert_eq!(
        events[0].json()["amount"],
        json!({ "minor_units": 4990, "currency": "EUR" })
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_webhook_refuses_a_tampered_body_a_wrong_secret_and_an_old_time() {
    let secret: WebhookSecret = SECRET.parse().unwrap();
    let body = br#"{"id":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","event":"confirmed"}"#;
    let now_secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
    let header = signature_header(&secret, now_secs, body);
    let check = |secret: &WebhookSecret, header: &str, body: &[u8], now: SystemTime| {
        verify_webhook(secret, header, body, now, DEFAULT_TOLERANCE)
    };
    assert_eq!(check(&secret, &header, body, now), Ok(()));

    let tampered = br#"{"id":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","event":"cancelled"}"#;
    assert_eq!(
        check(&secret, &header, tampered, now),
        Err(WebhookError::BadSignature)
    );
    let wrong: WebhookSecret = "whsec_another_secret_of_the_right_length_00"
        .parse()
        .unwrap();
    assert_eq!(
        check(&wrong, &header, body, now),
        Err(WebhookError::BadSignature)
    );
    // The time is signed: moved forward, the signature no longer matches.
    let moved = header.replacen(&format!("t={now_secs}"), &format!("t={}", now_secs + 1), 1);
    assert_eq!(
        check(&secret, &moved, body, now),
        Err(WebhookError::BadSignature)
    );
    // A delivery signed six minutes ago, replayed now; and one from six minutes ahead.
    let old = signature_header(&secret, now_secs - 360, body);
    assert_eq!(
        check(&secret, &old, body, now),
        Err(WebhookError::OutsideWindow { seconds_off: 360 })
    );
    let ahead = signature_header(&secret, now_secs + 360, body);
    assert_eq!(
        check(&secret, &ahead, body, now),
        Err(WebhookError::OutsideWindow { seconds_off: 360 })
    );
    // Within the window, and at its edge.
    let edge = signature_header(&secret, now_secs - 300, body);
    assert_eq!(check(&secret, &edge, body, now), Ok(()));
    assert_eq!(
        check(&secret, "v1=00", body, now),
        Err(WebhookError::MalformedHeader)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_the_events_later_in_order_at_least_once() {
    // One request held past the sender's timeout, then six answered 500.
    let plan = Plan {
        hang: AtomicUsize::new(1),
        fail: AtomicUsize::new(6),
    };
    let receiver = Receiver::start(plan).await;
    let server = TestServer::start_with(webhooks_to(&receiver.url)).await;
    let id = checkout(&server).await;
    let events = receiver.wait_for(&id, CHECKOUT.len()).await;
    assert_eq!(receiver.plan.fail.load(Ordering::SeqCst), 0);
    assert_eq!(receiver.plan.hang.load(Ordering::SeqCst), 0);
    let secret: WebhookSecret = SECRET.parse().unwrap();
    let all = receiver.all();
    assert!(all.len() >= 7 + 1 + CHECKOUT.len(), "{all:#?}");
    // Each id's first taking, in the order of the changes: the outbox's order kept.
    let mut first_taken: Vec<String> = Vec::new();
    for received in receiver.taken() {
        if !first_taken.contains(&received.event_id) {
            first_taken.push(received.event_id.clone());
        }
    }
    let expected: Vec<String> = events.iter().map(|r| r.event_id.clone()).collect();
    let of_payment: Vec<String> = first_taken
        .iter()
        .filter(|id| expected.contains(id))
        .cloned()
        .collect();
    assert_eq!(of_payment, expected);
    assert_eq!(kinds(&events), CHECKOUT);
    // Every attempt, refused or not, was one event under its id: the same body each time.
    for attempt in &all {
        let taken = all
            .iter()
            .find(|r| r.event_id == attempt.event_id && r.answered == 200)
            .expect("an event refused was taken later");
        assert_eq!(attempt.body, taken.body);
        assert_eq!(attempt.json()["id"], attempt.event_id.as_str());
        assert_eq!(
            verify_webhook(
                &secret,
                &attempt.signature,
                &attempt.body,
                SystemTime::now(),
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }
    // Nothing was taken before an event refused ahead of it: no attempt answered 200 while
    // an earlier event still waited.
    let mut seen_taken = BTreeSet::new();
    for attempt in &all {
        if attempt.answered == 200 {
            seen_taken.insert(attempt.event_id.clone());
        } else {
            assert!(
                !seen_taken.contains(&attempt.event_id),
                "{attempt:?} after its taking"
            );
        }
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_before_a_restart_are_delivered_after_it() {
    let dir = tempfile::tempdir().unwrap();
    // No one listens there: every delivery fails.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks/buyster", listener.local_addr().unwrap())
    };
    let first = TestServer::start_in(dir.path(), |config| {
        webhooks_to(&closed)(config);
        // The secret from its file, made at this first start.
        config.webhook_secret = None;
    })
    .await;
    let id = checkout(&first).await;
    first.finish().await;
    let secret_file = dir.path().join("checkout.webhook.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let secret: WebhookSecret = std::fs::read_to_string(&secret_file)
        .unwrap()
        .parse()
        .unwrap();

    let receiver = Receiver::start(Plan::default()).await;
    let second = TestServer::start_in(dir.path(), |config| {
        webhooks_to(&receiver.url)(config);
        config.webhook_secret = None;
    })
    .await;
    let events = receiver.wait_for(&id, CHECKOUT.len()).await;
    assert_eq!(kinds(&events), CHECKOUT);
    assert_eq!(kinds(&receiver.taken()[..1]), ["enrolled"]);
    for received in receiver.taken() {
        assert_signed(&received, &secret);
    }
    second.finish().await;
}
