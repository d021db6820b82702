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

mod calls;
mod errors;
mod schema;
mod store;

pub use deadpool_postgres;
pub use errors::SetupError;
pub use schema::Schema;
pub use store::{DEFAULT_POOL_SIZE, PostgresStore, pool};
