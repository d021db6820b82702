//! The example as a process of its own: on a taken port, and under an open-files limit of
//! 1024.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::super::kill::checkout_binary;
use super::{SLACK, served_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_on_a_taken_port_exits_at_once_and_creates_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let binary = checkout_binary();
    let output = tokio::task::spawn_blocking({
        let db = dir.path().join("checkout.db");
        move || {
            std::process::Command::new(binary)
                .args(["--addr", &addr.to_string()])
                .arg("--db")
                .arg(db)
                .env_remove("BUYSTER_MASTER_KEY")
                .env_remove("BUYSTER_POSTGRES_URL")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("in use"),
        "{stderr}"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");
    drop(taken);
}

/// The binary under an open-files limit of 1024, killed when dropped.
struct Limited {
    child: std::process::Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Limited {
    /// Starts the binary with a header bound of 1 s and the flags `extra`; returns once it
    /// serves.
    async fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let log = dir.path().join("server.log");
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 1024 && exec \"$0\" \"$@\"")
            .arg(checkout_binary())
            .args(["--addr", &addr.to_string(), "--header-timeout", "1"])
            .arg("--db")
            .arg(dir.path().join("checkout.db"))
            .args(extra)
            .env("BUYSTER_MASTER_KEY", "5a".repeat(32))
            .env_remove("BUYSTER_POSTGRES_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            addr,
            log,
            _dir: dir,
        };
        let started = Instant::now();
        while TcpStream::connect(addr).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "no server");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// Holds `count` idle connections, and checks that a client is served meanwhile within
    /// about the header bound; the server's log after.
    async fn serve_beside_idle(&mut self, count: usize) -> String {
        let since = Instant::now();
        let mut connecting = tokio::task::JoinSet::new();
        for _ in 0..count {
            connecting.spawn(TcpStream::connect(self.addr));
        }
        // A burst faster than the server accepts fills the listening socket's queue: the
        // kernel drops the SYNs past it, and those clients send them again a second later.
        let idle: Vec<TcpStream> = connecting
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let opened = since.elapsed();
        let took = served_on(self.addr, Duration::from_secs(1) + SLACK).await;
        println!("{count} idle sockets opened in {opened:?}, then a client served in {took:?}");
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the server stopped"
        );
        drop(idle);
        std::fs::read_to_string(&self.log).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleven_hundred_idle_sockets_under_1024_open_files_do_not_stop_the_binary() {
    let mut server = Limited::start(&[]).await;
    // 768 connections take every slot, the others wait in the listening socket's queue
    // with the client; the header bound frees the slots and the client is served while the
    // idle sockets are still held. No accept ever runs out of file descriptors.
    let log = server.serve_beside_idle(1100).await;
    assert!(!log.contains("accept:"), "{log}");
    drop(server);

    // A cap above the open-files limit: accepts fail for want of descriptors, the loop
    // pauses and says why, and the service comes back once the header bound frees some.
    let mut server = Limited::start(&["--max-connections", "2000"]).await;
    let log = server.serve_beside_idle(1100).await;
    assert!(
        log.contains("accept: ") && log.contains("ulimit -n"),
        "{log}"
    );
}
