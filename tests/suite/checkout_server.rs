//! The checkout server of `examples/checkout`, tested from outside: its JSON API over HTTP,
//! its pages over HTTP and in headless Chromium, and its SQLite files (the engine's store is
//! `buyster-sqlite`, tested in its own crate).

#[allow(dead_code, reason = "the tests use part of the server's API")]
#[path = "../../examples/checkout/server/mod.rs"]
mod server;

mod abuse;
mod api;
mod bank;
mod battery;
mod browser;
mod defences;
mod files;
mod kill;
mod once;
mod pages;
mod postgres;
mod races;
mod receiver;
mod recovery;
mod slow;
mod store;
mod support;
mod webhooks;
