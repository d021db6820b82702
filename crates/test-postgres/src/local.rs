//! A server started here: `initdb` into a temporary directory, `pg_ctl start` on a free port,
//! and a watchdog that stops it and deletes the directory when the test process ends.

use core::fmt;
use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::Mutex;

use crate::StartError;

/// Settings fit for tests, appended to the cluster's `postgresql.conf`. Durability stays at
/// PostgreSQL's defaults (`fsync`, `synchronous_commit` and `full_page_writes` on): the
/// stores' tests measure what a real server does.
const SETTINGS: &str = "
listen_addresses = '127.0.0.1'
max_connections = 300
shared_buffers = 64MB
max_parallel_workers_per_gather = 0
log_min_messages = warning
";

/// Ports tried before giving up (another process may take a free port before the server).
const PORT_TRIES: usize = 5;

/// The watchdog: waits for its standard input to close (the test process ended, or the server
/// was dropped), then stops the server and deletes its directory. `$1` is the command prefix
/// that runs a program as the server's user (empty, or `runuser -u postgres --`), `$2` the
/// programs' directory, `$3` the server's directory.
const WATCHDOG: &str = r#"cat >/dev/null
$1 "$2/pg_ctl" -D "$3/data" stop -m immediate -w >/dev/null 2>&1
rm -rf "$3""#;

