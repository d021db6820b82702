//! A merchant's checkout server on buyster and SQLite: a JSON API, HTML checkout pages, a
//! demo bank and a console SMS gateway, and a recovery task.
//!
//! ```sh
//! cargo run --example checkout -- --dev-pages   # http://127.0.0.1:8080, checkout.db, /dev/sms
//! cargo run --example checkout -- --help        # flags and environment variables
//! ```
//!
//! The server code lives in `server/`, which the tests include too.

mod server;

use std::process::ExitCode;

use server::{Command, Config, KeyOrigin, SecretOrigin, Server, seed};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1), |name| std::env::var(name).ok())
    {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            println!("{}", server::config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match run(*config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), server::StartError> {
    let (addr, dev_pages, https) = (config.addr, config.dev_pages, config.uses_https());
    let (db, bank_db, index_db) = (config.db.clone(), config.bank_db(), config.index_db());
    let on_postgres = config.postgres.is_some();
    let webhook_url = config.webhook_url.clone();
    // Bound first: a port already taken stops the start before any file is created.
    let listener =
        server::http::bind(addr).map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    let (server, origins) = Server::open(config).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("buyster checkout server on {url}");
    println!("  shop:           {url}/");
    println!("  JSON API:       {url}/api/payments");
    if dev_pages {
        println!("  SMS outbox:     {url}/dev/sms");
        println!("  bank ledger:    {url}/dev/ledger");
    } else {
        println!(
            "  SMS outbox:     each SMS printed here (--dev-pages: /dev/sms, on loopback only)"
        );
    }
    if on_postgres {
        // Not the URL: it may hold a password.
        println!("  engine's store: PostgreSQL from --postgres (buyster-postgres, schema buyster)");
        println!("  bank's ledger:  the same database (bank_ledger, bank_calls, bank_refunds)");
        println!("  shop's index:   the same database (merchants, counters; dev_sms)");
    } else {
        println!("  engine's store: {} (buyster-sqlite)", db.display());
        println!("  bank's ledger:  {}", bank_db.display());
        println!("  shop's index:   {}", index_db.display());
    }
    println!(
        "  demo merchant:  {} ({})",
        seed::MERCHANT_ID,
        seed::MERCHANT_NAME
    );
    println!(
        "  demo buyer:     {} (06 12 34 56 78), PIN {}",
        seed::BUYER_PHONE,
        seed::BUYER_PIN
    );
    println!(
        "  demo bank:      amount_minor {} is declined; {} and {} meet a bank outage",
        server::bank::DECLINED_AMOUNT,
        server::bank::OUTAGE_AMOUNT,
        server::bank::LOST_ANSWER_AMOUNT
    );
    match (webhook_url, origins.webhook_secret) {
        (Some(url), Some(origin)) => {
            println!("  webhooks:       each event POSTed to {url}, signed (Buyster-Signature)");
            match origin {
                SecretOrigin::Environment => {
                    println!("  webhook secret: from CHECKOUT_WEBHOOK_SECRET");
                }
                SecretOrigin::File(path) | SecretOrigin::NewFile(path) => {
                    println!("  webhook secret: {} (mode 0600)", path.display());
                }
            }
        }
        _ => println!("  webhooks:       off (--webhook-url URL turns them on)"),
    }
    if https {
        println!(
            "  session cookie: __Host-checkout_session, Secure: browsers come over HTTPS \
             (--no-https for plain HTTP in development)"
        );
    } else {
        println!(
            "  session cookie: checkout_session, not Secure: plain HTTP, for development \
             (--https behind a TLS proxy)"
        );
    }
    let check = &origins.key_check;
    for moved in &check.moved {
        println!("  moved aside:    {}", moved.display());
    }
    if check.new_database {
        println!(
            "  database:       creating a new database for the key with id {}",
            check.key_id
        );
        if matches!(origins.key, KeyOrigin::Environment) {
            println!(
                "warning: with the key from BUYSTER_MASTER_KEY, a first start cannot be told from a \
                 lost database: if this server had payments, stop it and restore the database"
            );
        }
    } else {
        println!("  key id:         {} (the database's)", check.key_id);
    }
    match origins.key {
        KeyOrigin::Environment => println!("  master key:     from BUYSTER_MASTER_KEY"),
        KeyOrigin::File(path) | KeyOrigin::NewFile(path) => {
            println!("  master key:     {} (mode 0600)", path.display());
            println!(
                "warning: the master key is in a file beside the database, for this demo only; \
                 a real deployment keeps it in a secret manager and passes it in BUYSTER_MASTER_KEY"
            );
        }
    }
    if dev_pages {
        println!(
            "warning: /dev/sms shows every code sent; the development pages (--dev-pages) are \
             for your machine only"
        );
    }
    server.serve(listener, shutdown_signal()).await?;
    println!("stopped");
    Ok(())
}

/// Completes on Ctrl-C.
async fn shutdown_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handler: run until killed.
        std::future::pending::<()>().await;
    }
}
