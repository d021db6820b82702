//! The server's settings: defaults for the demo, changed by flags or environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use buyster::{Policy, SecretKey};

use super::http;
use super::limits::Limits;
use super::webhook::{Schedule, WebhookSecret};

/// What `--help` prints.
pub const USAGE: &str = "\
A merchant's checkout server on buyster and SQLite.

Usage: cargo run --example checkout -- [OPTIONS]

Options:
  --addr ADDR        address to listen on [env CHECKOUT_ADDR] [default: 127.0.0.1:8080]
  --db PATH          the engine's SQLite store, created if absent; the demo bank's ledger and
                     the merchant's tables go beside it, in PATH with the extensions .bank.db
                     and .index.db [env CHECKOUT_DB] [default: checkout.db]
  --postgres URL     run on PostgreSQL (postgresql://user@host/db): the engine's store, the
                     bank's ledger, the merchant's tables and the development SMS outbox,
                     created if missing, so that several servers share them; --db then only
                     places the key files [env BUYSTER_POSTGRES_URL]
  --dev-pages        serve /dev/sms (every code sent) and /dev/ledger, for development on
                     a loopback address only [env CHECKOUT_DEV_PAGES=1] [default: off]
  --no-dev-pages     do not serve them [env CHECKOUT_DEV_PAGES=0]
  --https            browsers reach the server over HTTPS (a TLS proxy in front): the session
                     cookie is __Host-checkout_session, Secure [env CHECKOUT_HTTPS=1]
                     [default: on unless --addr is a loopback address]
  --no-https         plain HTTP, for development: the cookie is checkout_session, without
                     Secure, which browsers would drop over HTTP [env CHECKOUT_HTTPS=0]
  --webhook-url URL  POST each of the engine's events, signed, to this http:// URL; without
                     it the engine keeps no durable events [env CHECKOUT_WEBHOOK_URL]
  --webhook-secret-file PATH
                     the webhook signing secret's file, created (mode 0600) if absent
                     [env CHECKOUT_WEBHOOK_SECRET_FILE] [default: PATH of --db with the
                     extension .webhook.key]; CHECKOUT_WEBHOOK_SECRET gives the secret itself
  --demo-buyers N    enroll N more demo buyers, +33 6 12 30 00 00 and on, with the demo
                     buyer's PIN, for load tests [env CHECKOUT_DEMO_BUYERS] [default: 0]
  --max-connections N
                     connections open at once; at the cap the server stops accepting until
                     one closes; keep it 256 under the open-files limit (ulimit -n)
                     [env CHECKOUT_MAX_CONNECTIONS] [default: 768]
  --header-timeout SECS
                     time for a request's head, from the accept or the previous answer (so
                     also the idle time of a kept-alive connection) [env CHECKOUT_HEADER_TIMEOUT]
                     [default: 10]
  --body-timeout SECS
                     time for a request's whole body: 408 after it [env CHECKOUT_BODY_TIMEOUT]
                     [default: 10]
  --handler-timeout SECS
                     time for the answer once the body is in: 503 after it
                     [env CHECKOUT_HANDLER_TIMEOUT] [default: 30]
  --reinitialise     start over with the key given, over a database whose records another
                     key sealed, or over a database missing or empty where the key file or
                     the ledger says there was one: on SQLite the three files move aside,
                     named with .key-OLD_KEY_ID (nothing is deleted);
                     on PostgreSQL the server refuses and says what to do by hand; remove the
                     flag after that start [env CHECKOUT_REINITIALISE=1]

