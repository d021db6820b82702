//! What the load benches share: how long a point runs, and what its clients' latencies make.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// `BENCH_SECONDS`, or `default` seconds.
pub fn seconds(default: u64) -> Duration {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    Duration::from_secs(seconds)
}

/// A point's checkouts: how many, per second, and their median and 99th percentile.
pub struct Load {
    pub checkouts: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// Waits for `clients`, each answering the latencies of its checkouts, started at `started`.
pub async fn gather(clients: Vec<JoinHandle<Vec<Duration>>>, started: Instant) -> Load {
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Load {
        checkouts: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}
