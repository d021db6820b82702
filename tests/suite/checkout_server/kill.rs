//! The checkout server as a process of its own, killed with SIGKILL at random moments under a
//! load of checkouts and started again on the same files; then recovery, and the books.
//!
//! The SQLite store has one writer, so one process at a time. `CHECKOUT_KILLS` sets the kills
//! (30 by default); the counts are printed (`-- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use buyster::{AnyPayment, Error, PhoneNumber, Pin, PinCheck, SpendingLimit};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::receiver::{Plan, Receiver};
use super::server::webhook::Schedule;
use super::server::{Config, seed};
use super::support::{PIN, TestServer, code_in_outbox};

const SECRET: &str = "whsec_kill_test_9c1d5e7a3b2f4068a1e9d7c5b3f20846";
/// The servers' master key: every process, and the recovery after, the same.
const MASTER_KEY: &str = "7d3f1c9a5b2e4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f";

/// Where the servers keep everything.
pub(super) enum Backend {
    /// SQLite files: one process at a time (the store has one writer).
    Sqlite,
    /// One PostgreSQL database, shared by several processes.
    Postgres(String),
}

impl Backend {
    fn flags(&self) -> Vec<String> {
        match self {
            Self::Sqlite => Vec::new(),
            Self::Postgres(url) => vec!["--postgres".to_owned(), url.clone()],
        }
    }

    /// Processes run at once.
    fn processes(&self) -> usize {
        match self {
            Self::Sqlite => 1,
            Self::Postgres(_) => 3,
        }
    }
}
/// Client tasks, each with buyers of its own.
const CLIENTS: u16 = 4;
/// Buyers per client task: enough that the load outlasts the kills.
const BUYERS_PER_CLIENT: u16 = 100;
/// Each checkout's amount: four make 1,400 EUR of the 1,500 EUR per 24 hours, a fifth is
/// refused at its PIN (and each takes one of the number's 5 SMS per 10 minutes).
const AMOUNT: u64 = 35_000;

/// The checkout example, built once for the suite.
pub(super) fn checkout_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let output = Command::new(cargo)
                .args(["build", "--example", "checkout", "--all-features"])
                .args(["--message-format", "json"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            assert!(output.status.success(), "the example did not build");
            String::from_utf8(output.stdout)
                .unwrap()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|message| message["target"]["name"] == "checkout")
                .find_map(|message| message["executable"].as_str().map(PathBuf::from))
                .expect("no executable for the example")
        })
        .clone()
}

/// The server process on `addr` and the files of `dir`.
pub(super) struct Process {
    child: Child,
}

/// A test that fails half-way leaves no server running: dropped, the process is killed.
impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    pub(super) async fn start(
        dir: &Path,
        addr: SocketAddr,
        webhook: &str,
        backend: &Backend,
    ) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let child = Command::new(checkout_binary())
            .args(["--addr", &addr.to_string()])
            .args(["--db", dir.join("checkout.db").to_str().unwrap()])
            .args(["--webhook-url", webhook])
            .args(["--demo-buyers", &(CLIENTS * BUYERS_PER_CLIENT).to_string()])
            .args(backend.flags())
            .arg("--dev-pages")
            // The whole load comes from one address, the test's: limits that fit it.
            .args(["--payments-per-client", "1000000"])
            .args(["--payments-per-number", "1000000"])
            .args(["--open-payments-per-client", "1000000"])
            .args(["--wrong-pins-per-client", "1000000"])
            .args(["--wrong-pin-numbers-per-client", "1000000"])
            .env("CHECKOUT_WEBHOOK_SECRET", SECRET)
            .env("BUYSTER_MASTER_KEY", MASTER_KEY)
            .env_remove("CHECKOUT_DEV_PAGES")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "no server");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self { child }
    }

    /// SIGKILL, as `kill -9`.
    pub(super) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// An HTTP client to the process that tells failed connections (the process being dead) from
