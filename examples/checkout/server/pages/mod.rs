//! The HTML checkout pages: server-rendered, French, phone-sized, no script, no build step.
//!
//! | page | what |
//! |---|---|
//! | `GET /` | the order summary of the demo basket |
//! | `GET /checkout`, `POST /checkout` | mobile number and PIN: starts the payment, checks the PIN, sends the code |
//! | `GET /payments/{id}` | the payment's screen: PIN, code (attempts and time left, resend), in progress, receipt or failure |
//! | `POST /payments/{id}/pin`, `/code`, `/resend`, `/cancel` | the buyer's steps |
//!
//! A step that moves the payment on answers `303 See Other` to the payment's page; a refused
//! one shows the page again with a notice and the status of the refusal. Every form carries
//! an anti-forgery token (see [`csrf`]); before it, a form another site's page posted is
//! refused by its `Origin` or `Sec-Fetch-Site` (see `origin.rs`). A request refused
//! by an abuse limit (see `limits`: payments per client and per number, open payments, wrong
//! PINs per address and per browser session) is 429 with `Retry-After`, the page again with a
//! notice saying when to retry; a PIN refused so was not checked.

mod csrf;
mod dev;
mod layout;
mod screens;
mod words;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use buyster::{AnyPayment, Clock, PaymentId};
use serde::Deserialize;

use super::App;
use super::flow::{self, Answer, Problem, Refusal, Step};
use super::input;
use super::limits::{ClientAddress, PinSender};
use super::seed;
pub use csrf::CsrfKey;
use csrf::Session;
pub use dev::router as dev_router;
pub use layout::security_headers;

type Shared = State<Arc<App>>;

/// The checkout pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(shop))
        .route("/checkout", get(checkout).post(start))
        .route("/payments/{id}", get(show))
        .route("/payments/{id}/pin", axum::routing::post(pin))
        .route("/payments/{id}/code", axum::routing::post(code))
        .route("/payments/{id}/resend", axum::routing::post(resend))
        .route("/payments/{id}/cancel", axum::routing::post(cancel))
}

/// Any other path.
pub async fn not_found() -> Response {
    screens::not_found().into_response()
}

/// The answer to a form another site's page made a browser post (see `origin.rs`).
pub fn cross_site() -> Response {
    screens::cross_site().into_response()
}

/// The fields of the forms; a missing field reads as empty and is refused as malformed.
#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    code: String,
}

async fn shop(State(app): Shared, session: Session) -> Response {
    screens::shop(&session, app.dev_pages).into_response()
}

/// `GET /checkout`: a new order for the basket, numbered here and sealed into the form, so
/// that posting the form again (a double click, a reload, a second tab of the page) pays that
/// one order once.
async fn checkout(State(app): Shared, session: Session) -> Response {
    match app.index.next_number("order").await {
        Ok(number) => {
            let order = session.seal_order(&format!("CMD-{number:06}"));
            screens::checkout(&session, &order, None).into_response()
        }
        Err(error) => {
            let refusal = flow::internal("numbering an order", &error);
            refused_without_payment(&app, &session, &refusal)
        }
    }
}

/// `POST /checkout`: the payment of the form's order (made once, whatever the number of
/// posts), the PIN check and the code.
async fn start(
    State(app): Shared,
    address: ClientAddress,
    session: Session,
    Form(fields): Form<Fields>,
) -> Response {
    let reference = match session.open_order(&fields.order) {
        Some(reference) if session.accepts(&fields.csrf) => reference,
        _ => return screens::forbidden(&session, "/checkout").into_response(),
    };
    let parsed = input::phone(&fields.phone)
        .and_then(|phone| Ok((phone, input::pin(&fields.pin, app.policy())?)));
    let (phone, pin) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            let text = words::problem(&problem, app.clock.now(), app.policy());
            return screens::checkout(&session, &fields.order, Some(&text))
                .status(StatusCode::BAD_REQUEST)
                .into_response();
        }
    };
    let started = async {
        let amount = seed::basket_total().map_err(|e| flow::internal("the basket", &e))?;
        let order = app.order(seed::MERCHANT_ID, amount, reference).await?;
        let key = input::order_key(None, &order)?;
        app.start(address, order, &phone, &key).await
    };
    match started.await {
        Ok(AnyPayment::Initiated(payment)) => {
            let id = payment.id();
            let sender = pin_sender(&app, address, &session);
            respond(&app, &session, id, app.submit_pin(sender, id, &pin).await).await
        }
        // The form posted again: the order's payment is further along already.
        Ok(payment) => see_payment(payment.id()),
        Err(refusal) if matches!(refusal.problem, Problem::KeyReused | Problem::Limited(_)) => {
            let now = app.clock.now();
            let text = words::problem(&refusal.problem, now, app.policy());
            let page = screens::checkout(&session, &fields.order, Some(&text))
                .status(refusal.problem.status())
                .into_response();
            with_retry_after(page, &refusal.problem, now)
        }
        Err(refusal) => refused_without_payment(&app, &session, &refusal),
    }
}

async fn show(State(app): Shared, session: Session, Path(id): Path<String>) -> Response {
    let Ok(id) = input::payment_id(&id) else {
        return not_found().await;
    };
    match app.payment(id).await {
        Ok(payment) => {
            app.observe_payment(&payment);
            screens::payment(&session, &payment, None, app.clock.now(), app.policy())
                .into_response()
        }
        Err(refusal) => refused_without_payment(&app, &session, &refusal),
    }
}

