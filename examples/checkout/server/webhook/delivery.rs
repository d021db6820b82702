//! The delivery task: the engine's outbox handed to the webhook on a timer, waiting longer
//! after each failed round.

use std::sync::Arc;
use std::time::Duration;

use super::super::App;
use super::WebhookSender;

/// Events read per round.
const ROUND: usize = 100;

/// When the task delivers.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// The wait between two rounds that went well (again at once while a round is full).
    pub every: Duration,
    /// The longest wait after failed rounds: the wait doubles from `every` with each failed
    /// round in a row, up to this.
    pub max_backoff: Duration,
}

impl Schedule {
    /// The wait after `failures` failed rounds in a row.
    pub fn wait_after(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.min(30));
        self.every.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Runs [`buyster::Engine::deliver_events`] with `sender` forever. The engine stops a round
/// at the first event the endpoint refuses and keeps it, and every later one, for the next
/// round: events go in order, each at least once.
pub async fn run(app: Arc<App>, sender: Arc<WebhookSender>, schedule: Schedule) {
    let mut failures: u32 = 0;
    loop {
        let wait = match app.engine.deliver_events(&*sender, ROUND).await {
            Ok(round) if round.stopped => {
                failures = failures.saturating_add(1);
                schedule.wait_after(failures)
            }
            Ok(round) => {
                failures = 0;
                if round.examined >= ROUND {
                    continue;
                }
                schedule.every
            }
            Err(error) => {
                eprintln!("webhook: reading the outbox: {error}");
                failures = failures.saturating_add(1);
                schedule.wait_after(failures)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_each_failed_round_up_to_the_cap() {
        let schedule = Schedule {
            every: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        };
        let waits: Vec<u64> = (0..9).map(|n| schedule.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(schedule.wait_after(u32::MAX), Duration::from_secs(60));
    }
}
