//! Starting a payment, and reading one back.

use crate::Error;
use crate::error::SpendingLimit;
use crate::events::{Event, EventKind};
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::idempotency::IdempotencyKey;
use crate::ids::PaymentId;
use crate::order::Order;
use crate::payment::{AnyPayment, Initiated, Payment, State};
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

use super::Engine;
use super::records::{Attempt, event_id};
use super::trace::{step_span, traced};

impl<St: Store, Sm: SmsGateway, Bk: Bank, C: Clock> Engine<St, Sm, Bk, C> {
    /// Starts a payment of `order` by the holder of `phone`. The buyer's PIN comes next.
    ///
    /// Never looks at accounts: the answer is the same for every well-formed number, enrolled or
    /// not, so that a checkout page tells nothing about who is enrolled.
    ///
    /// # Errors
    ///
    /// [`Error::CurrencyNotAccepted`] for an order in a currency the policy does not take,
    /// [`Error::LimitExceeded`] (`PerPayment`, `frees_at: None`) for an amount above the
    /// policy's per-payment limit for its currency (nothing is stored for either),
    /// [`Error::Storage`] when the store fails.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Amount, Currency, Error, Merchant, Order, PaymentId, PhoneNumber};
    ///
    /// /// `POST /checkout`: the number the buyer typed; the payment id goes into the session.
    /// async fn start_checkout(engine: &Engine, typed: &str) -> Result<PaymentId, Error> {
    ///     let phone: PhoneNumber = typed.parse()?;
    ///     let merchant = Merchant::new("boutique-exemple", "Boutique Exemple")?;
    ///     let amount = Amount::new(4990, Currency::EUR)?;
    ///     let order = Order::new(merchant, amount, "CMD-2026-000123")?;
    ///     let payment = engine.initiate(order, &phone).await?;
    ///     Ok(payment.id())
    /// }
    /// ```
    pub async fn initiate(
        &self,
        order: Order,
        phone: &PhoneNumber,
    ) -> Result<Payment<Initiated>, Error> {
        let span = step_span!("buyster.initiate", payment = ::tracing::field::Empty);
        traced(span, async move {
            self.admissible(&order)?;
            let now = self.clock.now();
            let payment = Payment::new(order, phone.clone(), now, self.policy.payment_ttl);
            // A new payment's key is absent: a lost race is an id already taken, and a new id
            // goes again.
            self.retry(payment, |payment| {
                Box::pin(async move {
                    Ok(match self.create(&payment, now).await? {
                        Some(version) => Attempt::Done(payment.with_version(version)),
                        None => Attempt::Again(payment.with_new_id()),
                    })
                })
            })
            .await
        })
        .await
    }

