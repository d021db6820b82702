//! The schema the store's tables live in, the migration that makes them, and the statements
//! that read and write them.

use core::fmt;

use deadpool_postgres::Pool;

use crate::SetupError;

/// The advisory lock every migration takes for its transaction, whatever the schema: two
/// instances starting at once make the tables one after the other. The bytes spell
/// `buyster!`.
const MIGRATION_LOCK: i64 = 0x6275_7973_7465_7221;

/// The name of the PostgreSQL schema holding the store's two tables, `records` and `outbox`,
/// and its sequence of versions, `versions`:
/// 1 to 63 bytes of lowercase ASCII letters, digits and underscores, not starting with a
/// digit, so that it never needs quoting. The default is `buyster`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Schema(String);

impl Schema {
    /// The schema called `name`.
    ///
    /// # Errors
    ///
    /// [`SetupError::SchemaName`] when `name` is not 1 to 63 bytes of `a-z`, `0-9` and `_`, or
    /// starts with a digit.
    pub fn new(name: &str) -> Result<Self, SetupError> {
        let allowed =
            |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'_';
        let starts_well = name
            .bytes()
            .next()
            .is_some_and(|byte| !byte.is_ascii_digit());
        if starts_well && name.len() <= 63 && name.as_bytes().iter().all(allowed) {
            Ok(Self(name.to_owned()))
        } else {
            Err(SetupError::SchemaName(name.to_owned()))
        }
    }

    /// The schema's name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Schema {
    fn default() -> Self {
        Self("buyster".to_owned())
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schema({})", self.0)
    }
}

/// The tables, their index, and the schema when it is not there yet. Every statement is a
/// no-op on a database that has them already.
fn tables(schema: &Schema) -> String {
    format!(
        r#"
        CREATE TABLE IF NOT EXISTS "{schema}".records (
            key     text   PRIMARY KEY,
            version bigint NOT NULL,
            value   bytea  NOT NULL,
            due     bigint
        );
        CREATE INDEX IF NOT EXISTS records_due ON "{schema}".records (due, key)
            WHERE due IS NOT NULL;
        CREATE TABLE IF NOT EXISTS "{schema}".outbox (
            seq   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event bytea  NOT NULL
        );
        CREATE SEQUENCE IF NOT EXISTS "{schema}".versions AS bigint;"#
    )
}

/// Whether the schema's sequence of versions exists.
async fn has_versions(
    transaction: &deadpool_postgres::Transaction<'_>,
    schema: &Schema,
) -> Result<bool, SetupError> {
    let found = transaction
        .query_opt(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = 'versions' AND c.relkind = 'S'",
            &[&schema.as_str()],
        )
        .await
        .map_err(SetupError::Migrate)?;
    Ok(found.is_some())
}

/// Makes the schema's tables and index where they are missing, in one transaction under an
/// advisory lock; see [`crate::PostgresStore::migrate`].
pub(crate) async fn migrate(pool: &Pool, schema: &Schema) -> Result<(), SetupError> {
    let mut client = pool.get().await.map_err(SetupError::Connect)?;
    let transaction = client.transaction().await.map_err(SetupError::Migrate)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(SetupError::Migrate)?;
    // A role may use a schema made for it without the right to create one: only make it
    // when it is missing.
    let exists = transaction
        .query_opt(
            "SELECT 1 FROM pg_namespace WHERE nspname = $1",
            &[&schema.as_str()],
        )
        .await
        .map_err(SetupError::Migrate)?
        .is_some();
    if !exists {
        transaction
            .batch_execute(&format!(r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#))
            .await
            .map_err(SetupError::Migrate)?;
    }
    let had_versions = has_versions(&transaction, schema).await?;
    transaction
        .batch_execute(&tables(schema))
        .await
        .map_err(SetupError::Migrate)?;
    if !had_versions {
        // Made now, for tables that may hold rows: it starts above every version they have,
        // so that no version it gives is one a key had.
        transaction
            .batch_execute(&format!(
                r#"SELECT setval('"{schema}".versions',
                       coalesce((SELECT max(version) FROM "{schema}".records), 0) + 1, false)"#
            ))
            .await
            .map_err(SetupError::Migrate)?;
    }
    transaction.commit().await.map_err(SetupError::Migrate)
}

/// The text of each statement of the store, for one schema.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) get: String,
    /// `$1` key, `$2` value, `$3` due, `$4` events: the key's first version.
    pub(crate) insert: String,
    /// `$1` key, `$2` expected version, `$3` value, `$4` due, `$5` events.
    pub(crate) update: String,
    /// `$1` key, `$2` expected version: the row deleted, if it has that version.
    pub(crate) remove: String,
    pub(crate) due: String,
    pub(crate) outbox: String,
    pub(crate) acknowledge: String,
    /// `$1` the events of a batch, appended in their order.
    pub(crate) append: String,
}

