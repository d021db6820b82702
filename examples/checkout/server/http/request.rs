//! The bounds of one request once its head is in: its body's size and arrival time, and the
//! handler's time. Each refusal is the API's error shape, `{error, message}`:
//!
//! | refusal | status | `error` |
//! |---|---|---|
//! | a `Content-Length` over the size limit, answered before any of the body is read (so a client that sent `Expect: 100-continue` gets no `100 Continue` and sends nothing) | 413 | `body_too_large` |
//! | a body without `Content-Length` that passes the size limit | 413 | `body_too_large` |
//! | a body not all there within [`Limits::body_timeout`](super::Limits::body_timeout) | 408 | `request_timeout` |
//! | a body cut short, or badly chunked | 400 | `malformed_request` |
//! | a handler not done within [`Limits::handler_timeout`](super::Limits::handler_timeout) | 503 | `timeout` |
//!
//! The pages get the same JSON answers; a browser's forms are small and sent at once, so of
//! these only the handler's bound can reach a buyer there.
//!
//! The body is read whole here, before the handler runs: the bound counts from the end of the
//! head to the last byte, however slowly the bytes come (a bound per read would let a client
//! send one byte every few seconds for ever). Bodies are small, so holding one in memory is
//! cheap.
//!
//! A handler stopped by its bound is dropped between two awaits: the engine takes that as it
//! takes a crash, each step being a compare-and-swap that the next request or the recovery
//! task picks up.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

/// What the middleware needs to know: the size limit and two of the connection's bounds.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// The largest body accepted, in bytes.
    pub max_body: usize,
    /// How long the whole body may take to arrive.
    pub body_timeout: Duration,
    /// How long the handler may take.
    pub handler_timeout: Duration,
}

/// The middleware: reads the body within `bounds`, then runs the handler within its bound.
pub async fn bounded(State(bounds): State<Bounds>, request: Request, next: Next) -> Response {
    let max_body = u64::try_from(bounds.max_body).unwrap_or(u64::MAX);
    if declared_length(&request).is_some_and(|length| length > max_body) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let reading = Limited::new(body, bounds.max_body).collect();
    let bytes = match tokio::time::timeout(bounds.body_timeout, reading).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => return too_large(),
        Ok(Err(_)) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "the body could not be read whole",
            );
        }
        Err(_) => {
            return refusal(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request's body did not arrive in time",
            );
        }
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    match tokio::time::timeout(bounds.handler_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the server took too long to answer; read the payment before trying again",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

/// The `Content-Length` the client declared, when it declared one that is a number (hyper
/// refuses any other before the request gets here).
fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large() -> Response {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "the body is too large",
    )
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}