    /// Starts the one payment of `order` under the merchant's `key`, or gives back the payment
    /// an earlier call made for it, in whatever state it now is: a double click, a retried
    /// request, a second browser tab or another server of the merchant gets the same payment,
    /// and the buyer is debited once.
    ///
    /// The payment's id is not drawn but derived from the merchant id and `key` (with the
    /// engine's index key, which rotations keep), and the payment is written only if that id is
    /// free: one write, nothing else stored. When it is taken, the payment under it is read and
    /// given back if it is of the same order (the same merchant id and display name, amount and
    /// currency, reference and channel) by the same `phone`. The `Initiated` event is reported
    /// by the call that made the payment only. A payment that failed (expired, cancelled,
    /// declined) stays the answer for its key: to try again, the merchant uses a new key.
    /// Like [`Engine::initiate`], it never looks at accounts.
    ///
    /// A key lives as long as its payment's record (see [`Store`] on archiving).
    ///
    /// # Errors
    ///
    /// [`Error::CurrencyNotAccepted`] for an order in a currency the policy does not take
    /// (nothing is read or stored); [`Error::LimitExceeded`] (`PerPayment`, `frees_at: None`)
    /// for an amount above the per-payment limit, unless the key already holds this very order's
    /// payment, made under an earlier policy, which is given back (nothing is stored);
    /// [`Error::IdempotencyKeyReused`] when the merchant's `key`
    /// names a payment of another order or another number (that payment is left as it is,
    /// and the error tells nothing of it); [`Error::Tampered`] when the stored payment fails
    /// its integrity check; [`Error::Storage`] when the store fails; [`Error::Conflict`] if the
    /// payment under the key keeps vanishing between the write and the read (a host archiving
    /// it that very moment).
    ///
    /// # Security
    ///
    /// Whoever calls with a key, its order and the buyer's number gets that buyer's payment, and
    /// the refusal tells a caller that the key is taken. Make the key on the merchant's server
    /// (its order id, or a UUID stored with the order), never take it as it comes from the
    /// browser.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Amount, AnyPayment, Currency, Error, IdempotencyKey, Merchant, Order};
    /// use buyster::PhoneNumber;
    ///
    /// /// `POST /orders/{order}/pay`, posted twice (a double click, a second tab): one payment.
    /// /// The answer is where the buyer goes next.
    /// async fn pay_order(engine: &Engine, order_id: &str, typed: &str) -> Result<String, Error> {
    ///     let phone: PhoneNumber = typed.parse()?;
    ///     let key: IdempotencyKey = format!("order/{order_id}").parse()?;
    ///     let merchant = Merchant::new("boutique-exemple", "Boutique Exemple")?;
    ///     let order = Order::new(merchant, Amount::new(4990, Currency::EUR)?, order_id)?;
    ///     Ok(match engine.initiate_once(order, &phone, &key).await? {
    ///         AnyPayment::Initiated(new) => format!("/payments/{}/pin", new.id()),
    ///         // Paying this order again takes a new key, say `order/{order_id}/2`.
    ///         AnyPayment::Failed(_) => format!("/orders/{order_id}/failed"),
    ///         // Further along already: its status page.
    ///         other => format!("/payments/{}", other.id()),
    ///     })
    /// }
    /// ```
    pub async fn initiate_once(
        &self,
        order: Order,
        phone: &PhoneNumber,
        key: &IdempotencyKey,
    ) -> Result<AnyPayment, Error> {
        let id = self
            .keys
            .order_payment_id(order.merchant().id().as_str(), key);
        let span = step_span!("buyster.initiate_once", payment = %id);
        traced(span, async move {
            let refused = match self.admissible(&order) {
                Ok(()) => None,
                Err(Error::CurrencyNotAccepted(currency)) => {
                    return Err(Error::CurrencyNotAccepted(currency));
                }
                Err(above) => Some(above),
            };
            let now = self.clock.now();
            let payment = Payment::with_id(id, order, phone.clone(), now, self.policy.payment_ttl);
            if let Some(above) = refused {
                // Never made now; but an order paid or started under an earlier policy keeps
                // its payment, which a retry must find.
                return match self.find_payment(id).await? {
                    Some(found) if self.same_order(&found, &payment) => Ok(found),
                    Some(_) => Err(Error::IdempotencyKeyReused),
                    None => Err(above),
                };
            }
            self.retry(payment, |payment| Box::pin(self.store_once(payment, now)))
                .await
        })
        .await
    }

    /// One attempt at storing `payment`, the payment of an idempotency key: made, or found made
    /// for the same order and number, or the key refused. A lost race is the payment another
    /// call made, read back; a payment archived meanwhile leaves its key free, and the attempt
    /// goes again.
    /// Stores `payment` under its key if the key is absent, with its `Initiated` event; its
    /// version, or `None` when the key was taken.
    async fn create(
        &self,
        payment: &Payment<Initiated>,
        now: Timestamp,
    ) -> Result<Option<crate::host::Version>, Error> {
        let event = self.announcing().then(|| {
            let id = event_id(payment.key(), None, now);
            Event::payment(id, EventKind::Initiated, payment, now)
        });
        let write = self.with_event(self.payment_write(payment), event.as_ref());
        let version = self.try_put(payment.key(), None, write).await?;
        if version.is_some() {
            self.emit_stored(event.as_ref());
        }
        Ok(version)
    }

