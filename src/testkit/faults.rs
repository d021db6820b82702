//! Fault injection: host wrappers that fail chosen calls, following a reproducible plan.

use core::fmt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::host::{
    Bank, BankError, DebitReceipt, DebitRequest, Due, Entry, Key, KeyedWrite, Outboxed,
    RefundReceipt, RefundRequest, SmsError, SmsGateway, SmsMessage, Store, StoreError, Version,
    Write,
};
use crate::time::Timestamp;

use super::yield_once;

/// A host call, as numbered by a [`FaultPlan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    /// [`Store::get`].
    StoreGet,
    /// [`Store::put`].
    StorePut,
    /// [`SmsGateway::send`].
    SmsSend,
    /// [`Bank::debit`].
    BankDebit,
    /// [`Bank::refund`].
    BankRefund,
}

/// What to do to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Fail without applying: nothing is written, sent or debited.
    FailBefore,
    /// Apply, then fail as if the answer was lost: the write is stored, the SMS delivered, the
    /// debit made, and the caller gets an error. (For a `get`, the read happens and its
    /// answer is lost.)
    FailAfter,
    /// Yield to the scheduler this many times inside the call, then carry it out normally.
    Yield(u8),
}

/// The error a faulty host returns for an injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("injected fault ({0:?})")]
#[non_exhaustive]
pub struct InjectedFault(pub Fault);

#[derive(Debug)]
enum Rule {
    Listed(BTreeMap<usize, Fault>),
    Seeded { state: u64, fail_per_mille: u16 },
}

#[derive(Debug)]
struct Plan {
    rule: Rule,
    armed: bool,
    log: Vec<(Call, Option<Fault>)>,
}

/// A reproducible schedule of faults over the calls of the wrappers that share it, numbered
/// from 0 in the order they are made, all hosts together. Cheap to clone; clones share the
/// same count.
#[derive(Clone, Debug)]
pub struct FaultPlan(Arc<Mutex<Plan>>);

impl FaultPlan {
    /// A plan that injects nothing and only numbers the calls: run a scenario once with it to
    /// learn how many calls there are to fail.
    #[must_use]
    pub fn none() -> Self {
        Self::with_rule(Rule::Listed(BTreeMap::new()))
    }

    /// A plan that plays `fault` on call number `call`.
    #[must_use]
    pub fn at(call: usize, fault: Fault) -> Self {
        Self::none().and(call, fault)
    }

    /// The same plan, also playing `fault` on call number `call`.
    #[must_use]
    pub fn and(self, call: usize, fault: Fault) -> Self {
        if let Rule::Listed(faults) = &mut self.lock().rule {
            faults.insert(call, fault);
        }
        self
    }

    /// A plan drawn from `seed`: each call fails with probability `fail_per_mille`/1000 (before
    /// or after applying, evenly), and otherwise yields 0 to 3 times. The same seed gives the
    /// same plan.
    #[must_use]
    pub fn seeded(seed: u64, fail_per_mille: u16) -> Self {
        Self::with_rule(Rule::Seeded {
            state: seed,
            fail_per_mille,
        })
    }

    /// Stops injecting: later calls are carried out normally (and still numbered).
    pub fn disarm(&self) {
        self.lock().armed = false;
    }

