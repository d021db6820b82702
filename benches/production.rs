//! Checkouts per second on real databases, next to the database's own write capacity.
//!
//! ```sh
//! cargo bench --bench production                  # SQLite, and PostgreSQL (a throwaway server)
//! BUYSTER_TEST_POSTGRES_URL=postgres://… cargo bench --bench production   # an existing server
//! BENCH_SECONDS=20 cargo bench --bench production # a longer run per point (default 8)
//! ```
//!
//! For each store and 1, 4 and 16 concurrent buyers, full checkouts (initiate, right PIN, code
//! sent, right code, debit) run for a few seconds: checkouts per second, the median and 99th
//! percentile of a checkout's latency, and the store calls a checkout makes (durable commits
//! and round trips), counted by a wrapper around the store. On PostgreSQL, `pgbench` runs
//! single-row updates on the same server in the same run, at the same concurrency: the ratio
//! of the checkouts' commits per second to pgbench's transactions per second is the share of
//! the database's write capacity the checkouts reach. The SMS gateway and the bank are the
//! in-memory ones, so the store is what is measured.

#[path = "common/load.rs"]
mod load;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use buyster::memory::{MemoryBank, MemorySms};
use buyster::{
    Amount, CodeCheck, Currency, Due, Engine, Entry, FundingSource, Key, KeyedWrite, Keys,
    Merchant, Order, Outboxed, PhoneNumber, Pin, PinCheck, Policy, SecretKey, Store, StoreError,
    Timestamp, Version, Write,
};

const PIN: &str = "246813";
const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";
/// Buyers, paying in turn: at 2,000 checkouts a second each pays once a second, below the
/// policy's 100 SMS a minute, and no two clients ever pay for the same buyer at once.
const BUYERS: usize = 2_000;
const CONCURRENCY: [usize; 3] = [1, 4, 16];

/// Store calls, counted.
#[derive(Default)]
struct Calls {
    gets: AtomicU64,
    puts: AtomicU64,
    batches: AtomicU64,
}

impl Calls {
    fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.gets.load(Ordering::Relaxed),
            self.puts.load(Ordering::Relaxed),
            self.batches.load(Ordering::Relaxed),
        )
    }
}

/// A store that counts the calls it passes on.
struct Counting<S> {
    inner: S,
    calls: Arc<Calls>,
}

impl<S: Store> Store for Counting<S> {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        self.calls.gets.fetch_add(1, Ordering::Relaxed);
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        self.calls.puts.fetch_add(1, Ordering::Relaxed);
        self.inner.put(key, expected, write).await
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.inner.due(until, limit).await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        self.inner.outbox(limit).await
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        self.inner.acknowledge(seqs).await
    }

    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        // An empty batch is the engine asking whether the store batches: nothing is written.
        if !writes.is_empty() {
            self.calls.batches.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.put_together(writes).await
    }
}

type BenchEngine<S> = Engine<Counting<S>, MemorySms, MemoryBank>;

/// What one point of the run measured.
struct Point {
    clients: usize,
    checkouts: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// The database's own flushes to disk per checkout (SQLite transactions committed,
    /// PostgreSQL WAL syncs), which group commit makes fewer than the store's commits.
    syncs: f64,
}

fn phone(buyer: usize) -> PhoneNumber {
    format!("+336{:08}", 10_000_000 + buyer % BUYERS)
        .parse()
        .unwrap()
}

fn policy() -> Policy {
    Policy {
        max_sms_per_number: 100,
        sms_window: Duration::from_secs(60),
        max_per_payment: 100_000,
        max_per_24_hours: 50_000_000,
        max_per_30_days: 50_000_000,
        ..Policy::default()
    }
}

