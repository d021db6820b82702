//! Webhooks: the engine's durable events, each POSTed as JSON to the merchant's URL and
//! signed, by a delivery task that retries with a growing wait while the endpoint fails.
//!
//! Each request carries:
//!
//! - the event's JSON form (buyster's `serde` feature), `id` first, as the body;
//! - `Buyster-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
//! - `Buyster-Event-Id: <id>`, the same for every delivery of one event.
//!
//! The merchant's receiver checks the signature and the time with [`verify_webhook`] on the
//! raw body, answers 2xx once the event is safely kept, and drops an id it has already
//! handled: delivery is at least once, in the order of each payment's changes.

mod delivery;
mod secret;
mod signature;
#[allow(
    dead_code,
    reason = "the receiver's side, for merchants' code and the tests; the server only signs"
)]
mod verify;

use std::time::Duration;

use buyster::{Clock, DeliveryError, Event, EventDelivery};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::clock::ServerClock;
pub use delivery::{Schedule, run};
pub use secret::{SecretOrigin, read_or_create};
pub use signature::{WebhookSecret, signature_header};
#[allow(
    unused_imports,
    reason = "the receiver's side, for merchants' code and the tests; the server only signs"
)]
pub use {
    signature::WebhookError,
    verify::{DEFAULT_TOLERANCE, verify_webhook},
};

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "buyster-signature";
/// The event id header's name.
pub const EVENT_ID_HEADER: &str = "buyster-event-id";

/// Delivers events to the merchant's URL: one signed POST each, a 2xx answer within the
/// timeout taking it.
pub struct WebhookSender {
    url: Uri,
    secret: WebhookSecret,
    timeout: Duration,
    clock: ServerClock,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl WebhookSender {
    /// A sender to `url` (`http://…`), signing with `secret`, giving each request `timeout`.
    ///
    /// # Errors
    ///
    /// A message when `url` is not an absolute `http://` URL. (The demo's client speaks plain
    /// HTTP: put a TLS-terminating proxy in front of a remote endpoint, or give the client
    /// `hyper-rustls`.)
    pub fn new(
        url: &str,
        secret: WebhookSecret,
        timeout: Duration,
        clock: ServerClock,
    ) -> Result<Self, String> {
        let url: Uri = url
            .parse()
            .map_err(|_| format!("webhook URL {url:?} is not a URL"))?;
        if url.scheme_str() != Some("http") || url.host().is_none() {
            return Err(format!(
                "webhook URL {url} must be http://host[:port]/path (this demo's client has no TLS)"
            ));
        }
        Ok(Self {
            url,
            secret,
            timeout,
            clock,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    async fn post(&self, event: &Event) -> Result<(), String> {
        let body = serde_json::to_vec(event).map_err(|error| format!("encoding: {error}"))?;
        let now_secs = self.clock.now().as_unix_millis() / 1000;
        let request = Request::post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "buyster-checkout-webhooks/1")
            .header(
                SIGNATURE_HEADER,
                signature_header(&self.secret, now_secs, &body),
            )
            .header(EVENT_ID_HEADER, event.id().to_string())
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| format!("request: {error}"))?;
        let answer = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout.as_millis()))?
            .map_err(|error| format!("sending: {error}"))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", answer.status()))
        }
    }
}

impl EventDelivery for WebhookSender {
    async fn deliver(&self, event: &Event) -> Result<(), DeliveryError> {
        self.post(event).await.map_err(|reason| {
            eprintln!("webhook: event {} not taken: {reason}", event.id());
            DeliveryError::new(reason)
        })
    }
}
