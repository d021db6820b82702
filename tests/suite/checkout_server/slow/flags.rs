//! The bounds' flags and environment variables.

use std::time::Duration;

use super::super::server::config::{Command, Config};
use super::super::server::http::Limits;

/// The settings of `args` over `env`, or the error.
fn parsed(args: &[&str], env: &[(&str, &str)]) -> Result<Limits, String> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match Config::from_args(args.iter().map(|arg| (*arg).to_owned()), lookup)? {
        Command::Run(config) => Ok(config.http),
        Command::Help => panic!("help asked"),
    }
}

#[test]
fn the_bounds_come_from_flags_over_the_environment() {
    let defaults = parsed(&[], &[]).unwrap();
    assert_eq!(defaults.header_timeout, Duration::from_secs(10));
    assert_eq!(defaults.body_timeout, Duration::from_secs(10));
    assert_eq!(defaults.handler_timeout, Duration::from_secs(30));
    assert_eq!(defaults.max_connections, 768);
    let env = [
        ("CHECKOUT_MAX_CONNECTIONS", "100"),
        ("CHECKOUT_HEADER_TIMEOUT", "5"),
        ("CHECKOUT_BODY_TIMEOUT", "6"),
        ("CHECKOUT_HANDLER_TIMEOUT", "7"),
    ];
    let from_env = parsed(&[], &env).unwrap();
    assert_eq!(from_env.max_connections, 100);
    assert_eq!(from_env.header_timeout, Duration::from_secs(5));
    assert_eq!(from_env.body_timeout, Duration::from_secs(6));
    assert_eq!(from_env.handler_timeout, Duration::from_secs(7));
    let flags = [
        "--max-connections",
        "200",
        "--header-timeout",
        "2",
        "--body-timeout",
        "3",
        "--handler-timeout",
        "4",
    ];
    let from_flags = parsed(&flags, &env).unwrap();
    assert_eq!(from_flags.max_connections, 200);
    assert_eq!(from_flags.header_timeout, Duration::from_secs(2));
    assert_eq!(from_flags.body_timeout, Duration::from_secs(3));
    assert_eq!(from_flags.handler_timeout, Duration::from_secs(4));
}

#[test]
fn a_bound_out_of_range_is_refused_by_name() {
    for (flag, value) in [
        ("--max-connections", "0"),
        ("--max-connections", "1000001"),
        ("--max-connections", "-1"),
        ("--max-connections", "many"),
    ] {
        assert_eq!(
            parsed(&[flag, value], &[]).unwrap_err(),
            format!("{flag}: \"{value}\" is not a number of connections from 1 to 1000000")
        );
    }
    for flag in ["--header-timeout", "--body-timeout", "--handler-timeout"] {
        for value in ["0", "3601", "1.5", "10s", ""] {
            assert_eq!(
                parsed(&[flag, value], &[]).unwrap_err(),
                format!("{flag}: \"{value}\" is not a number of seconds from 1 to 3600")
            );
        }
        assert_eq!(
            parsed(&[flag], &[]).unwrap_err(),
            format!("{flag} needs a value; see --help")
        );
    }
    assert_eq!(
        parsed(&[], &[("CHECKOUT_HEADER_TIMEOUT", "0")]).unwrap_err(),
        "--header-timeout: \"0\" is not a number of seconds from 1 to 3600"
    );
}