async fn engine_over<S: Store + 'static>(
    store: S,
    calls: Arc<Calls>,
    sms: MemorySms,
) -> Arc<BenchEngine<S>> {
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes([9; 32])))
        .store(Counting {
            inner: store,
            calls,
        })
        .sms(sms)
        .bank(MemoryBank::new())
        .policy(policy())
        .durable_events()
        .build()
        .unwrap();
    let engine = Arc::new(engine);
    let enrolling: Vec<_> = (0..16)
        .map(|lane| {
            let engine = Arc::clone(&engine);
            tokio::spawn(async move {
                let pin: Pin = PIN.parse().unwrap();
                for buyer in (lane..BUYERS).step_by(16) {
                    let funding: FundingSource = IBAN.parse().unwrap();
                    match engine.enroll(&phone(buyer), &pin, funding).await {
                        Ok(()) | Err(buyster::Error::AlreadyEnrolled) => {}
                        Err(error) => panic!("enroll: {error}"),
                    }
                }
            })
        })
        .collect();
    for lane in enrolling {
        lane.await.unwrap();
    }
    engine
}

async fn checkout<S: Store>(engine: &BenchEngine<S>, sms: &MemorySms, buyer: &PhoneNumber) {
    let merchant = Merchant::new("bench", "Bench").unwrap();
    let order = Order::new(merchant, Amount::new(100, Currency::EUR).unwrap(), "B-1").unwrap();
    let payment = engine.initiate(order, buyer).await.unwrap();
    let PinCheck::Verified(verified) = engine
        .verify_pin(payment, &PIN.parse().unwrap())
        .await
        .unwrap()
    else {
        panic!("the right PIN was refused");
    };
    let sent = engine.send_code(verified).await.unwrap();
    let code = sms.last_code(buyer).unwrap();
    let CodeCheck::Confirmed(_) = engine.confirm(sent, &code).await.unwrap() else {
        panic!("the right code was refused");
    };
}

/// Runs `clients` concurrent clients for `seconds`, each paying with its own buyers in turn.
async fn point<S: Store + 'static>(
    engine: &Arc<BenchEngine<S>>,
    sms: &MemorySms,
    clients: usize,
    seconds: Duration,
) -> Point {
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (engine, sms, next) = (Arc::clone(engine), sms.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while started.elapsed() < seconds {
                    let buyer = phone(next.fetch_add(1, Ordering::Relaxed) as usize);
                    let one = Instant::now();
                    checkout(&engine, &sms, &buyer).await;
                    latencies.push(one.elapsed());
                }
                latencies
            })
        })
        .collect();
    let load = load::gather(tasks, started).await;
    Point {
        clients,
        checkouts: load.checkouts,
        per_second: load.per_second,
        p50: load.p50,
        p99: load.p99,
        syncs: 0.0,
    }
}

/// Store calls of one checkout, counted on one more checkout alone.
async fn calls_per_checkout<S: Store>(
    engine: &BenchEngine<S>,
    sms: &MemorySms,
    calls: &Calls,
) -> (u64, u64, u64) {
    let buyer = phone(BUYERS - 1);
    let (g0, p0, b0) = calls.snapshot();
    checkout(engine, sms, &buyer).await;
    let (g1, p1, b1) = calls.snapshot();
    (g1 - g0, p1 - p0, b1 - b0)
}

fn print_table(
    store: &str,
    points: &[Point],
    calls: (u64, u64, u64),
    capacity: Option<&[(usize, f64)]>,
) {
    let (gets, puts, batches) = calls;
    let commits = puts + batches;
    println!(
        "\n{store}: a checkout makes {commits} durable commits ({puts} puts, {batches} batched writes) and {} round trips ({gets} reads)",
        gets + puts + batches
    );
    println!(
        "| buyers | checkouts | checkouts/s | p50 | p99 | store commits/s | disk syncs per checkout |{}",
        if capacity.is_some() {
            " pgbench updates/s | share of pgbench |"
        } else {
            ""
        }
    );
    println!(
        "|---:|---:|---:|---:|---:|---:|---:|{}",
        if capacity.is_some() { "---:|---:|" } else { "" }
    );
    for p in points {
        let commits_per_second = p.per_second * commits as f64;
        let mut line = format!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.0} | {:.2} |",
            p.clients,
            p.checkouts,
            p.per_second,
            p.p50.as_secs_f64() * 1e3,
            p.p99.as_secs_f64() * 1e3,
            commits_per_second,
            p.syncs
        );
        if let Some(capacity) = capacity {
            if let Some((_, tps)) = capacity.iter().find(|(c, _)| *c == p.clients) {
                line.push_str(&format!(
                    " {tps:.0} | {:.0} % |",
                    100.0 * commits_per_second / tps
                ));
            }
        }
        println!("{line}");
    }
}

