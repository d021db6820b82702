//! The integration tests, in one binary: each module is one suite of `TESTING.md`, and a test's
//! name starts with its module's (`cargo test --test suite refunds::`). One binary links the
//! crate and the dev-dependencies once instead of once per suite.
//!
//! A suite that cannot share this process is a binary of its own beside this folder, and says
//! why at its top: `tests/zeroize.rs` (its global allocator would inspect every test's memory)
//! and `tests/schedules.rs` (shuttle's panic hook would speak up in every other test's
//! failure). Both take their helpers from `common.rs` here.

mod common;
mod phone_metadata;

mod accounts;
mod ambiguous;
mod checkout;
mod checkout_server;
mod code;
mod commits;
mod compile_fail;
mod conformance;
mod cost;
mod crash;
mod due;
mod enrollment;
mod enumeration;
mod events;
mod exemption;
mod fuzz;
mod hygiene;
mod idempotency;
mod keys;
mod layout;
mod limits;
mod model;
mod outbox;
mod phone_differential;
mod phone_numbers;
mod phone_plan;
mod pin;
mod policy;
mod refunds;
mod serde_events;
mod serde_forms;
mod settle;
mod stress;
mod tampering;
mod traces;