/// A running server of this process.
pub(crate) struct LocalServer {
    /// The temporary directory: the cluster in `data/`, the log, the Unix socket.
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    /// The watchdog and the pipe it waits on; taken when the server is dropped.
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

impl LocalServer {
    pub(crate) fn start() -> Result<Self, StartError> {
        let bin = binaries()?;
        let user = ServerUser::of_this_process()?;
        let dir = tempfile::Builder::new()
            .prefix("buyster-postgres-")
            .tempdir()
            .map_err(|e| StartError::new(format!("no temporary directory: {e}")))?
            .keep();
        let data = dir.join("data");
        // From here on the watchdog deletes the directory whatever happens.
        let watchdog = spawn_watchdog(&user, &bin, &dir)?;
        let mut server = Self {
            dir,
            data,
            port: 0,
            watchdog: Mutex::new(Some(watchdog)),
        };
        user.give(&server.dir)?;
        server.init(&user, &bin)?;
        server.port = server.run(&user, &bin)?;
        Ok(server)
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The URL of the database `name`, as the superuser `postgres`.
    pub(crate) fn url(&self, name: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn init(&self, user: &ServerUser, bin: &Path) -> Result<(), StartError> {
        let mut initdb = user.command(&bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&self.data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .current_dir(&self.dir);
        succeeded("initdb", &initdb.output())?;
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .map_err(|e| StartError::new(format!("postgresql.conf: {e}")))?;
        let socket = format!("unix_socket_directories = '{}'\n", self.dir.display());
        conf.write_all(SETTINGS.as_bytes())
            .and_then(|()| conf.write_all(socket.as_bytes()))
            .map_err(|e| StartError::new(format!("postgresql.conf: {e}")))
    }

    /// Starts the server on a free port, trying another when one was taken meanwhile.
    fn run(&self, user: &ServerUser, bin: &Path) -> Result<u16, StartError> {
        let mut last = StartError::new("no port tried");
        for _ in 0..PORT_TRIES {
            let port = free_port()?;
            let mut pg_ctl = user.command(&bin.join("pg_ctl"));
            pg_ctl
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(self.dir.join("log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("-p {port}"))
                .arg("start")
                .current_dir(&self.dir);
            match succeeded("pg_ctl start", &pg_ctl.output()) {
                Ok(()) => return Ok(port),
                Err(error) => {
                    let log = fs::read_to_string(self.dir.join("log")).unwrap_or_default();
                    last = StartError::new(format!("{error}\nserver log:\n{log}"));
                }
            }
        }
        Err(last)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let watchdog = self
            .watchdog
            .get_mut()
            .map_or_else(|poisoned| poisoned.into_inner().take(), Option::take);
        if let Some((mut child, stdin)) = watchdog {
            // Closing the pipe sets the watchdog off; waiting lets it finish.
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Who runs the server: this process's user, or `postgres` when this process is root.
enum ServerUser {
    Me,
    Postgres { uid: u32, gid: u32 },
}

impl ServerUser {
    fn of_this_process() -> Result<Self, StartError> {
        if id(&["-u"])? != 0 {
            return Ok(Self::Me);
        }
        let uid = id(&["-u", "postgres"]).map_err(|e| {
            StartError::new(format!(
                "running as root, PostgreSQL needs the user `postgres` (which the Debian \
                 package `postgresql` creates): {e}"
            ))
        })?;
        let gid = id(&["-g", "postgres"])?;
        Ok(Self::Postgres { uid, gid })
    }

    /// A command running `program` as this user.
    fn command(&self, program: &Path) -> Command {
        match self {
            Self::Me => Command::new(program),
            Self::Postgres { .. } => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            }
        }
    }

    /// The watchdog's prefix for running a program as this user.
    fn prefix(&self) -> &'static str {
        match self {
            Self::Me => "",
            Self::Postgres { .. } => "runuser -u postgres --",
        }
    }

    /// Makes `dir` this user's.
    fn give(&self, dir: &Path) -> Result<(), StartError> {
        match self {
            Self::Me => Ok(()),
            Self::Postgres { uid, gid } => std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
                .map_err(|e| StartError::new(format!("chown {}: {e}", dir.display()))),
        }
    }
}

/// The number `id` prints with `args`.
fn id(args: &[&str]) -> Result<u32, StartError> {
    let output = Command::new("id").args(args).output();
    succeeded("id", &output)?;
    let text = output.map(|o| o.stdout).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .trim()
        .parse()
        .map_err(|e| StartError::new(format!("id {}: {e}", args.join(" "))))
}

fn spawn_watchdog(
    user: &ServerUser,
    bin: &Path,
    dir: &Path,
) -> Result<(Child, ChildStdin), StartError> {
    let mut child = Command::new("sh")
        .args(["-c", WATCHDOG, "watchdog", user.prefix()])
        .arg(bin)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        // Out of the test's process group: a Ctrl-C stops the tests, not their cleanup.
        .process_group(0)
        .spawn()
        .map_err(|e| StartError::new(format!("the watchdog (sh) did not start: {e}")))?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| StartError::new("the watchdog has no pipe"))?;
    Ok((child, stdin))
}

/// A port of 127.0.0.1 that nothing listens on now.
fn free_port() -> Result<u16, StartError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| StartError::new(format!("no free port on 127.0.0.1: {e}")))
}

fn succeeded(what: &str, output: &std::io::Result<Output>) -> Result<(), StartError> {
    match output {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(StartError::new(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))),
        Err(e) => Err(StartError::new(format!("{what} did not run: {e}"))),
    }
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, the newest
/// `/usr/lib/postgresql/*/bin`, or a directory of `PATH`.
fn binaries() -> Result<PathBuf, StartError> {
    let has_programs = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let path = std::env::var_os("PATH").unwrap_or_default();
    from_pg_config
        .into_iter()
        .chain(debian_versions())
        .chain(std::env::split_paths(&path))
        .find(|dir| has_programs(dir))
        .ok_or_else(|| {
            StartError::new(
                "PostgreSQL's server programs (initdb, pg_ctl) were not found, neither in \
                 `pg_config --bindir`, nor in /usr/lib/postgresql/*/bin, nor on PATH. Install \
                 the Debian package `postgresql` (apt-get install postgresql), or run the \
                 tests with `bash scripts/test`, which installs it; or point \
                 BUYSTER_TEST_POSTGRES_URL at a server of your own.",
            )
        })
}

/// `/usr/lib/postgresql/<version>/bin`, the newest version first.
fn debian_versions() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| core::cmp::Reverse(*version));
    versions.into_iter().map(|(_, dir)| dir).collect()
}
