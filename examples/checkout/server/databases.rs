//! The server's databases, opened at start: SQLite files beside `--db` (one server, zero
//! setup), or one PostgreSQL database for everything (`--postgres`), which several server
//! processes share.

use buyster_sqlite::SqliteStore;

use super::StartError;
use super::bank::DemoBank;
use super::clock::ServerClock;
use super::config::Config;
use super::db::Pg;
use super::index::Index;
use super::sms::ConsoleSms;
use super::store::CheckoutStore;

/// The engine's store and the server's own tables.
pub struct Databases {
    /// The engine's records, due index and outbox.
    pub store: CheckoutStore,
    /// The demo bank's ledger.
    pub bank: DemoBank,
    /// The merchant's tables.
    pub index: Index,
    /// The development SMS outbox.
    pub sms: ConsoleSms,
}

impl Databases {
    /// Opens (creating what is missing) the databases `config` names.
    pub async fn open(config: &Config, clock: &ServerClock) -> Result<Self, StartError> {
        let Some(url) = &config.postgres else {
            return Ok(Self {
                store: CheckoutStore::Sqlite(SqliteStore::open(&config.db)?),
                bank: DemoBank::open(&config.bank_db(), clock.clone())?,
                index: Index::open(&config.index_db())?,
                sms: ConsoleSms::new(clock.clone(), config.print_sms),
            });
        };
        let pg = Pg::connect(url).await?;
        Ok(Self {
            store: CheckoutStore::postgres(url).await?,
            bank: DemoBank::open_postgres(pg.clone(), clock.clone()).await?,
            index: Index::open_postgres(pg.clone()).await?,
            sms: ConsoleSms::postgres(pg, clock.clone(), config.print_sms).await?,
        })
    }
}
