//! `PostgresStore` on a real PostgreSQL, one test binary so that the test process starts one
//! server (see `buyster-test-postgres`).

mod common;
mod conformance;
mod due_index;
mod errors;
mod migration;
mod racing;
