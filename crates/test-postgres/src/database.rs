//! Fresh databases: made over a connection of their own, on a thread and runtime of their own.

use std::thread;

use tokio::sync::oneshot;

/// Creates the database `name` on the server of `admin_url`, awaitable on any executor.
pub(crate) async fn create(admin_url: String, name: String) {
    let (done, answer) = oneshot::channel();
    thread::spawn(move || {
        // The receiver may be gone: the test stopped waiting.
        let _ = done.send(run(&admin_url, &name));
    });
    match answer.await {
        Ok(result) => succeed(result),
        Err(_) => succeed(Err("the thread creating the database ended".to_owned())),
    }
}

/// Creates the database `name` on the server of `admin_url`, blocking the calling thread.
pub(crate) fn create_blocking(admin_url: String, name: String) {
    let result = thread::spawn(move || run(&admin_url, &name))
        .join()
        .unwrap_or_else(|_| Err("the thread creating the database panicked".to_owned()));
    succeed(result);
}

#[allow(
    clippy::panic,
    reason = "a test harness fails the test by panicking, as assert! does"
)]
fn succeed(result: Result<(), String>) {
    if let Err(error) = result {
        panic!("the test PostgreSQL could not create a database: {error}");
    }
}

fn run(admin_url: &str, name: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("connecting to {admin_url}: {e}"))?;
        let connection = tokio::spawn(connection);
        // The name is made here of letters, digits and underscores: no quoting needed.
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        drop(client);
        let _ = connection.await;
        Ok(())
    })
}

/// `url` with its database replaced by `name`: the path of a `postgresql://` URL, or a
/// `dbname` added to a `key=value` string (the last value of a key wins).
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("{url} dbname={name}");
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |at| tail.get(at..).unwrap_or(""));
    format!("{scheme}://{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        let cases = [
            (
                "postgresql://postgres@127.0.0.1:5432/postgres",
                "postgresql://postgres@127.0.0.1:5432/t_1",
            ),
            ("postgres://u:p@db:5432", "postgres://u:p@db:5432/t_1"),
            (
                "postgres://u@db/app?sslmode=disable",
                "postgres://u@db/t_1?sslmode=disable",
            ),
            (
                "postgres://u@db?connect_timeout=3",
                "postgres://u@db/t_1?connect_timeout=3",
            ),
            (
                "host=/run/postgresql user=me dbname=app",
                "host=/run/postgresql user=me dbname=app dbname=t_1",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "t_1"), expected, "{url}");
        }
    }
}
