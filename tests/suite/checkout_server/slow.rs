//! Slow and idle clients over raw TCP: each bound of `server/http` closes what it bounds, the
//! connection cap makes a client wait rather than fail, and the binary on a taken port stops
//! before it creates a file.
//!
//! The bounds are shortened to [`BOUND`] so that the tests run in a few seconds.
//! `router.rs`: what the accept loop and the middleware give any router (the peer's address,
//! the handler's bound); `binary.rs`: the example as a process; `flags.rs`: the bounds'
//! settings.

mod binary;
mod flags;
mod router;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::server::config::Config;
use super::server::seed;
use super::support::{PHONE, TestServer};

/// Every bound of the connections, in these tests.
const BOUND: Duration = Duration::from_millis(300);
/// How long past a bound the server may take to act on it, on a loaded machine.
const SLACK: Duration = Duration::from_secs(3);

fn short_bounds(config: &mut Config) {
    config.http.header_timeout = BOUND;
    config.http.body_timeout = BOUND;
}

async fn start(max_connections: u32) -> TestServer {
    TestServer::start_with(|config| {
        short_bounds(config);
        config.http.max_connections = max_connections;
    })
    .await
}

fn addr(server: &TestServer) -> SocketAddr {
    server.url.trim_start_matches("http://").parse().unwrap()
}

/// The payment records in the server's store.
fn payments_stored(server: &TestServer) -> u32 {
    let store = rusqlite::Connection::open(server.dir.join("checkout.db")).unwrap();
    store
        .query_row(
            "SELECT count(*) FROM records WHERE key LIKE 'payment/%'",
            [],
            |row| row.get(0),
        )
        .unwrap()
}

fn order_body(reference: &str) -> String {
    json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": 4990,
        "currency": "EUR",
        "reference": reference,
        "phone": PHONE,
    })
    .to_string()
}

fn create_head(length: usize, extra: &str) -> String {
    format!(
        "POST /api/payments HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n{extra}\r\n"
    )
}

/// Reads until the server closes the connection (end of stream or reset); what it sent and
/// when it closed, counted from `since`. Fails if it is still open after `since + limit`.
async fn read_until_closed(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
) -> (String, Duration) {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = (since + limit).saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => panic!(
                "still open after {limit:?}; read {:?}",
                String::from_utf8_lossy(&seen)
            ),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(read)) => seen.extend_from_slice(&buffer[..read]),
        }
    }
    (String::from_utf8_lossy(&seen).into_owned(), since.elapsed())
}

/// Asserts that a connection was closed after the header bound (not before), with nothing or
/// a 408 answered.
#[track_caller]
fn assert_closed_by_the_header_bound(answered: &str, after: Duration) {
    assert!(
        after >= BOUND - Duration::from_millis(20),
        "closed after {after:?}"
    );
    assert!(after < BOUND + SLACK, "closed after {after:?}");
    assert!(
        answered.is_empty() || answered.starts_with("HTTP/1.1 408"),
        "{answered:?}"
    );
}

