//! The JSON API, for a merchant's own front end.
//!
//! | request | body | success |
//! |---|---|---|
//! | `POST /api/payments` | `{merchant, amount_minor, currency, reference, phone, channel?}` | 201 |
//! | `GET /api/payments/{id}` | | 200 |
//! | `POST /api/payments/{id}/pin` | `{pin}` | 200, `otp_sent`: the code is sent |
//! | `POST /api/payments/{id}/code` | `{code}` | 200, `confirmed` |
//! | `POST /api/payments/{id}/resend` | | 200, `otp_sent` |
//! | `POST /api/payments/{id}/cancel` | | 200, `failed` |
//!
//! `POST /api/payments` makes one payment per order: under the request's `Idempotency-Key`
//! header, or else under the order's `reference`. The same request again (a retry, a double
//! click, a second tab) answers the same payment as it now stands; another order or number
//! under the same key is 409 `idempotency_key_reused`, and the first payment is left as it is.
//!
//! Every success is the payment's view ([`view::PaymentView`]); every error is
//! `{error, message}` plus, when there is a payment, its `id` and `state`, and the details of
//! the error (`attempts_left`, `retry_at`, `locked_until`, `decline_reason`). A wrong PIN or
//! code is 422 with `attempts_left`. See `reply.rs` for every status; a body that does not
//! arrive in time (408 `request_timeout`) or a handler past its bound (503 `timeout`) is
//! answered before or around the handler, see `http/request.rs`.
//!
//! Abuse limits (see `limits`) answer 429 with `retry_at` and `Retry-After`, before the
//! engine is asked: `too_many_payments`, `too_many_payments_for_number`,
//! `too_many_open_payments` on `POST /api/payments` (a retried request counts nothing), and
//! `too_many_pin_attempts`, `too_many_pin_numbers` on the PIN, the payment unchanged.
//!
//! The API sets and reads no cookie: the payment id in the URL is the only handle. Bodies must
//! be `application/json` and name each key once (see `body.rs`), and a `POST` that another
//! site's page made a browser send is 403 `cross_site_request` (see `origin.rs`): `resend` and
//! `cancel` read no body, so the content type alone would not keep an HTML form out.

mod body;
mod reply;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use buyster::{Amount, Channel, Clock, Currency};

use super::App;
use super::flow::Answer;
use super::input::{self, Field, malformed};
use super::limits::{ClientAddress, PinSender};
use body::JsonObject;
use reply::Reply;

type Shared = State<Arc<App>>;

/// The header under which a merchant's front end names the order's payment, the usual
/// convention for retried `POST`s.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The routes under `/api`.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/payments", post(create))
        .route("/payments/{id}", get(show))
        .route("/payments/{id}/pin", post(pin))
        .route("/payments/{id}/code", post(code))
        .route("/payments/{id}/resend", post(resend))
        .route("/payments/{id}/cancel", post(cancel))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// `POST /api/payments`: starts the order's payment (or gives back the one an earlier request
/// made for it, under its `Idempotency-Key` or else its reference); the PIN comes next.
async fn create(
    State(app): Shared,
    client: ClientAddress,
    headers: HeaderMap,
    body: JsonObject,
) -> Reply {
    let now = app.clock.now();
    let started = async {
        let merchant = body.text("merchant", Field::Merchant)?;
        let minor = body.whole_number("amount_minor", Field::Amount)?;
        let currency = body.text("currency", Field::Currency)?;
        let currency: Currency = currency
            .parse()
            .map_err(|_| malformed(Field::Currency, "`currency` must be EUR"))?;
        let amount = Amount::new(minor, currency)
            .map_err(|error| malformed(Field::Amount, error.to_string()))?;
        let reference = body.text("reference", Field::Reference)?;
        let channel = match body.optional_text("channel", Field::Channel)? {
            Some(name) => name
                .parse()
                .map_err(|error: buyster::Error| malformed(Field::Channel, error.to_string()))?,
            None => Channel::Web,
        };
        let phone = input::phone(body.text("phone", Field::Phone)?)?;
        let order = app.order(merchant, amount, reference).await?;
        let key = input::order_key(
            headers.get(IDEMPOTENCY_KEY).map(HeaderValue::as_bytes),
            &order,
        )?;
        app.start(client, order.with_channel(channel), &phone, &key)
            .await
    };
    match started.await {
        Ok(payment) => Reply::payment(StatusCode::CREATED, &payment)
            .located(&format!("/api/payments/{}", payment.id())),
        Err(refusal) => Reply::of_refusal(&refusal, now),
    }
}

/// `GET /api/payments/{id}`.
async fn show(State(app): Shared, Path(id): Path<String>) -> Reply {
    let now = app.clock.now();
    let found = async { app.payment(input::payment_id(&id)?).await };
    match found.await {
        Ok(payment) => {
            app.observe_payment(&payment);
            Reply::payment(StatusCode::OK, &payment)
        }
        Err(refusal) => Reply::of_refusal(&refusal, now),
    }
}

/// `POST /api/payments/{id}/pin`: checks the PIN, then sends the code.
async fn pin(
    State(app): Shared,
    address: ClientAddress,
    Path(id): Path<String>,
    body: JsonObject,
) -> Reply {
    let sender = PinSender {
        address,
        session: None,
    };
    let answer = async {
        let id = input::payment_id(&id)?;
        let pin = input::pin(body.text("pin", Field::Pin)?, app.policy())?;
        app.submit_pin(sender, id, &pin).await
    };
    step(&app, answer.await)
}

/// `POST /api/payments/{id}/code`: checks the code; a right one debits the buyer.
async fn code(State(app): Shared, Path(id): Path<String>, body: JsonObject) -> Reply {
    let answer = async {
        let id = input::payment_id(&id)?;
        let code = input::code(body.text("code", Field::Code)?, app.policy())?;
        app.submit_code(id, &code).await
    };
    step(&app, answer.await)
}

/// `POST /api/payments/{id}/resend`: sends a new code (or the first, if its send failed).
async fn resend(State(app): Shared, Path(id): Path<String>) -> Reply {
    let answer = async { app.resend(input::payment_id(&id)?).await };
    step(&app, answer.await)
}

/// `POST /api/payments/{id}/cancel`: the buyer gives up.
async fn cancel(State(app): Shared, Path(id): Path<String>) -> Reply {
    let answer = async { app.cancel(input::payment_id(&id)?).await };
    step(&app, answer.await)
}

fn step(app: &App, answer: Answer) -> Reply {
    app.observe(&answer);
    Reply::of_answer(answer, StatusCode::OK, app.clock.now())
}

/// The answer to a request another site's page made a browser send (see `origin.rs`).
pub fn cross_site() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    Reply::error(
        StatusCode::FORBIDDEN,
        "cross_site_request",
        "this request came from another site's page (Origin or Sec-Fetch-Site); it is refused",
    )
    .into_response()
}

async fn not_found() -> Reply {
    Reply::error(StatusCode::NOT_FOUND, "not_found", "no such API route")
}

async fn method_not_allowed() -> Reply {
    Reply::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method",
    )
}