    async fn store_once(
        &self,
        payment: Payment<Initiated>,
        now: Timestamp,
    ) -> Result<Attempt<Payment<Initiated>, AnyPayment>, Error> {
        if let Some(version) = self.create(&payment, now).await? {
            return Ok(Attempt::Done(payment.with_version(version).into_any()));
        }
        match self.find_payment(payment.id()).await? {
            Some(found) if self.same_order(&found, &payment) => Ok(Attempt::Done(found)),
            Some(_) => Err(Error::IdempotencyKeyReused),
            None => Ok(Attempt::Again(payment)),
        }
    }

    /// Whether the policy takes `order` at all: its currency, and its amount within the
    /// per-payment limit, which is the same for every number and so tells nothing about the
    /// buyer. Refused here, before anything is stored; the 24-hour and 30-day limits depend on
    /// the number's history and are checked after the right PIN.
    fn admissible(&self, order: &Order) -> Result<(), Error> {
        let amount = order.amount();
        let limits = self
            .policy
            .limits(amount.currency())
            .ok_or(Error::CurrencyNotAccepted(amount.currency()))?;
        if amount.minor_units() > limits.max_per_payment {
            return Err(Error::LimitExceeded {
                limit: SpendingLimit::PerPayment,
                frees_at: None,
            });
        }
        Ok(())
    }

    /// Whether `found`, stored under an idempotency key, is the payment of the same order by
    /// the same number as `payment`.
    fn same_order(&self, found: &AnyPayment, payment: &Payment<Initiated>) -> bool {
        found.order() == payment.order() && found.phone() == payment.phone()
    }

    /// The payment stored under `id`, in whatever state it is.
    ///
    /// A read only: a payment past its time to live shows its last state until the next
    /// transition (or [`Engine::cancel`]) records the expiry.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Tampered`] when the record fails its integrity check,
    /// [`Error::Storage`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{AnyPayment, Error, PaymentId};
    ///
    /// /// `GET /payments/{id}`: what the status page shows.
    /// async fn status(engine: &Engine, id: PaymentId) -> Result<String, Error> {
    ///     Ok(match engine.load(id).await? {
    ///         AnyPayment::Confirmed(paid) => format!("paid: {}", paid.receipt().bank_reference()),
    ///         AnyPayment::Failed(failed) => format!("not paid: {}", failed.reason()),
    ///         other => format!("in progress: {}", other.kind()),
    ///     })
    /// }
    /// ```
    pub async fn load(&self, id: PaymentId) -> Result<AnyPayment, Error> {
        let span = step_span!("buyster.load", payment = %id);
        traced(span, async move { self.read_payment(id).await }).await
    }

    /// The payment stored under `id`, which must be in state `S`: how a web server picks a
    /// payment up again from the id it kept between two requests.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] when the payment is in another state, and those of [`Engine::load`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
    /// # type Engine = buyster::Engine<MemoryStore, MemorySms, MemoryBank>;
    /// use buyster::{Error, OtpSent, PaymentId};
    ///
    /// /// `GET /payments/{id}/code`: the code form, or where the payment went meanwhile.
    /// async fn code_form(engine: &Engine, id: PaymentId) -> Result<String, Error> {
    ///     match engine.resume::<OtpSent>(id).await {
    ///         Ok(sent) => Ok(format!("type the code; {} attempts", sent.attempts_left())),
    ///         Err(Error::WrongState { found, .. }) => Ok(format!("this payment is {found}")),
    ///         Err(error) => Err(error),
    ///     }
    /// }
    /// ```
    pub async fn resume<S: State>(&self, id: PaymentId) -> Result<Payment<S>, Error> {
        let span = step_span!("buyster.resume", payment = %id);
        traced(span, async move { self.payment_in::<S>(id).await }).await
    }
}