Abuse limits (per server process, in memory; a retried request counts once):
  --payments-per-client N     payments one client (IP address; IPv6 by /64) may start per
                              payment window [env CHECKOUT_PAYMENTS_PER_CLIENT] [default: 20]
  --payments-per-number N     payments started for one number per payment window, all
                              clients together [env CHECKOUT_PAYMENTS_PER_NUMBER] [default: 10]
  --payment-window SECS       [env CHECKOUT_PAYMENT_WINDOW] [default: 600]
  --open-payments-per-client N
                              unfinished, unexpired payments one client may hold
                              [env CHECKOUT_OPEN_PAYMENTS_PER_CLIENT] [default: 10]
  --wrong-pins-per-client N   wrong PINs one client may send per PIN window, refused before
                              they reach the number's lock [env CHECKOUT_WRONG_PINS_PER_CLIENT]
                              [default: 10]
  --wrong-pin-numbers-per-client N
                              numbers one client may get PINs wrong for per PIN window
                              [env CHECKOUT_WRONG_PIN_NUMBERS_PER_CLIENT] [default: 3]
  --wrong-pins-per-session N  the same per browser session of the pages
                              [env CHECKOUT_WRONG_PINS_PER_SESSION] [default: 5]
  --wrong-pin-numbers-per-session N
                              [env CHECKOUT_WRONG_PIN_NUMBERS_PER_SESSION] [default: 2]
  --pin-window SECS           [env CHECKOUT_PIN_WINDOW] [default: 3600]
  --limiter-records N         clients, sessions and numbers remembered at most; when full the
                              idle, then the least recently seen, are forgotten
                              [env CHECKOUT_LIMITER_RECORDS] [default: 100000]
  --trusted-proxies ADDR[/BITS],...
                              reverse proxies whose X-Forwarded-For names the client; only
                              behind such a proxy [env CHECKOUT_TRUSTED_PROXIES] [default: none]

  -h, --help         print this help

The master key: 64 hexadecimal digits in BUYSTER_MASTER_KEY; without it, a key is generated
once and kept in a file named like the database with the extension .key (mode 0600). The
database keeps the key's public id: a server given another key refuses to start.

Switches read from the environment take 1, true, yes or on, and 0, false, no or off; any
other value is an error.";

/// What the command line asks for.
pub enum Command {
    /// Run the server.
    Run(Box<Config>),
    /// Print [`USAGE`].
    Help,
}

/// Where the server listens, what it stores where, and how it behaves.
pub struct Config {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The engine's store, an SQLite file of its own (its one writer is the store's thread);
    /// the demo bank's ledger and the merchant's index are in files beside it, see
    /// [`Config::bank_db`] and [`Config::index_db`].
    pub db: PathBuf,
    /// The PostgreSQL database for everything, when given (`--postgres`); SQLite files
    /// otherwise.
    pub postgres: Option<String>,
    /// The master key, when given (`BUYSTER_MASTER_KEY`); otherwise read from or created in
    /// the key file beside the database.
    pub master_key: Option<SecretKey>,
    /// The engine's limits.
    pub policy: Policy,
    /// How long the recovery task sleeps between two runs (a run goes on at once while its
    /// rounds are full). What is due, and when, is the engine's: see
    /// [`Policy::recovery_delay`].
    pub recovery_every: Duration,
    /// Whether `/dev/sms` and `/dev/ledger` are served: off unless asked for, and only on a
    /// loopback address (see [`Config::check`]), since `/dev/sms` shows every code sent.
    pub dev_pages: bool,
    /// Whether browsers reach the server over HTTPS, which decides the session cookie's name
    /// and `Secure` flag (see [`Config::uses_https`]); `None`: unless the address is loopback.
    pub https: Option<bool>,
    /// Whether each SMS is printed on standard output.
    pub print_sms: bool,
    /// Where the engine's events are POSTed. `None`: the engine keeps no durable events and
    /// no delivery task runs.
    pub webhook_url: Option<String>,
    /// The webhook signing secret, when given (`CHECKOUT_WEBHOOK_SECRET`); otherwise read from
    /// or created in [`Config::webhook_secret_file`].
    pub webhook_secret: Option<WebhookSecret>,
    /// The secret's file, when given (`--webhook-secret-file`).
    pub webhook_secret_path: Option<PathBuf>,
    /// Demo buyers enrolled besides the first (see `seed::extra_buyer`), at most 1000.
    pub demo_buyers: u16,
    /// When the delivery task runs, and how long it waits after failures.
    pub webhook_schedule: Schedule,
    /// How long a webhook request may take before it counts as failed.
    pub webhook_timeout: Duration,
    /// What a client's connection may hold, and for how long.
    pub http: http::Limits,
    /// Start over with the key given where the database expects another (`--reinitialise`):
    /// see [`super::keyid`].
    pub reinitialise: bool,
    /// How often the SQLite files are looked at while serving: one removed or replaced stops
    /// the server. [`WATCH_EVERY`] by default.
    pub watch_every: Duration,
    /// The abuse limits: payments and wrong PINs per client.
    pub limits: Limits,
}

