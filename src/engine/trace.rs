//! The spans of the engine's steps, behind the `tracing` feature: one per public step, named
//! `buyster.<step>` (`buyster.back_office.<step>` for the back office's), with the payment or
//! enrollment id (or the masked number), the state the step reached and its outcome. Without
//! the feature, a span is nothing and a step runs as it is.
//!
//! A span never holds a PIN, a code, a key, a tag, a full phone number or a funding source:
//! ids, masked numbers, state names and outcome words only.

use core::future::Future;

use crate::Error;

/// The span of one step: [`tracing::Span`], or nothing without the feature.
#[cfg(feature = "tracing")]
pub(super) type Span = tracing::Span;

/// The span of one step: nothing without the `tracing` feature.
#[cfg(not(feature = "tracing"))]
#[derive(Clone, Copy)]
pub(super) struct Span;

/// The span of the step named `$name`, with the fields given in `tracing`'s syntax (never a
/// secret, a full number or a funding source) and `state` and `outcome` recorded when the
/// step ends (see [`traced`]). Without the feature, the fields are not even evaluated.
macro_rules! step_span {
    ($name:literal $(, $($fields:tt)+)?) => {{
        #[cfg(feature = "tracing")]
        let span = ::tracing::info_span!(
            $name,
            $($($fields)+,)?
            state = ::tracing::field::Empty,
            outcome = ::tracing::field::Empty,
        );
        #[cfg(not(feature = "tracing"))]
        let span = $crate::engine::trace::Span;
        span
    }};
}

pub(super) use step_span;

/// Runs `step` inside `span`, and records on it the state reached and the outcome.
#[cfg(feature = "tracing")]
pub(super) async fn traced<T: Traced>(
    span: Span,
    step: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let answer = tracing::Instrument::instrument(step, span.clone()).await;
    match &answer {
        Ok(value) => {
            value.record_ids(&span);
            if let Some(state) = value.state() {
                span.record("state", state);
            }
            span.record("outcome", value.outcome());
        }
        Err(error) => {
            span.record("outcome", error_name(error));
        }
    }
    answer
}

/// Runs `step`: without the `tracing` feature there is nothing to record.
#[cfg(not(feature = "tracing"))]
pub(super) async fn traced<T>(
    _span: Span,
    step: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    step.await
}

#[cfg(feature = "tracing")]
mod answers;
#[cfg(feature = "tracing")]
use answers::{Traced, error_name};
