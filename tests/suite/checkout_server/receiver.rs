//! A merchant's webhook endpoint for the tests: a tiny axum server on a free port that
//! records every request, and can be told to hold or refuse the next ones.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub event_id: String,
    pub signature: String,
    pub body: Vec<u8>,
    /// What the receiver answered: 200, 500, or 0 when it never answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the receiver does with the requests to come.
#[derive(Default)]
pub struct Plan {
    /// Requests left to hold without answering, longer than the sender's timeout.
    pub hang: AtomicUsize,
    /// Requests left to answer 500.
    pub fail: AtomicUsize,
}

/// A merchant's webhook endpoint on a free port, recording every request.
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    pub plan: Arc<Plan>,
}

type Shared = (Arc<Mutex<Vec<Received>>>, Arc<Plan>);

fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

async fn receive(State((got, plan)): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let mut received = Received {
        event_id: header("buyster-event-id"),
        signature: header("buyster-signature"),
        body: body.to_vec(),
        answered: 0,
    };
    if take_one(&plan.hang) {
        got.lock().unwrap().push(received);
        tokio::time::sleep(Duration::from_secs(30)).await;
        return StatusCode::OK;
    }
    let status = if take_one(&plan.fail) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    received.answered = status.as_u16();
    got.lock().unwrap().push(received);
    status
}

impl Receiver {
    pub async fn start(plan: Plan) -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(plan);
        let router = Router::new()
            .route("/hooks/buyster", post(receive))
            .with_state((Arc::clone(&got), Arc::clone(&plan)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/buyster", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, got, plan }
    }

    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The events taken (answered 200), in the order they were taken.
    pub fn taken(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.answered == 200)
            .collect()
    }

    /// Waits until the events taken include `count` of payment `id`.
    pub async fn wait_for(&self, id: &str, count: usize) -> Vec<Received> {
        for _ in 0..400 {
            let of_payment = of_payment(&self.taken(), id);
            if of_payment.len() >= count {
                return of_payment;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the receiver got {:#?}", self.all());
    }
}

/// The requests of `received` about payment `id`.
pub fn of_payment(received: &[Received], id: &str) -> Vec<Received> {
    received
        .iter()
        .filter(|r| r.json()["payment"] == id)
        .cloned()
        .collect()
}