async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = buyster_sqlite::SqliteStore::open(dir.path().join("bench.db")).unwrap();
    let (calls, sms) = (Arc::new(Calls::default()), MemorySms::new());
    let engine = engine_over(store.clone(), Arc::clone(&calls), sms.clone()).await;
    let per = calls_per_checkout(&engine, &sms, &calls).await;
    let mut points = Vec::new();
    for clients in CONCURRENCY {
        let before = store.stats().commits;
        let mut measured = point(&engine, &sms, clients, load::seconds(8)).await;
        measured.syncs = (store.stats().commits - before) as f64 / measured.checkouts as f64;
        points.push(measured);
    }
    print_table(
        "SQLite (buyster-sqlite, a file in a temporary directory)",
        &points,
        per,
        None,
    );
}

/// Runs `sql` on the database of `url` and returns the first column of its one row.
async fn one_number(pool: &buyster_postgres::deadpool_postgres::Pool, sql: &str) -> i64 {
    let client = pool.get().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// The WAL syncs of the whole server so far.
async fn wal_syncs(pool: &buyster_postgres::deadpool_postgres::Pool) -> i64 {
    one_number(pool, "SELECT wal_sync FROM pg_stat_wal").await
}

/// pgbench's single-row updates per second at `clients`, on the database of `url`.
fn pgbench(bindir: &str, url: &str, clients: usize, seconds: Duration) -> f64 {
    let script = std::env::temp_dir().join(format!("buyster-pgbench-{}.sql", std::process::id()));
    std::fs::write(
        &script,
        "\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n",
    )
    .unwrap();
    let out = std::process::Command::new(format!("{bindir}/pgbench"))
        .args(["-n", "-c", &clients.to_string(), "-j", &clients.to_string()])
        .args(["-T", &seconds.as_secs().to_string(), "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("pgbench runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix("tps = ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "pgbench said: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

fn pg_bindir() -> String {
    let out = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("pg_config runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn postgres() {
    let server = buyster_test_postgres::TestPostgres::shared();
    let url = server.fresh_database().await;
    let bindir = pg_bindir();
    let init = std::process::Command::new(format!("{bindir}/pgbench"))
        .args(["-i", "-q", "-s", "1"])
        .arg(&url)
        .output()
        .expect("pgbench -i runs");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let pool = buyster_postgres::pool(&url, 32).unwrap();
    let schema = buyster_postgres::Schema::new("bench").unwrap();
    buyster_postgres::PostgresStore::migrate(&pool, &schema)
        .await
        .unwrap();
    let store = buyster_postgres::PostgresStore::new(
        pool.clone(),
        schema,
        tokio::runtime::Handle::current(),
    );
    let (calls, sms) = (Arc::new(Calls::default()), MemorySms::new());
    let engine = engine_over(store, Arc::clone(&calls), sms.clone()).await;
    let per = calls_per_checkout(&engine, &sms, &calls).await;
    let mut points = Vec::new();
    let mut capacity = Vec::new();
    for clients in CONCURRENCY {
        let before = wal_syncs(&pool).await;
        let mut measured = point(&engine, &sms, clients, load::seconds(8)).await;
        measured.syncs = (wal_syncs(&pool).await - before) as f64 / measured.checkouts as f64;
        points.push(measured);
        let (bindir, url) = (bindir.clone(), url.clone());
        let tps =
            tokio::task::spawn_blocking(move || pgbench(&bindir, &url, clients, load::seconds(8)))
                .await
                .unwrap();
        capacity.push((clients, tps));
    }
    let settings = one_number(
        &pool,
        "SELECT CASE WHEN current_setting('synchronous_commit') = 'on' THEN 1::int8 ELSE 0 END",
    )
    .await;
    print_table(
        &format!(
            "PostgreSQL {} (synchronous_commit {}, a pool of 32)",
            server.url().split('@').nth(1).unwrap_or("server"),
            if settings == 1 { "on" } else { "off" }
        ),
        &points,
        per,
        Some(&capacity),
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing more: a short run.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wants("sqlite") {
        sqlite().await;
    }
    if wants("postgres") {
        postgres().await;
    }
}