/// answers.
pub(super) struct Http {
    /// The servers' addresses; requests go to each in turn, and a request retried goes to
    /// the next one.
    bases: Vec<String>,
    turn: AtomicUsize,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Requests that got no answer (the process was dead, or died under them).
    unanswered: AtomicUsize,
}

impl Http {
    /// A client to the servers at `addrs`, in turn.
    pub(super) fn new(addrs: &[SocketAddr]) -> Self {
        Self {
            bases: addrs.iter().map(|addr| format!("http://{addr}")).collect(),
            turn: AtomicUsize::new(0),
            client: Client::builder(TokioExecutor::new()).build_http(),
            unanswered: AtomicUsize::new(0),
        }
    }

    /// The status and body of `method path`, trying again until the server answers.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, String) {
        loop {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            let base = &self.bases[turn % self.bases.len()];
            let request = Request::builder()
                .method(method.clone())
                .uri(format!("{base}{path}"))
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(
                    body.as_ref().map(Value::to_string).unwrap_or_default(),
                )))
                .unwrap();
            let sent = tokio::time::timeout(Duration::from_secs(10), async {
                let response = self.client.request(request).await.ok()?;
                let status = response.status().as_u16();
                let bytes = response.into_body().collect().await.ok()?.to_bytes();
                Some((status, String::from_utf8(bytes.to_vec()).ok()?))
            })
            .await;
            // The store did not answer (a restart under way): asked again, as `Retry-After` says.
            let store_unavailable =
                matches!(&sent, Ok(Some((503, text))) if text.contains("store_unavailable"));
            if store_unavailable {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            if let Ok(Some((status, text))) = sent {
                return (
                    status,
                    serde_json::from_str(&text).unwrap_or(Value::Null),
                    text,
                );
            }
            self.unanswered.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> (u16, Value, String) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub(super) async fn state(&self, id: &str) -> String {
        let (status, json, text) = self
            .call(Method::GET, &format!("/api/payments/{id}"), None)
            .await;
        assert_eq!(status, 200, "{text}");
        json["state"].as_str().unwrap().to_owned()
    }

    /// The newest code of payment `id` on the development outbox, which a restart empties.
    pub(super) async fn code(&self, id: &str) -> Option<String> {
        let (_, _, page) = self.call(Method::GET, "/dev/sms", None).await;
        code_in_outbox(&page, id)
    }
}

/// A payment a client started: its id and its buyer (every one is of `AMOUNT`).
#[derive(Clone, Debug)]
struct Started {
    id: String,
    buyer: String,
}

/// One checkout of `buyer` for the order `reference`, driven by the payment's state from
/// whatever a kill left: it ends confirmed, failed, or authorized (for recovery to settle).
async fn checkout(http: &Http, buyer: &str, reference: &str) -> Started {
    let order = json!({
        "merchant": seed::MERCHANT_ID,
        "amount_minor": AMOUNT,
        "currency": "EUR",
        "reference": reference,
        "phone": buyer,
    });
    // The same order again after a lost answer: the same payment (initiate_once).
    let (status, created, text) = http.post("/api/payments", order).await;
    assert_eq!(status, 201, "{text}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = |step: &str| format!("/api/payments/{id}/{step}");
    for _ in 0..50 {
        match http.state(&id).await.as_str() {
            "initiated" => {
                let (status, _, text) = http.post(&path("pin"), json!({ "pin": PIN })).await;
                // 402: over a limit; 429: no SMS left for the number: the buyer gives up.
                if status == 402 || status == 429 {
                    http.post(&path("cancel"), json!({})).await;
                }
                assert!([200, 402, 409, 429, 503].contains(&status), "{text}");
            }
            "pin_verified" => give_up_unless_sent(http, &id).await,
            "otp_sent" => match http.code(&id).await {
                Some(code) => {
                    let (status, _, text) = http.post(&path("code"), json!({ "code": code })).await;
                    assert!([200, 409, 410, 422, 503].contains(&status), "{text}");
                }
                // Sent by a process killed since: its outbox went with it.
                None => give_up_unless_sent(http, &id).await,
            },
            _ => break,
        }
    }
    Started {
        id,
        buyer: buyer.to_owned(),
    }
}

/// Asks for a code again; the buyer cancels when none can be sent now (a cooldown, no SMS
/// left): the payment then fails with no debit.
async fn give_up_unless_sent(http: &Http, id: &str) {
    let (status, _, _) = http
        .post(&format!("/api/payments/{id}/resend"), json!({}))
        .await;
    if status != 200 {
        http.post(&format!("/api/payments/{id}/cancel"), json!({}))
            .await;
    }
}

/// A client task: checkouts for its buyers in turn until `stop`.
async fn client(http: Arc<Http>, task: u16, stop: Arc<AtomicBool>) -> Vec<Started> {
    let mut started = Vec::new();
    // Until the kills are done, whatever the machine's speed: the load is bounded by them.
    'rounds: for round in 0.. {
        for n in 0..BUYERS_PER_CLIENT {
            if stop.load(Ordering::SeqCst) {
                break 'rounds;
            }
            let buyer = seed::extra_buyer(task * BUYERS_PER_CLIENT + n);
            let reference = format!("KILL-{task}-{round}-{n}");
            started.push(checkout(&http, &buyer, &reference).await);
        }
    }
    started
}

