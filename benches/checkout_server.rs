//! The checkout server of `examples/checkout` under load, through HTTP: checkouts per second
//! from 1 to 32 concurrent clients on SQLite, the engine's store, the bank's ledger and the
//! index each a file of its own.
//!
//! ```sh
//! cargo bench --bench checkout_server                 # 1, 2, 4, 8, 16 and 32 clients, 5 s each
//! BENCH_SECONDS=20 cargo bench --bench checkout_server
//! BENCH_CLIENTS=1,32 cargo bench --bench checkout_server   # some points only
//! ```
//!
//! Each client runs whole checkouts over one keep-alive connection of its own: `POST
//! /api/payments`, `POST …/pin` (the code is sent), `POST …/code` (the debit). The code is read
//! from the server's development outbox in the same process, as a phone would receive it.
//! Buyers are the demo's (`--demo-buyers 1000`), each client paying for its own in turn, so
//! that no two clients pay for one buyer at once. Printed: checkouts per second, the median and
//! 99th percentile of a checkout, and the server process's CPU time per checkout.

#[allow(
    dead_code,
    unused_imports,
    reason = "the bench uses part of the server's API, and none of its unit tests"
)]
#[path = "../examples/checkout/server/mod.rs"]
mod server;

#[path = "common/load.rs"]
mod load;

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use server::{Config, Server, seed};

const CLIENTS: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// The points to run: `BENCH_CLIENTS`, or [`CLIENTS`].
fn clients() -> Vec<usize> {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| CLIENTS.to_vec())
}
/// Demo buyers besides the first: the most `--demo-buyers` allows.
const BUYERS: u16 = 1000;

type Http = Client<HttpConnector, Full<Bytes>>;

struct Point {
    clients: usize,
    checkouts: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_checkout: Duration,
}

/// The process's CPU time (user and system) so far, from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are the 14th and 15th fields, 12th and 13th after the command.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

async fn call(http: &Http, url: &str, path: &str, body: Value) -> (u16, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = http.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn code_for(server: &Server, id: &str) -> String {
    for _ in 0..1000 {
        let messages = server.app().sms.messages().await.unwrap();
        if let Some(sms) = messages.iter().find(|m| m.payment.to_string() == id) {
            let body = sms.body.as_str();
            let after = &body[body.find("Code ").unwrap() + 5..];
            return after.chars().take_while(char::is_ascii_digit).collect();
        }
        tokio::task::yield_now().await;
    }
    panic!("no SMS for {id}");
}

/// One whole checkout for `phone`.
async fn checkout(server: &Server, http: &Http, url: &str, phone: &str, order: u64) {
    let (status, created) = call(
        http,
        url,
        "/api/payments",
        json!({
            "merchant": seed::MERCHANT_ID,
            "amount_minor": 100,
            "currency": "EUR",
            "reference": format!("BENCH-{order}"),
            "phone": phone,
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, sent) = call(
        http,
        url,
        &format!("/api/payments/{id}/pin"),
        json!({ "pin": seed::BUYER_PIN }),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let code = code_for(server, &id).await;
    let (status, paid) = call(
        http,
        url,
        &format!("/api/payments/{id}/code"),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(
        (status, paid["state"].as_str()),
        (200, Some("confirmed")),
        "{paid}"
    );
}

async fn point(server: &Server, url: &str, clients: usize, seconds: Duration, base: u64) -> Point {
    let started = Instant::now();
    let cpu = cpu_time();
    let tasks: Vec<_> = (0..clients)
        .map(|lane| {
            let (server, url) = (server.clone(), url.to_owned());
            tokio::spawn(async move {
                let http: Http = Client::builder(TokioExecutor::new())
                    .pool_max_idle_per_host(1)
                    .build_http();
                let mut latencies = Vec::new();
                let mut turn = 0usize;
                while started.elapsed() < seconds {
                    // Each client pays for its own buyers: lane, lane + clients, …
                    let buyer = (lane + turn * clients) % usize::from(BUYERS);
                    let phone = seed::extra_buyer(u16::try_from(buyer).unwrap());
                    let order = base + (turn * clients + lane) as u64;
                    let one = Instant::now();
                    checkout(&server, &http, &url, &phone, order).await;
                    latencies.push(one.elapsed());
                    turn += 1;
                }
                latencies
            })
        })
        .collect();
    let load = load::gather(tasks, started).await;
    let cpu = cpu_time().saturating_sub(cpu);
    Point {
        clients,
        checkouts: load.checkouts,
        per_second: load.per_second,
        p50: load.p50,
        p99: load.p99,
        cpu_per_checkout: cpu / u32::try_from(load.checkouts.max(1)).unwrap(),
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("checkout.db"));
    config.print_sms = false;
    config.demo_buyers = BUYERS;
    config.policy = buyster::Policy {
        max_sms_per_number: 100,
        sms_window: Duration::from_secs(60),
        max_per_24_hours: 50_000_000,
        max_per_30_days: 50_000_000,
        ..buyster::Policy::default()
    };
    // Every client is this process, one address: abuse limits that fit the load.
    config.limits = server::limits::Limits {
        payments_per_client: u32::MAX,
        payments_per_number: u32::MAX,
        open_payments_per_client: u32::MAX,
        wrong_pins_per_client: u32::MAX,
        wrong_pin_numbers_per_client: u32::MAX,
        ..server::limits::Limits::default()
    };
    let (server, _) = Server::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server.clone().serve(listener, std::future::pending()));
    let seconds = load::seconds(5);
    println!(
        "\ncheckout server on SQLite, {} s per point",
        seconds.as_secs()
    );
    println!("| clients | checkouts | checkouts/s | p50 | p99 | CPU per checkout |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut base = 0;
    for clients in clients() {
        let p = point(&server, &url, clients, seconds, base).await;
        base += p.checkouts as u64 + 1_000;
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
            p.clients,
            p.checkouts,
            p.per_second,
            p.p50.as_secs_f64() * 1e3,
            p.p99.as_secs_f64() * 1e3,
            p.cpu_per_checkout.as_secs_f64() * 1e3,
        );
    }
}