/// How often the SQLite files are looked at while serving, by default: a file removed under
/// the server stops it within this time, before many payments are written to a file that no
/// longer has a name (and is gone at the restart).
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

impl Config {
    /// The demo's defaults, with the database at `db`.
    pub fn new(db: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db,
            postgres: None,
            master_key: None,
            policy: Policy::default(),
            recovery_every: Duration::from_secs(5),
            dev_pages: false,
            https: None,
            print_sms: true,
            webhook_url: None,
            webhook_secret: None,
            webhook_secret_path: None,
            demo_buyers: 0,
            webhook_schedule: Schedule {
                every: Duration::from_secs(1),
                max_backoff: Duration::from_secs(5 * 60),
            },
            webhook_timeout: Duration::from_secs(10),
            http: http::Limits::default(),
            reinitialise: false,
            watch_every: WATCH_EVERY,
            limits: Limits::default(),
        }
    }

    /// Whether browsers reach the server over HTTPS: as set, or else unless the server listens
    /// on a loopback address (plain HTTP on the developer's machine). A loopback server behind
    /// a TLS proxy on the same host sets it (`--https`).
    pub fn uses_https(&self) -> bool {
        self.https.unwrap_or(!self.addr.ip().is_loopback())
    }

    /// Refuses settings that would expose what must stay on the developer's machine: the
    /// development pages on an address other machines can reach.
    ///
    /// # Errors
    ///
    /// The reason, naming the settings, when the development pages are on and the address is
    /// not loopback.
    pub fn check(&self) -> Result<(), String> {
        if self.dev_pages && !self.addr.ip().is_loopback() {
            return Err(format!(
                "the development pages (--dev-pages, CHECKOUT_DEV_PAGES) show every code sent: \
                 they are served on a loopback address only, not on {}",
                self.addr
            ));
        }
        Ok(())
    }

    /// The webhook secret's file: `--webhook-secret-file`, or `checkout.webhook.key` beside
    /// `checkout.db`.
    pub fn webhook_secret_file(&self) -> PathBuf {
        self.webhook_secret_path
            .clone()
            .unwrap_or_else(|| self.db.with_extension("webhook.key"))
    }

    /// The demo bank's ledger: `checkout.bank.db` beside `checkout.db`.
    pub fn bank_db(&self) -> PathBuf {
        self.db.with_extension("bank.db")
    }

    /// The merchant's index (merchants, payments, counters): `checkout.index.db` beside
    /// `checkout.db`.
    pub fn index_db(&self) -> PathBuf {
        self.db.with_extension("index.db")
    }

    /// The settings from the command line `args` (without the program name), over those of
    /// the environment read through `env`, over the defaults.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Command, String> {
        let mut config = Self::new(env("CHECKOUT_DB").map_or("checkout.db".into(), PathBuf::from));
        if let Some(addr) = env("CHECKOUT_ADDR") {
            config.addr = parse_addr(&addr)?;
        }
        if let Some(hex) = env("BUYSTER_MASTER_KEY") {
            let key = hex
                .parse()
                .map_err(|_| "BUYSTER_MASTER_KEY must be 64 hexadecimal digits".to_owned())?;
            config.master_key = Some(key);
        }
        if let Some(value) = env("CHECKOUT_DEV_PAGES") {
            config.dev_pages = parse_switch("CHECKOUT_DEV_PAGES", &value)?;
        }
        if let Some(value) = env("CHECKOUT_HTTPS") {
            config.https = Some(parse_switch("CHECKOUT_HTTPS", &value)?);
        }
        config.webhook_url = env("CHECKOUT_WEBHOOK_URL");
        config.postgres = env("BUYSTER_POSTGRES_URL");
        if let Some(value) = env("CHECKOUT_REINITIALISE") {
            config.reinitialise = parse_switch("CHECKOUT_REINITIALISE", &value)?;
        }
        config.webhook_secret_path = env("CHECKOUT_WEBHOOK_SECRET_FILE").map(PathBuf::from);
        if let Some(count) = env("CHECKOUT_DEMO_BUYERS") {
            config.demo_buyers = parse_count(&count)?;
        }
        if let Some(text) = env("CHECKOUT_WEBHOOK_SECRET") {
            let secret = text
                .parse()
                .map_err(|error| format!("CHECKOUT_WEBHOOK_SECRET: {error}"))?;
            config.webhook_secret = Some(secret);
        }
        for (name, flag) in LIMIT_VARIABLES {
            if let Some(value) = env(name) {
                config.http = set_limit(config.http, flag, &value)?;
            }
        }
        config.limits.read_env(&env)?;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(Command::Help),
                "--addr" => config.addr = parse_addr(&value_of(&arg, args.next())?)?,
                "--db" => config.db = value_of(&arg, args.next())?.into(),
                "--dev-pages" => config.dev_pages = true,
                "--no-dev-pages" => config.dev_pages = false,
                "--https" => config.https = Some(true),
                "--no-https" => config.https = Some(false),
                "--reinitialise" => config.reinitialise = true,
                "--postgres" => config.postgres = Some(value_of(&arg, args.next())?),
                "--demo-buyers" => config.demo_buyers = parse_count(&value_of(&arg, args.next())?)?,
                "--webhook-url" => config.webhook_url = Some(value_of(&arg, args.next())?),
                "--webhook-secret-file" => {
                    config.webhook_secret_path = Some(value_of(&arg, args.next())?.into());
                }
                "--max-connections" | "--header-timeout" | "--body-timeout"
                | "--handler-timeout" => {
                    config.http = set_limit(config.http, &arg, &value_of(&arg, args.next())?)?;
                }
                other => {
                    if !config.limits.take_flag(other, args.next())? {
                        return Err(format!("unknown argument {other:?}; see --help"));
                    }
                }
            }
        }
        config.check()?;
        Ok(Command::Run(Box::new(config)))
    }
}

