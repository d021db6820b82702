//! The harness on a real server: fresh databases are empty and apart, a dropped server stops,
//! a killed test process leaves no server behind, and `BUYSTER_TEST_POSTGRES_URL` is obeyed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use buyster_test_postgres::{TestPostgres, URL_VARIABLE};
use tokio_postgres::{Client, NoTls};

/// Set in the child processes these tests start.
const CHILD: &str = "BUYSTER_TEST_POSTGRES_CHILD";

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn tables(client: &Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn fresh_databases_are_empty_and_apart() {
    let postgres = TestPostgres::shared();
    let (a, b) = (
        postgres.fresh_database().await,
        postgres.fresh_database().await,
    );
    assert_ne!(a, b);
    let (a, b) = (connect(&a).await, connect(&b).await);
    assert_eq!(tables(&a).await, 0);
    a.batch_execute("CREATE TABLE only_here (x int)")
        .await
        .unwrap();
    assert_eq!(tables(&a).await, 1);
    assert_eq!(tables(&b).await, 0);
    let settings = a
        .query_one(
            "SELECT current_setting('max_connections')::int, current_setting('fsync'),
                    current_setting('synchronous_commit')",
            &[],
        )
        .await
        .unwrap();
    if postgres.data_dir().is_some() {
        assert!(settings.get::<_, i32>(0) >= 200);
        assert_eq!(settings.get::<_, String>(1), "on");
        assert_eq!(settings.get::<_, String>(2), "on");
    }
}

#[test]
fn a_database_is_made_from_a_plain_thread() {
    let url = TestPostgres::shared().fresh_database_blocking();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = connect(&url).await;
        assert_eq!(tables(&client).await, 0);
    });
}

/// The postmaster's process id, from the first line of `postmaster.pid`.
fn postmaster(data: &Path) -> u32 {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

/// Whether process `pid` runs (a zombie does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

fn gone_within(pid: u32, dir: &Path, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if !running(pid) && !dir.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_dropped_server_stops_and_leaves_no_file() {
    let server = TestPostgres::start().unwrap();
    let data = server.data_dir().unwrap().to_owned();
    let pid = postmaster(&data);
    assert!(running(pid));
    drop(server);
    // The drop waits for the watchdog: nothing is left by the time it returns.
    assert!(!running(pid), "postmaster {pid} still runs");
    assert!(!data.exists(), "{} is still there", data.display());
}

/// Runs the ignored test `name` of this binary in a child process, with `env` set.
fn child(name: &str, env: &[(&str, &str)]) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

#[test]
fn a_killed_test_process_leaves_no_server() {
    let mut holder = child("child_holds_a_server", &[]);
    let stdout = BufReader::new(holder.stdout.take().unwrap());
    // The harness prints the test's name on the same line, before what the test prints.
    let line = stdout
        .lines()
        .map(Result::unwrap)
        .find_map(|line| Some(line.split_once("postmaster ")?.1.to_owned()))
        .expect("the child reports its server");
    let mut words = line.split(' ');
    let pid: u32 = words.next().unwrap().parse().unwrap();
    let data = PathBuf::from(words.next().unwrap());
    assert!(running(pid));
    // SIGKILL: no destructor, no atexit; only the kernel closing the watchdog's pipe.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let dir = data.parent().unwrap();
    assert!(
        gone_within(pid, dir, Duration::from_secs(30)),
        "the server of a killed test process was left running or on disk"
    );
}

#[test]
#[ignore = "run in a child process by a_killed_test_process_leaves_no_server"]
fn child_holds_a_server() {
    assert!(std::env::var_os(CHILD).is_some(), "run only as a child");
    let server = TestPostgres::start().unwrap();
    let data = server.data_dir().unwrap();
    println!("postmaster {} {}", postmaster(data), data.display());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn the_server_of_the_environment_is_used() {
    let server = TestPostgres::start().unwrap();
    let status = child(
        "child_uses_the_environment",
        &[(URL_VARIABLE, server.url())],
    )
    .wait()
    .unwrap();
    assert!(status.success());
}

#[tokio::test]
#[ignore = "run in a child process by the_server_of_the_environment_is_used"]
async fn child_uses_the_environment() {
    assert!(std::env::var_os(CHILD).is_some(), "run only as a child");
    let postgres = TestPostgres::shared();
    assert_eq!(postgres.url(), std::env::var(URL_VARIABLE).unwrap());
    assert!(postgres.data_dir().is_none(), "a server was started anyway");
    let client = connect(&postgres.fresh_database().await).await;
    assert_eq!(tables(&client).await, 0);
}
