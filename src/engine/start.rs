//! Starting a payment, and reading one back.

use crate::Error;
use crate::events::{Event, EventKind};
use crate::host::{Bank, Clock, SmsGateway, Store};
use crate::ids::PaymentId;
use crate::order::Order;
use crate::payment::{AnyPayment, Initiated, Payment, State};
use crate::phone::PhoneNumber;

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
    /// [`Error::CurrencyNotAccepted`] for an order in a currency the policy does not take
    /// (nothing is stored), [`Error::Storage`] when the store fails.
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
            let currency = order.amount().currency();
            if self.policy.limits(currency).is_none() {
                return Err(Error::CurrencyNotAccepted(currency));
            }
            let now = self.clock.now();
            let payment = Payment::new(order, phone.clone(), now, self.policy.payment_ttl);
            // A new payment's key is absent: a lost race is an id already taken, and a new id
            // goes again.
            self.retry(payment, |payment| {
                Box::pin(async move {
                    let event = self.announcing().then(|| {
                        let id = event_id(payment.key(), None);
                        Event::payment(id, EventKind::Initiated, &payment, now)
                    });
                    let write = self.with_event(self.payment_write(&payment), event.as_ref());
                    Ok(match self.try_put(payment.key(), None, write).await? {
                        Some(version) => {
                            self.emit_stored(event.as_ref());
                            Attempt::Done(payment.with_version(version))
                        }
                        None => Attempt::Again(payment.with_new_id()),
                    })
                })
            })
            .await
        })
        .await
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
