//! A battery of malformed requests against every route, as an attacker or a broken client
//! would send them: no answer is ever a 5xx, and none creates a payment or moves one.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::server::seed;
use super::support::{PHONE, TestServer};

/// Values that are wrong for some field, or for every field.
fn odd_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(""),
        json!(" "),
        json!("\u{0}"),
        json!("\u{202e}4990"),
        json!("٤٩٩٠"),
        json!("0612345678\u{0}"),
        json!("x".repeat(10_000)),
        json!("../../etc/passwd"),
        json!("<script>alert(1)</script>"),
        json!("'; DROP TABLE bank_ledger; --"),
        json!("%00%ff"),
        json!("🙂"),
        json!([]),
        json!([1, 2]),
        json!({}),
        json!({"nested": {"deeper": [1, {"x": null}]}}),
    ]
}

/// Raw bodies that are not the JSON object a route wants.
fn odd_bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "",
        " ",
        "{",
        "}",
        "[]",
        "null",
        "\"text\"",
        "{\"a\":}",
        "{\"a\" 1}",
        "{'a': 1}",
        "{\"amount_minor\": 1e999}",
        "{\"amount_minor\": 0x10}",
        "{\"amount_minor\": NaN}",
        "{\"pin\": \"\\ud800\"}",
        "{\"code\": \"1\\u0000\"}",
    ]
    .iter()
    .map(|text| text.as_bytes().to_vec())
    .collect();
    bodies.push(vec![0xff, 0xfe, 0x00, 0x7b]);
    bodies.push(b"{\"pin\": \"\xc3\x28\"}".to_vec());
    // Nesting deeper than the parser's recursion limit.
    bodies.push(format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes());
    bodies.push(format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200)).into_bytes());
    // Just under and over the body limit.
    bodies.push(format!("{{\"pin\": \"{}\"}}", "1".repeat(16 * 1024 - 12)).into_bytes());
    bodies.push(format!("{{\"pin\": \"{}\"}}", "1".repeat(64 * 1024)).into_bytes());
    bodies
}

struct Raw {
    url: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Raw {
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> u16 {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.url));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let text = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status < 500,
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&text)
        );
        status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_malformed_request_is_a_server_error() {
    let server = TestServer::start().await;
    let raw = Raw {
        url: server.url.clone(),
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let id = server.create(4990, PHONE).await;
    let good = json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": 4990,
        "currency": "EUR",
        "reference": "CMD-BATTERY",
        "phone": PHONE,
    });
    let mut sent = 0;
    // Every field of a new payment, each odd value in turn.
    for field in [
        "merchant",
        "amount_minor",
        "currency",
        "reference",
        "phone",
        "channel",
    ] {
        for value in odd_values() {
            let mut body = good.clone();
            body[field] = value;
            let status = raw
                .send(
                    Method::POST,
                    "/api/payments",
                    Some("application/json"),
                    body.to_string().into_bytes(),
                )
                .await;
            // A string that happens to be a valid value is accepted; nothing else is.
            assert!(
                matches!(status, 201 | 400 | 402 | 409 | 413),
                "{field}: {status}"
            );
            sent += 1;
        }
    }
    // The steps of a payment, and the pages' forms, each with odd values and odd bodies.
    let steps = ["pin", "code", "resend", "cancel"];
    for step in steps {
        let path = format!("/api/payments/{id}/{step}");
        for value in odd_values() {
            let name = if step == "code" { "code" } else { "pin" };
            let body = json!({ name: value }).to_string().into_bytes();
            raw.send(Method::POST, &path, Some("application/json"), body)
                .await;
            sent += 1;
        }
    }
    let paths = [
        "/api/payments".to_owned(),
        format!("/api/payments/{id}/pin"),
        format!("/api/payments/{id}/code"),
        "/checkout".to_owned(),
        format!("/payments/{id}/pin"),
        format!("/payments/{id}/code"),
    ];
    for path in &paths {
        for body in odd_bodies() {
            for content_type in [
                Some("application/json"),
                Some("application/x-www-form-urlencoded"),
                Some("text/plain"),
                Some("application/json; charset=utf-16"),
                None,
            ] {
                raw.send(Method::POST, path, content_type, body.clone())
                    .await;
                sent += 1;
            }
        }
    }
    // Ids that are not ids, on every route that takes one, with every method.
    let ids = [
        "0".repeat(31),
        "0".repeat(33),
        "G".repeat(32),
        id.to_uppercase(),
        "%00".to_owned(),
        "%2e%2e%2f%2e%2e%2fetc".to_owned(),
        "%F0%9F%99%82".to_owned(),
        "a".repeat(4_000),
    ];
    for bad in &ids {
        for path in [
            format!("/api/payments/{bad}"),
            format!("/api/payments/{bad}/pin"),
            format!("/api/payments/{bad}/cancel"),
            format!("/payments/{bad}"),
            format!("/payments/{bad}/code"),
        ] {
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::PATCH,
            ] {
                raw.send(method, &path, Some("application/json"), b"{}".to_vec())
                    .await;
                sent += 1;
            }
        }
    }
    for path in [
        "/",
        "/checkout",
        "/api",
        "/api/",
        "/dev/sms",
        "/nowhere",
        "/api/payments?x=%zz",
    ] {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::TRACE,
            Method::PUT,
        ] {
            raw.send(method, path, None, Vec::new()).await;
            sent += 1;
        }
    }
    assert!(sent > 500, "{sent}");
    // The one real payment was never moved by any of it but its own cancel route.
    let payment = server.get(&format!("/api/payments/{id}")).await;
    assert!(
        matches!(payment.field("state"), "initiated" | "failed"),
        "{}",
        payment.text
    );
    // Still serving: a whole checkout goes through.
    let (id, code) = server.sent(4990).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(200, None)
        .state("confirmed");
    server.finish().await;
}

/// Bytes that are not HTTP, or barely: the server answers 4xx or closes, and goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_http_is_refused_and_service_goes_on() {
    let server = TestServer::start_with(|config| {
        config.http.header_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let junk: Vec<Vec<u8>> = vec![
        b"\r\n\r\n".to_vec(),
        b"GARBAGE\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"POST /api/payments HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
        b"POST /api/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello".to_vec(),
        b"POST /api/payments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n".to_vec(),
        b"POST /api/payments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n".to_vec(),
        format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)).into_bytes(),
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n", "b".repeat(100_000)).into_bytes(),
        (0..200)
            .map(|i| format!("X-H{i}: v\r\n"))
            .fold(b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec(), |mut all, line| {
                all.extend(line.bytes());
                all
            })
            .into_iter()
            .chain(b"\r\n".iter().copied())
            .collect(),
        vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03],
    ];
    for bytes in junk {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        // The server may close while we still write: that is an answer too.
        let _ = stream.write_all(&bytes).await;
        // Read until the answer's head is in, or the server closed.
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            let mut chunk = [0u8; 4096];
            loop {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&chunk[..n]),
                }
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        })
        .await;
        let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
        assert!(
            read.is_ok(),
            "left hanging: {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
        );
        if let Some(status) = head.strip_prefix("HTTP/1.1 ") {
            assert!(
                status.starts_with('4'),
                "{head:?} for {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
            );
        }
    }
    let (id, code) = server.sent(4990).await;
    server
        .post(&format!("/api/payments/{id}/code"), json!({ "code": code }))
        .await
        .expect(200, None)
        .state("confirmed");
    server.finish().await;
}
