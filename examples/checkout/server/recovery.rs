//! The recovery task: finishes what a crash, a bank outage or an abandoned buyer left behind.

use std::sync::Arc;
use std::time::Duration;

use buyster::{AnyPayment, Clock, Timestamp};

use super::App;

/// Unfinished payments looked at per run, oldest first.
const BATCH: u32 = 100;

/// Every `every`, hands the payments the index knows as unfinished and older than `after` to
/// [`buyster::Engine::recover`]: an authorized payment is settled with its idempotency key (a
/// debit the bank already made is found, never repeated), an expired one is failed.
pub async fn run(app: Arc<App>, every: Duration, after: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        app.recover_unfinished(after).await;
    }
}

impl App {
    /// One run of the recovery task; returns how many payments it finished.
    pub async fn recover_unfinished(&self, after: Duration) -> usize {
        let now = self.clock.now().as_unix_millis();
        let age = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        let before = Timestamp::from_unix_millis(now.saturating_sub(age));
        let ids = match self.index.unfinished(before, BATCH).await {
            Ok(ids) => ids,
            Err(error) => {
                eprintln!("recovery: listing unfinished payments: {error}");
                return 0;
            }
        };
        let mut finished = 0;
        for id in ids {
            match self.engine.recover(id).await {
                Ok(payment) => {
                    self.note(&payment).await;
                    if report(&payment) {
                        finished += 1;
                    }
                }
                Err(error) => eprintln!("recovery: payment {id}: {error}; next run"),
            }
        }
        finished
    }
}

/// Prints what became of a payment the task finished; whether it did.
fn report(payment: &AnyPayment) -> bool {
    match payment {
        AnyPayment::Confirmed(paid) => {
            let receipt = paid.receipt();
            println!(
                "recovery: payment {} confirmed, bank reference {}",
                paid.id(),
                receipt.bank_reference()
            );
            true
        }
        AnyPayment::Failed(failed) => {
            println!(
                "recovery: payment {} failed: {}",
                failed.id(),
                failed.reason()
            );
            true
        }
        // The buyer is still at it, or the bank still does not answer: next run.
        _ => false,
    }
}