/// The environment variables of the connection bounds, and their flags.
const LIMIT_VARIABLES: [(&str, &str); 4] = [
    ("CHECKOUT_MAX_CONNECTIONS", "--max-connections"),
    ("CHECKOUT_HEADER_TIMEOUT", "--header-timeout"),
    ("CHECKOUT_BODY_TIMEOUT", "--body-timeout"),
    ("CHECKOUT_HANDLER_TIMEOUT", "--handler-timeout"),
];

/// The longest bound the flags accept, in seconds.
const MAX_TIMEOUT_SECS: u64 = 3600;

/// `limits` with the bound of `flag` set to `value`.
fn set_limit(mut limits: http::Limits, flag: &str, value: &str) -> Result<http::Limits, String> {
    if flag == "--max-connections" {
        limits.max_connections = value
            .parse()
            .ok()
            .filter(|count| (1..=http::MAX_CONNECTIONS_CEILING).contains(count))
            .ok_or_else(|| {
                format!(
                    "{flag}: {value:?} is not a number of connections from 1 to {}",
                    http::MAX_CONNECTIONS_CEILING
                )
            })?;
        return Ok(limits);
    }
    let secs = value
        .parse()
        .ok()
        .filter(|secs| (1..=MAX_TIMEOUT_SECS).contains(secs))
        .ok_or_else(|| {
            format!("{flag}: {value:?} is not a number of seconds from 1 to {MAX_TIMEOUT_SECS}")
        })?;
    let bound = Duration::from_secs(secs);
    match flag {
        "--header-timeout" => limits.header_timeout = bound,
        "--body-timeout" => limits.body_timeout = bound,
        "--handler-timeout" => limits.handler_timeout = bound,
        other => return Err(format!("{other} is not a bound; see --help")),
    }
    Ok(limits)
}

fn value_of(flag: &str, value: Option<String>) -> Result<String, String> {
    value.ok_or_else(|| format!("{flag} needs a value; see --help"))
}

/// An on/off switch from the environment variable `name`: one set of spellings, and an error
/// naming the variable (a value read wrongly could turn a protection off).
fn parse_switch(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{name} must be 1, true, yes or on, or 0, false, no or off; see --help"
        )),
    }
}

fn parse_count(text: &str) -> Result<u16, String> {
    text.parse()
        .ok()
        .filter(|count| *count <= 1000)
        .ok_or_else(|| format!("{text:?} is not a number of demo buyers from 0 to 1000"))
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an address such as 127.0.0.1:8080"))
}