/// One answer read off `stream`: the head as text, and the body (framed by Content-Length).
async fn read_answer(stream: &mut TcpStream) -> (String, Value) {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let end_of_head = loop {
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = tokio::time::timeout(SLACK, stream.read(&mut buffer))
            .await
            .expect("no answer")
            .unwrap();
        assert!(
            read > 0,
            "closed mid-answer: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8(seen[..end_of_head].to_vec()).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .map_or(0, |value| value.trim().parse().unwrap());
    let mut body = seen[end_of_head..].to_vec();
    while body.len() < length {
        let read = tokio::time::timeout(SLACK, stream.read(&mut buffer))
            .await
            .expect("no body")
            .unwrap();
        assert!(read > 0, "closed mid-body");
        body.extend_from_slice(&buffer[..read]);
    }
    (head, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[track_caller]
fn assert_error(head: &str, body: &Value, status: &str, error: &str) {
    assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["message"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_bound() {
    let server = start(16).await;
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    let (answered, after) = read_until_closed(&mut silent, Instant::now(), BOUND + SLACK).await;
    assert_closed_by_the_header_bound(&answered, after);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_sent_in_part_or_a_byte_at_a_time_is_closed_after_the_header_bound() {
    let server = start(16).await;
    let mut partial = TcpStream::connect(addr(&server)).await.unwrap();
    let since = Instant::now();
    partial
        .write_all(b"POST /api/payments HTTP/1.1\r\nHost: shop\r\nContent-Ty")
        .await
        .unwrap();
    let (answered, after) = read_until_closed(&mut partial, since, BOUND + SLACK).await;
    assert_closed_by_the_header_bound(&answered, after);

    // A byte every 20 ms: each read is quick, the head as a whole is not.
    let dripping = TcpStream::connect(addr(&server)).await.unwrap();
    let since = Instant::now();
    let (mut reader, mut writer) = dripping.into_split();
    let drip = tokio::spawn(async move {
        for byte in "GET / HTTP/1.1\r\nHost: shop\r\nX-Padding: "
            .bytes()
            .chain(std::iter::repeat(b'a'))
        {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(BOUND + SLACK, reader.read_to_end(&mut seen)).await;
    let after = since.elapsed();
    assert!(closed.is_ok(), "a dripped head kept the connection open");
    assert_closed_by_the_header_bound(&String::from_utf8_lossy(&seen), after);
    drip.await.unwrap();
    assert_eq!(payments_stored(&server), 0);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_408_and_creates_nothing() {
    let server = start(16).await;
    let body = order_body("CMD-SLOW-1");
    let mut slow = TcpStream::connect(addr(&server)).await.unwrap();
    slow.write_all(create_head(body.len(), "").as_bytes())
        .await
        .unwrap();
    // Half the body, then a byte every 50 ms: no read waits long, the body as a whole does.
    let (first, rest) = body.split_at(body.len() / 2);
    slow.write_all(first.as_bytes()).await.unwrap();
    let since = Instant::now();
    let (mut reader, mut writer) = slow.into_split();
    let rest = rest.to_owned();
    let drip = tokio::spawn(async move {
        for byte in rest.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        writer
    });
    let mut seen = Vec::new();
    tokio::time::timeout(BOUND + SLACK, reader.read_to_end(&mut seen))
        .await
        .expect("still open")
        .ok();
    let after = since.elapsed();
    let answered = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        after >= BOUND - Duration::from_millis(20),
        "answered after {after:?}"
    );
    let (head, json) = answered.split_once("\r\n\r\n").unwrap();
    let json: Value = serde_json::from_str(json).unwrap();
    assert_error(head, &json, "408", "request_timeout");
    drop(drip.await.unwrap());
    assert_eq!(payments_stored(&server), 0);
    // The same order sent at speed is made, once.
    server.create_for(4990, PHONE, "CMD-SLOW-1").await;
    assert_eq!(payments_stored(&server), 1);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_bound() {
    let server = start(16).await;
    let mut kept = TcpStream::connect(addr(&server)).await.unwrap();
    let request = b"GET /api/payments/pay_unknown HTTP/1.1\r\nHost: shop\r\n\r\n";
    kept.write_all(request).await.unwrap();
    let (head, body) = read_answer(&mut kept).await;
    assert_error(&head, &body, "404", "unknown_payment");
    // Within the bound the connection is kept, and serves the next request.
    tokio::time::sleep(BOUND / 3).await;
    kept.write_all(request).await.unwrap();
    let (head, _) = read_answer(&mut kept).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (answered, after) = read_until_closed(&mut kept, Instant::now(), BOUND + SLACK).await;
    assert_closed_by_the_header_bound(&answered, after);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_continue_over_the_limit_is_413_before_the_body() {
    let server = start(16).await;
    let mut large = TcpStream::connect(addr(&server)).await.unwrap();
    large
        .write_all(create_head(20_000, "Expect: 100-continue\r\n").as_bytes())
        .await
        .unwrap();
    let (head, body) = read_answer(&mut large).await;
    assert!(!head.contains("100 Continue"), "{head}");
    assert_error(&head, &body, "413", "body_too_large");
    assert_eq!(payments_stored(&server), 0);

    let body = order_body("CMD-SLOW-2");
    let mut small = TcpStream::connect(addr(&server)).await.unwrap();
    small
        .write_all(create_head(body.len(), "Expect: 100-continue\r\n").as_bytes())
        .await
        .unwrap();
    let mut interim = [0u8; 25];
    tokio::time::timeout(SLACK, small.read_exact(&mut interim))
        .await
        .expect("no 100 Continue")
        .unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    small.write_all(body.as_bytes()).await.unwrap();
    let (head, answer) = read_answer(&mut small).await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert_eq!(answer["state"], "initiated", "{answer}");
    assert_eq!(payments_stored(&server), 1);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_413_and_a_broken_one_400() {
    let server = start(16).await;
    let mut chunked = TcpStream::connect(addr(&server)).await.unwrap();
    chunked.write_all(head_chunked().as_bytes()).await.unwrap();
    let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
    for _ in 0..5 {
        if chunked.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let (head, body) = read_answer(&mut chunked).await;
    assert_error(&head, &body, "413", "body_too_large");

    let mut broken = TcpStream::connect(addr(&server)).await.unwrap();
    broken.write_all(head_chunked().as_bytes()).await.unwrap();
    broken.write_all(b"zz\r\n{}\r\n0\r\n\r\n").await.unwrap();
    let (head, body) = read_answer(&mut broken).await;
    assert_error(&head, &body, "400", "malformed_request");
    assert_eq!(payments_stored(&server), 0);
    server.finish().await;
}

fn head_chunked() -> String {
    "POST /api/payments HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
     Transfer-Encoding: chunked\r\n\r\n"
        .to_owned()
}

/// A GET of the shop page on a fresh connection; how long the answer took.
async fn served_within(server: &TestServer, limit: Duration) -> Duration {
    served_on(addr(server), limit).await
}

/// A GET of the shop page on a fresh connection to `addr`; how long the answer took.
async fn served_on(addr: SocketAddr, limit: Duration) -> Duration {
    let since = Instant::now();
    let mut client = tokio::time::timeout(limit, TcpStream::connect(addr))
        .await
        .expect("no connection")
        .unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_answer(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let took = since.elapsed();
    assert!(took < limit, "served after {took:?}");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_at_the_cap_hold_a_client_back_by_the_header_bound_only() {
    const CAP: u32 = 4;
    let server = start(CAP).await;
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    let since = Instant::now();
    // Every slot is held: the client waits in the listening socket's queue until the idle
    // connections are closed, then is served.
    let took = served_within(&server, BOUND + SLACK).await;
    assert!(
        took >= BOUND - Duration::from_millis(100),
        "served after {took:?}, before the held slots were freed"
    );
    for mut socket in idle {
        let (answered, after) = read_until_closed(&mut socket, since, BOUND + SLACK).await;
        assert!(
            answered.is_empty() || answered.starts_with("HTTP/1.1 408"),
            "{answered:?} after {after:?}"
        );
    }
    // Once they are gone, with no wait for a slot.
    served_within(&server, SLACK).await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_more_sockets_than_the_cap_never_stop_the_server() {
    const CAP: u32 = 4;
    let server = start(CAP).await;
    let mut held = Vec::new();
    for index in 0..200 {
        let mut socket = TcpStream::connect(addr(&server)).await.unwrap();
        if index % 2 == 0 {
            socket.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        }
        held.push(socket);
    }
    tokio::time::sleep(BOUND * 3).await;
    drop(held);
    // The queue of dropped sockets drains at once (each read ends at once), and the
    // service answers again.
    served_within(&server, BOUND + SLACK).await;
    served_within(&server, SLACK).await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_idle_connections() {
    let server = TestServer::start_with(|config| {
        config.http.header_timeout = Duration::from_secs(60);
    })
    .await;
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    let mut kept = TcpStream::connect(addr(&server)).await.unwrap();
    kept.write_all(b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_answer(&mut kept).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let since = Instant::now();
    tokio::time::timeout(SLACK, server.finish())
        .await
        .expect("the stop waited for idle connections");
    for socket in [&mut silent, &mut kept] {
        let (answered, _) = read_until_closed(socket, since, SLACK).await;
        assert_eq!(answered, "");
    }
}

/// The answer to a GET whose head is padded to about `size` bytes, on a fresh connection.
async fn padded_head(server: &TestServer, size: usize) -> String {
    let mut client = TcpStream::connect(addr(server)).await.unwrap();
    let head = format!(
        "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(size)
    );
    // The server may close before it has read everything.
    let _ = client.write_all(head.as_bytes()).await;
    let (answered, _) = read_until_closed(&mut client, Instant::now(), SLACK).await;
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_its_limit_is_431() {
    let server = TestServer::start().await;
    assert!(
        padded_head(&server, 60_000)
            .await
            .starts_with("HTTP/1.1 200")
    );
    let answered = padded_head(&server, 70_000).await;
    assert!(answered.starts_with("HTTP/1.1 431"), "{answered}");
    server.finish().await;
    // Below hyper's floor, the floor: 8 KiB.
    let server = TestServer::start_with(|config| config.http.max_head_bytes = 0).await;
    assert!(
        padded_head(&server, 4_000)
            .await
            .starts_with("HTTP/1.1 200")
    );
    let answered = padded_head(&server, 10_000).await;
    assert!(answered.starts_with("HTTP/1.1 431"), "{answered}");
    server.finish().await;
}
