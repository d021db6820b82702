//! A server on a free port with its own database, and an HTTP client that records every
//! answer so that each test can check that none holds a secret.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderMap};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::server::{Config, Server, http, seed};

pub const PHONE: &str = seed::BUYER_PHONE;
pub const PIN: &str = seed::BUYER_PIN;
pub const WRONG_PIN: &str = "135790";

/// Numbers the orders of [`TestServer::create`], each payment an order of its own.
static ORDERS: AtomicU64 = AtomicU64::new(1);

/// An answer: status, headers, body as text and (when it is JSON) parsed.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The JSON field `name` as text.
    pub fn field(&self, name: &str) -> &str {
        self.json[name].as_str().unwrap_or_default()
    }

    /// Asserts the status and the `error` code (or none), and returns self.
    #[track_caller]
    pub fn expect(&self, status: u16, error: Option<&str>) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.json["error"].as_str(), error, "{}", self.text);
        self
    }

    /// Asserts the payment state in the answer.
    #[track_caller]
    pub fn state(&self, state: &str) -> &Self {
        assert_eq!(self.field("state"), state, "{}", self.text);
        self
    }
}

/// A running server, its data directory, and what it answered.
pub struct TestServer {
    pub url: String,
    pub server: Server,
    pub dir: PathBuf,
    _temp: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    client: Client<HttpConnector, Full<Bytes>>,
    seen: Mutex<Vec<String>>,
    codes: Mutex<Vec<String>>,
}