/// A small random number generator (xorshift), seeded from the clock: the kill moments.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

pub(super) fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_30_times_under_load_debits_once_and_delivers_every_event() {
    kill_test(Backend::Sqlite).await;
}

/// The kill test on `backend`: its processes killed in turn at random moments under the load.
pub(super) async fn kill_test(backend: Backend) {
    let kills_wanted: usize = std::env::var("CHECKOUT_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    checkout_binary();
    let began = Instant::now();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_owned();
    let receiver = Receiver::start(Plan::default()).await;
    let addrs: Vec<SocketAddr> = (0..backend.processes()).map(|_| free_addr()).collect();
    let http = Arc::new(Http::new(&addrs));

    let mut processes = Vec::new();
    for addr in &addrs {
        // One after the other: the first creates the tables and seeds the buyers.
        processes.push(Some(
            Process::start(&dir, *addr, &receiver.url, &backend).await,
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|task| tokio::spawn(client(Arc::clone(&http), task, Arc::clone(&stop))))
        .collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut moments = Moments(seed | 1);
    println!("kill moments seeded with {seed}");
    let kills = AtomicUsize::new(0);
    while kills.load(Ordering::SeqCst) < kills_wanted {
        tokio::time::sleep(Duration::from_millis(moments.next_millis(20, 400))).await;
        let victim = usize::try_from(moments.next_millis(0, 1000)).unwrap() % addrs.len();
        processes[victim].take().unwrap().kill();
        kills.fetch_add(1, Ordering::SeqCst);
        let restarted = Process::start(&dir, addrs[victim], &receiver.url, &backend).await;
        processes[victim] = Some(restarted);
    }
    stop.store(true, Ordering::SeqCst);
    let mut started = Vec::new();
    for task in clients {
        match task.await {
            Ok(more) => started.extend(more),
            Err(panicked) => {
                // What the servers said, to see why a client got an answer it did not expect.
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                let errors: Vec<&str> = log.lines().filter(|l| l.contains("error")).collect();
                panic!("a client failed: {panicked}; the servers' errors: {errors:#?}");
            }
        }
    }
    // Each once more, with the last checkouts just finished and events perhaps in flight.
    for process in processes.into_iter().flatten() {
        process.kill();
    }
    let kills = kills.load(Ordering::SeqCst) + addrs.len();
    let load_time = began.elapsed();

    // Recovery, in this process on the same files (the store's one writer), with a clock
    // that can be moved past every expiry and recovery delay.
    let server = TestServer::start_in(&dir, |config: &mut Config| {
        config.print_sms = false;
        config.master_key = Some(MASTER_KEY.parse().unwrap());
        if let Backend::Postgres(url) = &backend {
            config.postgres = Some(url.clone());
        }
        config.recovery_every = Duration::from_secs(3600);
        config.demo_buyers = CLIENTS * BUYERS_PER_CLIENT;
        config.webhook_url = Some(receiver.url.clone());
        config.webhook_secret = Some(SECRET.parse().unwrap());
        config.webhook_schedule = Schedule {
            every: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        };
    })
    .await;
    let app = server.server.app();
    let policy = app.policy().clone();
    let mut recovered = 0;
    for _ in 0..3 {
        server.advance(policy.payment_ttl + policy.recovery_delay);
        loop {
            let work = app.recover_due(500).await.unwrap();
            assert_eq!(work.errors, 0, "{work:?}");
            recovered += work.finished;
            if work.examined == 0 {
                break;
            }
        }
    }
    assert_eq!(app.recover_due(500).await.unwrap().examined, 0);

    // Every payment confirmed with exactly one debit, or failed with none.
    let ids: BTreeSet<&str> = started.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), started.len(), "one payment per order");
    let ledger: BTreeMap<String, _> = app
        .bank
        .entries(100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| (entry.idempotency_key.clone(), entry))
        .collect();
    let mut confirmed: BTreeMap<&str, u64> = BTreeMap::new();
    let mut failed = 0;
    for payment in &started {
        let found = app.engine.load(payment.id.parse().unwrap()).await.unwrap();
        let debit = ledger.get(&payment.id);
        match found {
            AnyPayment::Confirmed(paid) => {
                let debit = debit.expect("a confirmed payment without its debit");
                assert_eq!(debit.outcome, "debited");
                assert_eq!(
                    debit.bank_reference.as_deref(),
                    Some(paid.receipt().bank_reference())
                );
                *confirmed.entry(payment.buyer.as_str()).or_default() += AMOUNT;
            }
            AnyPayment::Failed(_) => {
                assert!(debit.is_none_or(|d| d.outcome != "debited"), "{debit:?}");
                failed += 1;
            }
            other => panic!("payment {} left {}", payment.id, other.kind()),
        }
    }
    let debits = ledger.values().filter(|e| e.outcome == "debited").count();
    let confirmed_count = started.len() - failed;
    assert_eq!(debits, confirmed_count, "a debit for no confirmed payment");
    assert!(ledger.keys().all(|key| ids.contains(key.as_str())));
    let stored = payments_stored(&backend, &dir).await;
    assert_eq!(stored, started.len(), "a payment no client knows of");

    // Every event of the outbox delivered at least once: none left, and (on SQLite, whose
    // numbers have no gaps) as many distinct ids as the store ever numbered.
    let appended = loop {
        let (left, appended) = outbox(&backend, &dir).await;
        if left == 0 {
            break appended;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let taken = receiver.taken();
    let distinct: BTreeSet<&str> = taken.iter().map(|r| r.event_id.as_str()).collect();
    if let Some(appended) = appended {
        assert_eq!(distinct.len() as u64, appended);
    }
    let initiated = taken.iter().filter(|r| r.json()["event"] == "initiated");
    let initiated: BTreeSet<&str> = initiated.map(|r| r.event_id.as_str()).collect();
    assert_eq!(initiated.len(), started.len());
    // Each body read once: the kinds of each payment's events, copies dropped, in order.
    let mut by_payment: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for received in &taken {
        let body = received.json();
        let Some(payment) = body["payment"].as_str() else {
            continue;
        };
        if seen.insert(received.event_id.clone()) {
            let kind = body["event"].as_str().unwrap().to_owned();
            by_payment.entry(payment.to_owned()).or_default().push(kind);
        }
    }
    for payment in &started {
        let kinds = by_payment.get(&payment.id).cloned().unwrap_or_default();
        assert_eq!(
            kinds.first().map(String::as_str),
            Some("initiated"),
            "{kinds:?}"
        );
        let last = kinds.last().map(String::as_str);
        assert!(matches!(last, Some("confirmed" | "failed")), "{kinds:?}");
    }

    // No spending share held by a finished payment: each buyer can still reserve exactly
    // what its confirmed payments leave of the 24-hour limit, and not a cent more.
    let pin: Pin = PIN.parse().unwrap();
    for task in 0..CLIENTS {
        for n in 0..BUYERS_PER_CLIENT {
            let buyer = seed::extra_buyer(task * BUYERS_PER_CLIENT + n);
            let spent = confirmed.get(buyer.as_str()).copied().unwrap_or(0);
            let phone: PhoneNumber = buyer.parse().unwrap();
            let mut left = policy.max_per_24_hours - spent;
            while left > 0 {
                let amount = left.min(policy.max_per_payment);
                assert!(
                    probe(&server, &phone, &pin, amount).await.is_ok(),
                    "{buyer}: {amount}"
                );
                left -= amount;
            }
            assert!(matches!(
                probe(&server, &phone, &pin, 1).await,
                Err(Error::LimitExceeded {
                    limit: SpendingLimit::Per24Hours,
                    ..
                })
            ));
        }
    }
    let duplicates = taken.len() - distinct.len();
    println!(
        "kill test: {kills} kills in {:.1} s, {} requests unanswered; {} checkouts: \
         {confirmed_count} confirmed, {failed} failed ({recovered} records finished by \
         recovery); {} events delivered, {duplicates} duplicates; {:.1} s in all",
        load_time.as_secs_f64(),
        http.unanswered.load(Ordering::Relaxed),
        started.len(),
        distinct.len(),
        began.elapsed().as_secs_f64()
    );
    assert!(kills >= kills_wanted);
    assert!(confirmed_count > 0 && !started.is_empty());
    server.finish().await;
}

/// The payment records in the store.
async fn payments_stored(backend: &Backend, dir: &Path) -> usize {
    const SQL: &str = "SELECT count(*) FROM records WHERE key LIKE 'payment/%'";
    match backend {
        Backend::Sqlite => {
            let store = rusqlite::Connection::open(dir.join("checkout.db")).unwrap();
            store.busy_timeout(Duration::from_secs(5)).unwrap();
            store.query_row(SQL, [], |row| row.get(0)).unwrap()
        }
        Backend::Postgres(url) => {
            let count: i64 = postgres(url)
                .await
                .query_one(&SQL.replace("records", "buyster.records"), &[])
                .await
                .unwrap()
                .get(0);
            usize::try_from(count).unwrap()
        }
    }
}

/// The events left in the outbox, and how many were ever appended when the store tells.
async fn outbox(backend: &Backend, dir: &Path) -> (u64, Option<u64>) {
    match backend {
        Backend::Sqlite => {
            let store = rusqlite::Connection::open(dir.join("checkout.db")).unwrap();
            store.busy_timeout(Duration::from_secs(5)).unwrap();
            store
                .query_row(
                    "SELECT (SELECT count(*) FROM outbox),
                            (SELECT seq FROM sqlite_sequence WHERE name = 'outbox')",
                    [],
                    |row| Ok((row.get(0)?, Some(row.get(1)?))),
                )
                .unwrap()
        }
        Backend::Postgres(url) => {
            let left: i64 = postgres(url)
                .await
                .query_one("SELECT count(*) FROM buyster.outbox", &[])
                .await
                .unwrap()
                .get(0);
            // An identity's numbers may have gaps (a rolled back write): no count from them.
            (u64::try_from(left).unwrap(), None)
        }
    }
}

/// A connection of the test's own to the servers' PostgreSQL database.
async fn postgres(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// A payment of `amount` cents by `phone` taken to its PIN: whether the PIN step reserved it.
async fn probe(
    server: &TestServer,
    phone: &PhoneNumber,
    pin: &Pin,
    amount: u64,
) -> Result<(), Error> {
    let engine = &server.server.app().engine;
    let order = buyster::Order::new(
        seed::merchant()?,
        buyster::Amount::new(amount, buyster::Currency::EUR)?,
        "PROBE",
    )?;
    let payment = engine.initiate(order, phone).await?;
    match engine.verify_pin(payment, pin).await? {
        PinCheck::Verified(_) => Ok(()),
        PinCheck::Rejected { .. } => panic!("the demo PIN was refused"),
    }
}
