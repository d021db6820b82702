//! The recovery task: finishes what a crash, a bank outage or an abandoned buyer left behind,
//! as the engine's own due index lists it.

use std::sync::Arc;
use std::time::Duration;

use buyster::DueWork;

use super::App;

/// Due records finished per round, earliest due first.
pub const ROUND: usize = 200;

/// Rounds run back to back at most before the task sleeps, however much is due: a record
/// that cannot even be postponed (the store refusing every write) would otherwise be read
/// again at once, forever.
const BACK_TO_BACK: usize = 50;

/// Every `every`, hands the engine's due work to [`buyster::Engine::recover_due`], again at
/// once while a round was full: an authorized payment is settled with its idempotency key (a
/// debit the bank already made is found, never repeated), an expired one is failed and its
/// spending share given back, a refund left pending is asked again. The server keeps no list
/// of its own: the engine's store knows what is due, and when.
pub async fn run(app: Arc<App>, every: Duration) {
    loop {
        for _ in 0..BACK_TO_BACK {
            match app.recover_due(ROUND).await {
                Some(work) if work.reached(ROUND) => continue,
                _ => break,
            }
        }
        tokio::time::sleep(every).await;
    }
}

impl App {
    /// One round of the recovery task over at most `limit` due records; what it did, or
    /// `None` when the due index could not be read (logged).
    pub async fn recover_due(&self, limit: usize) -> Option<DueWork> {
        match self.engine.recover_due(limit).await {
            Ok(work) => {
                report(&work, self.bank.take_ledger_failures());
                Some(work)
            }
            Err(error) => {
                eprintln!("recovery: reading the due index: {error}; next run");
                None
            }
        }
    }
}

/// Prints a round that found work; and, on the error stream, the bank's calls that failed in
/// its ledger since the last round (each payment's first failure was logged as it happened):
/// one line a round, however many payments keep failing.
fn report(work: &DueWork, ledger_failures: u64) {
    if work.examined > 0 {
        println!(
            "recovery: {} due, {} finished, {} postponed, {} failed, {} purged",
            work.examined, work.finished, work.postponed, work.errors, work.purged
        );
    }
    if ledger_failures > 0 {
        eprintln!(
            "error: recovery: {ledger_failures} bank call(s) failed in the bank's ledger (the \
             server's storage) since the last round; their payments stay authorized and are \
             asked again next round"
        );
    }
}