impl TestServer {
    /// A server with the demo's settings, quiet, in a fresh directory.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose settings `adjust` changes.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        let mut server = Self::start_in(&dir, adjust).await;
        server._temp = Some(temp);
        server
    }

    /// A server on the database in `dir` (kept by the caller).
    pub async fn start_in(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::new(dir.join("checkout.db"));
        config.print_sms = false;
        // The tests read the codes sent on /dev/sms, as a developer would; off by default.
        config.dev_pages = true;
        adjust(&mut config);
        let (server, _) = Server::open(config).await.unwrap();
        let listener = http::bind(([127, 0, 0, 1], 0).into()).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(server.clone().serve(listener, async {
            let _ = stop.await;
        }));
        Self {
            url,
            server,
            dir: dir.to_owned(),
            _temp: None,
            shutdown: Some(shutdown),
            task: Some(task),
            client: Client::builder(TokioExecutor::new()).build_http(),
            seen: Mutex::default(),
            codes: Mutex::default(),
        }
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, step: Duration) {
        self.server.app().clock.advance(step);
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, "", None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        let body = body.to_string();
        self.send(Method::POST, path, Some("application/json"), &body, None)
            .await
    }

    /// A POST with a raw body and content type, and optionally a cookie.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: &str,
        cookie: Option<&str>,
    ) -> Answer {
        self.send(Method::POST, path, content_type, body, cookie)
            .await
    }

    /// A GET with a cookie.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Answer {
        self.send(Method::GET, path, None, "", Some(cookie)).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
        cookie: Option<&str>,
    ) -> Answer {
        self.send_with(method, path, content_type, body, cookie, &[])
            .await
    }

    /// A JSON POST with an `Idempotency-Key` header.
    pub async fn post_keyed(&self, path: &str, body: &Value, key: &str) -> Answer {
        let body = body.to_string();
        let headers = [("idempotency-key", key)];
        self.send_with(
            Method::POST,
            path,
            Some("application/json"),
            &body,
            None,
            &headers,
        )
        .await
    }

    /// A request with `headers` besides.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        self.exchange(&self.client, request).await
    }

    /// A JSON POST sent from the local address `from`, another client (Linux routes all of
    /// 127.0.0.0/8 to the loopback), with `headers` besides.
    pub async fn post_from(
        &self,
        from: std::net::IpAddr,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(from));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.url))
            .header(CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        self.exchange(&client, request).await
    }

    /// Sends `request` through `client`; the answer, recorded.
    async fn exchange(
        &self,
        client: &Client<HttpConnector, Full<Bytes>>,
        request: Request<Full<Bytes>>,
    ) -> Answer {
        let response = client.request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let mut headers_text = String::new();
        for (name, value) in &parts.headers {
            headers_text.push_str(&format!("{name}: {value:?}\n"));
        }
        self.seen
            .lock()
            .unwrap()
            .push(format!("{headers_text}\n{text}"));
        Answer {
            status: parts.status,
            headers: parts.headers,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// Starts a payment of `amount_minor` cents from `phone` at the demo merchant, for an order
    /// of its own; its id.
    pub async fn create(&self, amount_minor: u64, phone: &str) -> String {
        let number = ORDERS.fetch_add(1, Ordering::Relaxed);
        self.create_for(amount_minor, phone, &format!("CMD-TEST-{number}"))
            .await
    }

    /// Starts the payment of the order `reference`, of `amount_minor` cents from `phone` at
    /// the demo merchant; its id.
    pub async fn create_for(&self, amount_minor: u64, phone: &str, reference: &str) -> String {
        let answer = self
            .post(
                "/api/payments",
                json!({
                    "merchant": seed::MERCHANT_ID,
                    "amount_minor": amount_minor,
                    "currency": "EUR",
                    "reference": reference,
                    "phone": phone,
                }),
            )
            .await;
        answer.expect(201, None).state("initiated");
        answer.field("id").to_owned()
    }

    /// A payment of the demo buyer whose code was sent; its id and the code.
    pub async fn sent(&self, amount_minor: u64) -> (String, String) {
        let id = self.create(amount_minor, PHONE).await;
        self.post(&format!("/api/payments/{id}/pin"), json!({ "pin": PIN }))
            .await
            .expect(200, None)
            .state("otp_sent");
        let code = self.code_for(&id).await;
        (id, code)
    }

    /// The last code sent for payment `id`, read on the development outbox page as a
    /// developer would.
    pub async fn code_for(&self, id: &str) -> String {
        let page = self.get("/dev/sms").await;
        assert_eq!(page.status, StatusCode::OK);
        let code = code_in_outbox(&page.text, id).expect("no SMS for this payment");
        self.codes.lock().unwrap().push(code.clone());
        code
    }

    /// The ledger rows of payment `id`: (outcome, calls).
    pub async fn ledger(&self, id: &str) -> Vec<(String, u64)> {
        let entries = self.server.app().bank.entries(1000).await.unwrap();
        entries
            .into_iter()
            .filter(|entry| entry.idempotency_key == id)
            .map(|entry| (entry.outcome, entry.calls))
            .collect()
    }

    /// Asserts that no answer held a PIN, a code, the full phone number, the master key or the
    /// IBAN; `allowed` paths (the SMS outbox) are skipped.
    #[track_caller]
    pub fn assert_no_secret_seen(&self) {
        let key = std::fs::read_to_string(self.dir.join("checkout.key")).unwrap_or_default();
        let codes = self.codes.lock().unwrap().clone();
        let mut secrets = vec![
            PIN.to_owned(),
            "612345678".to_owned(),
            "6 12 34 56 78".to_owned(),
            "30006000011234567890189".to_owned(),
            "3000 6000 0112".to_owned(),
        ];
        if !key.trim().is_empty() {
            secrets.push(key.trim().to_owned());
        }
        secrets.extend(codes);
        for answer in self.seen.lock().unwrap().iter() {
            if answer.contains("id=\"outbox\"") {
                continue; // the development outbox shows codes: that is its job
            }
            for secret in &secrets {
                assert!(
                    !answer.contains(secret.as_str()),
                    "{secret:?} leaked in:\n{answer}"
                );
            }
        }
    }

    /// Stops the server after checking that nothing secret was answered.
    pub async fn finish(mut self) {
        self.assert_no_secret_seen();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// The code in the newest SMS of payment `id` on the outbox page.
pub fn code_in_outbox(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("data-payment=\"{id}\""))?;
    let after = &html[start..];
    let body = &after[after.find("Code ")? + 5..];
    let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 6).then_some(digits)
}

/// A code surely not `code`: its last digit changed.
pub fn other_code(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().collect();
    let last = digits.last_mut().unwrap();
    *last = b'0' + (*last - b'0' + 1) % 10;
    String::from_utf8(digits).unwrap()
}