    /// How many calls were made so far.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.lock().log.len()
    }

    /// Every call made so far, with the fault played on it.
    #[must_use]
    pub fn log(&self) -> Vec<(Call, Option<Fault>)> {
        self.lock().log.clone()
    }

    fn with_rule(rule: Rule) -> Self {
        Self(Arc::new(Mutex::new(Plan {
            rule,
            armed: true,
            log: Vec::new(),
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers `call` and says what to do to it.
    fn next(&self, call: Call) -> Option<Fault> {
        let mut plan = self.lock();
        let number = plan.log.len();
        let fault = if plan.armed {
            plan.rule.fault(number)
        } else {
            None
        };
        plan.log.push((call, fault));
        fault
    }
}

impl Rule {
    fn fault(&mut self, number: usize) -> Option<Fault> {
        match self {
            Self::Listed(faults) => faults.get(&number).copied(),
            Self::Seeded {
                state,
                fail_per_mille,
            } => {
                let draw = splitmix64(state);
                if draw % 1000 < u64::from(*fail_per_mille) {
                    Some(if draw & (1 << 20) == 0 {
                        Fault::FailBefore
                    } else {
                        Fault::FailAfter
                    })
                } else {
                    let [yields, ..] = ((draw >> 32) % 4).to_le_bytes();
                    Some(Fault::Yield(yields))
                }
            }
        }
    }
}

/// SplitMix64: a small, well-mixed deterministic generator for reproducible plans.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a wrapper does around one call: yields, and whether to fail before or after it.
async fn prelude(plan: &FaultPlan, call: Call) -> Option<Fault> {
    let fault = plan.next(call);
    if let Some(Fault::Yield(times)) = fault {
        for _ in 0..times {
            yield_once().await;
        }
        return None;
    }
    fault
}

/// A [`Store`] that fails the calls its [`FaultPlan`] says.
pub struct FaultyStore<S> {
    inner: S,
    plan: FaultPlan,
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

impl<S: Store> Store for FaultyStore<S> {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        let fault = prelude(&self.plan, Call::StoreGet).await;
        if fault == Some(Fault::FailBefore) {
            return Err(StoreError::backend(InjectedFault(Fault::FailBefore)));
        }
        let entry = self.inner.get(key).await?;
        match fault {
            Some(fault) => Err(StoreError::backend(InjectedFault(fault))),
            None => Ok(entry),
        }
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        let fault = prelude(&self.plan, Call::StorePut).await;
        if fault == Some(Fault::FailBefore) {
            return Err(StoreError::backend(InjectedFault(Fault::FailBefore)));
        }
        let version = self.inner.put(key, expected, write).await?;
        match fault {
            Some(fault) => Err(StoreError::backend(InjectedFault(fault))),
            None => Ok(version),
        }
    }

    /// Not in the plan: the index and the outbox are read and cleared by background work,
    /// whose own failures the plan's numbering of a step's calls does not cover.
    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.inner.due(until, limit).await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        self.inner.outbox(limit).await
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        self.inner.acknowledge(seqs).await
    }

    /// A batch is one call of the plan, as a `put`: failing before writes none of it, after
    /// writes all of it. An empty batch writes nothing and is no call of the plan: it is how
    /// the engine asks whether the store batches, and the inner store answers it.
    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        if writes.is_empty() {
            return self.inner.put_together(writes).await;
        }
        let fault = prelude(&self.plan, Call::StorePut).await;
        if fault == Some(Fault::FailBefore) {
            return Some(Err(StoreError::backend(InjectedFault(Fault::FailBefore))));
        }
        let versions = match self.inner.put_together(writes).await? {
            Ok(versions) => versions,
            Err(error) => return Some(Err(error)),
        };
        Some(match fault {
            Some(fault) => Err(StoreError::backend(InjectedFault(fault))),
            None => Ok(versions),
        })
    }
}

/// An [`SmsGateway`] that fails the sends its [`FaultPlan`] says.
pub struct FaultySms<M> {
    inner: M,
    plan: FaultPlan,
}

impl<M> FaultySms<M> {
    /// Wraps `inner`.
    pub fn new(inner: M, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

impl<M: SmsGateway> SmsGateway for FaultySms<M> {
    async fn send(&self, sms: &SmsMessage) -> Result<(), SmsError> {
        match prelude(&self.plan, Call::SmsSend).await {
            Some(Fault::FailBefore) => Err(SmsError::Unavailable),
            Some(_) => {
                self.inner.send(sms).await?;
                Err(SmsError::Unavailable)
            }
            None => self.inner.send(sms).await,
        }
    }
}

/// A [`Bank`] that fails the debits and refunds its [`FaultPlan`] says: before applying (the
/// bank was not reached) or after (the money moved and the answer was lost).
pub struct FaultyBank<B> {
    inner: B,
    plan: FaultPlan,
}

impl<B> FaultyBank<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

impl<B: Bank> Bank for FaultyBank<B> {
    async fn debit(&self, request: &DebitRequest) -> Result<DebitReceipt, BankError> {
        match prelude(&self.plan, Call::BankDebit).await {
            Some(Fault::FailBefore) => Err(BankError::Unavailable),
            Some(_) => {
                self.inner.debit(request).await?;
                Err(BankError::Unavailable)
            }
            None => self.inner.debit(request).await,
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt, BankError> {
        match prelude(&self.plan, Call::BankRefund).await {
            Some(Fault::FailBefore) => Err(BankError::Unavailable),
            Some(_) => {
                self.inner.refund(request).await?;
                Err(BankError::Unavailable)
            }
            None => self.inner.refund(request).await,
        }
    }
}

macro_rules! debug_wrapper {
    ($($wrapper:ident),*) => {$(
        impl<T> fmt::Debug for $wrapper<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($wrapper)).field("calls", &self.plan.calls()).finish_non_exhaustive()
            }
        }
    )*};
}

debug_wrapper!(FaultyStore, FaultySms, FaultyBank);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::testkit::block_on;

    #[test]
    fn listed_faults_hit_their_call_numbers() {
        let plan = FaultPlan::at(1, Fault::FailBefore).and(2, Fault::FailAfter);
        let store = FaultyStore::new(MemoryStore::new(), plan.clone());
        let key = Key::for_testing("k");
        block_on(async {
            assert!(store.get(&key).await.unwrap().is_none());
            assert!(matches!(
                store.put(&key, None, vec![1].into()).await,
                Err(StoreError::Backend(_))
            ));
            assert!(store.get(&key).await.is_err());
            // Call 1 failed before applying: the key is still absent.
            let version = store.put(&key, None, vec![2].into()).await.unwrap();
            assert_eq!(
                store.get(&key).await.unwrap().unwrap(),
                Entry::new(version, vec![2])
            );
        });
        assert_eq!(plan.calls(), 5);
        assert_eq!(plan.log()[1], (Call::StorePut, Some(Fault::FailBefore)));
    }

    #[test]
    fn a_failure_after_applying_keeps_the_write() {
        let plan = FaultPlan::at(0, Fault::FailAfter);
        let inner = MemoryStore::new();
        let store = FaultyStore::new(inner.clone(), plan);
        let key = Key::for_testing("k");
        block_on(async {
            assert!(store.put(&key, None, vec![7].into()).await.is_err());
            assert_eq!(inner.get(&key).await.unwrap().unwrap().value(), [7]);
        });
    }

    #[test]
    fn seeded_plans_reproduce_and_disarm() {
        let draw = |seed| {
            let plan = FaultPlan::seeded(seed, 300);
            (0..200)
                .map(|_| plan.next(Call::StoreGet))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let faults = draw(7);
        let failures = faults
            .iter()
            .filter(|f| matches!(f, Some(Fault::FailBefore | Fault::FailAfter)))
            .count();
        assert!((30..100).contains(&failures), "{failures} of 200 at 30%");
        let plan = FaultPlan::seeded(7, 1000);
        plan.disarm();
        assert_eq!(plan.next(Call::BankDebit), None);
        assert_eq!(plan.calls(), 1);
    }
}