/// The events of a write, appended after it in their order, and only when it wrote a row.
const APPEND: &str = "INSERT INTO {s}.outbox (event)
        SELECT t.event FROM w, unnest($E::bytea[]) WITH ORDINALITY AS t(event, n)
        ORDER BY t.n";

impl Statements {
    pub(crate) fn new(schema: &Schema) -> Self {
        let s = format!(r#""{schema}""#);
        let append = |parameter: &str| APPEND.replace("{s}", &s).replace("$E", parameter);
        Self {
            get: format!("SELECT version, value FROM {s}.records WHERE key = $1"),
            insert: format!(
                "WITH w AS (
                    INSERT INTO {s}.records (key, version, value, due)
                    VALUES ($1, nextval('{s}.versions'), $2, $3)
                    ON CONFLICT (key) DO NOTHING
                    RETURNING version
                 ), e AS ({})
                 SELECT version FROM w",
                append("$4")
            ),
            update: format!(
                "WITH w AS (
                    UPDATE {s}.records
                    SET version = greatest(version + 1, nextval('{s}.versions')),
                        value = $3, due = $4
                    WHERE key = $1 AND version = $2
                    RETURNING version
                 ), e AS ({})
                 SELECT version FROM w",
                append("$5")
            ),
            remove: format!("DELETE FROM {s}.records WHERE key = $1 AND version = $2"),
            due: format!(
                "SELECT key, due FROM {s}.records WHERE due IS NOT NULL AND due <= $1
                 ORDER BY due, key LIMIT $2"
            ),
            outbox: format!("SELECT seq, event FROM {s}.outbox ORDER BY seq LIMIT $1"),
            acknowledge: format!("DELETE FROM {s}.outbox WHERE seq = ANY($1)"),
            append: format!(
                "INSERT INTO {s}.outbox (event)
                 SELECT t.event FROM unnest($1::bytea[]) WITH ORDINALITY AS t(event, n)
                 ORDER BY t.n"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_need_no_quoting() {
        for good in ["buyster", "_x", "t_0123456789abcdef_12", &"a".repeat(63)] {
            assert_eq!(Schema::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "1x",
            "Buyster",
            "a-b",
            "a b",
            "a\"b",
            "é",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(Schema::new(bad), Err(SetupError::SchemaName(name)) if name == bad),
                "{bad:?}"
            );
        }
        assert_eq!(Schema::default().as_str(), "buyster");
    }

    #[test]
    fn statements_name_the_schema() {
        let statements = Statements::new(&Schema::new("s1").unwrap());
        assert!(statements.update.contains(r#"UPDATE "s1".records"#));
        assert!(statements.update.contains(r#"INSERT INTO "s1".outbox"#));
        assert!(statements.update.contains("unnest($5::bytea[])"));
        assert!(statements.insert.contains("unnest($4::bytea[])"));
        assert!(!statements.insert.contains("{s}"));
    }
}