async fn pin(
    State(app): Shared,
    address: ClientAddress,
    session: Session,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let id = match checked(&session, &id, &fields.csrf) {
        Ok(id) => id,
        Err(untaken) => return untaken.into_response(&session),
    };
    let answer = match input::pin(&fields.pin, app.policy()) {
        Ok(pin) => {
            let sender = pin_sender(&app, address, &session);
            app.submit_pin(sender, id, &pin).await
        }
        Err(problem) => Err(problem.into()),
    };
    respond(&app, &session, id, answer).await
}

async fn code(
    State(app): Shared,
    session: Session,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let id = match checked(&session, &id, &fields.csrf) {
        Ok(id) => id,
        Err(untaken) => return untaken.into_response(&session),
    };
    let answer = match input::code(&fields.code, app.policy()) {
        Ok(code) => app.submit_code(id, &code).await,
        Err(problem) => Err(problem.into()),
    };
    respond(&app, &session, id, answer).await
}

async fn resend(
    State(app): Shared,
    session: Session,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    match checked(&session, &id, &fields.csrf) {
        Ok(id) => respond(&app, &session, id, app.resend(id).await).await,
        Err(untaken) => untaken.into_response(&session),
    }
}

async fn cancel(
    State(app): Shared,
    session: Session,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    match checked(&session, &id, &fields.csrf) {
        Ok(id) => respond(&app, &session, id, app.cancel(id).await).await,
        Err(untaken) => untaken.into_response(&session),
    }
}

/// Why a posted form is not taken.
enum Untaken {
    /// It did not carry this browser's token; `back` is the page to reload.
    Forged { back: String },
    /// Its URL names no payment.
    NotFound,
}

impl Untaken {
    fn into_response(self, session: &Session) -> Response {
        match self {
            Self::Forged { back } => screens::forbidden(session, &back).into_response(),
            Self::NotFound => screens::not_found().into_response(),
        }
    }
}

/// The payment id of a form posted with this session's token.
fn checked(session: &Session, id: &str, token: &str) -> Result<PaymentId, Untaken> {
    let parsed = input::payment_id(id);
    if !session.accepts(token) {
        let back = parsed.map_or_else(|_| "/".to_owned(), |id| format!("/payments/{id}"));
        return Err(Untaken::Forged { back });
    }
    parsed.map_err(|_| Untaken::NotFound)
}

/// The answer to a step: to the payment's page when it moved on (or ended), the page again
/// with a notice when the step was refused.
async fn respond(app: &App, session: &Session, id: PaymentId, answer: Answer) -> Response {
    app.observe(&answer);
    let mut limited = None;
    let (payment, notice, status) = match answer {
        Ok(Step::Moved(_)) => return see_payment(id),
        Ok(Step::WrongPin {
            payment,
            attempts_left,
            next_lock,
        }) => (
            payment,
            words::wrong_pin(attempts_left, next_lock),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(Step::WrongCode {
            payment,
            attempts_left,
        }) => (
            payment,
            words::wrong_code(attempts_left),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // The server's own storage failed: told as such, not as the bank's delay that the
        // payment's screen would show.
        Err(Refusal {
            problem: Problem::StorageFailed,
            ..
        }) => {
            let text = words::problem(&Problem::StorageFailed, app.clock.now(), app.policy());
            return screens::error(session, &text, Problem::StorageFailed.status()).into_response();
        }
        Err(Refusal { problem, payment }) => {
            let payment = match payment {
                Some(payment) => payment,
                None => match app.payment(id).await {
                    Ok(payment) => payment,
                    Err(refusal) => return refused_without_payment(app, session, &refusal),
                },
            };
            if ended(&payment) {
                return see_payment(id);
            }
            let now = app.clock.now();
            let shown = (
                payment,
                words::problem(&problem, now, app.policy()),
                problem.status(),
            );
            limited = Some(problem);
            shown
        }
    };
    let now = app.clock.now();
    let page = screens::payment(session, &payment, Some(&notice), now, app.policy())
        .status(status)
        .into_response();
    match limited {
        Some(problem) => with_retry_after(page, &problem, now),
        None => page,
    }
}

/// Who sends a PIN from the pages: the client's address, and the browser's session.
fn pin_sender(app: &App, address: ClientAddress, session: &Session) -> PinSender {
    PinSender {
        address,
        session: Some(app.limiter.session(session.token())),
    }
}

/// Adds `Retry-After` to a page refused by an abuse limit, as the API does.
fn with_retry_after(mut page: Response, problem: &Problem, now: buyster::Timestamp) -> Response {
    if let Problem::Limited(refused) = problem {
        let wait = refused.retry_at().saturating_duration_since(now);
        // Whole seconds, rounded up, at least one.
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    page
}

/// Whether the payment's own screen tells the outcome (in progress, paid, failed).
fn ended(payment: &AnyPayment) -> bool {
    matches!(
        payment,
        AnyPayment::Authorized(_) | AnyPayment::Confirmed(_) | AnyPayment::Failed(_)
    )
}

fn see_payment(id: PaymentId) -> Response {
    Redirect::to(&format!("/payments/{id}")).into_response()
}

fn refused_without_payment(app: &App, session: &Session, refusal: &Refusal) -> Response {
    if refusal.problem == Problem::UnknownPayment {
        return screens::not_found().into_response();
    }
    let text = words::problem(&refusal.problem, app.clock.now(), app.policy());
    screens::error(session, &text, refusal.problem.status()).into_response()
}
