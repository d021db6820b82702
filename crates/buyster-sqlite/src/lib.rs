#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::indexing_slicing,
    clippy::float_arithmetic,
    clippy::arithmetic_side_effects,
    clippy::exhaustive_structs,
    clippy::exhaustive_enums
)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod error;
mod options;
mod reader;
mod registry;
mod schema;
mod stats;
mod store;
mod writer;

pub use error::OpenError;
pub use options::Options;
pub use schema::{MIGRATIONS, SCHEMA_VERSION};
pub use stats::Stats;
pub use store::SqliteStore;
