//! The server's HTTP/1.1 connections: an accept loop on hyper that bounds what a slow or idle
//! client can hold.
//!
//! | bound | default | what happens |
//! |---|---|---|
//! | [`Limits::header_timeout`] | 10 s | a request's head must arrive within it, counted from when the server starts waiting for one: at the accept, and after each answer on a kept-alive connection; otherwise the connection is closed (or answered 408). So it is also how long an idle keep-alive connection is kept. |
//! | [`Limits::body_timeout`] | 10 s | the whole body must arrive within it, counted from the end of the head: 408 `request_timeout` (see [`request`]) |
//! | [`Limits::handler_timeout`] | 30 s | the handler's answer: 503 `timeout` |
//! | [`Limits::max_connections`] | 768 | connections open at once; at the cap, the server stops accepting |
//! | [`Limits::max_head_bytes`] | 64 KiB | a request's head: 431 and the connection closed |
//!
//! At the cap the server stops calling `accept` rather than accepting and closing at once: a
//! well-behaved client's connection waits in the kernel's queue of the listening socket (its
//! backlog) and is served as soon as a slot frees (a slot held by a connection that sends
//! nothing frees one header bound after its accept), instead of being refused and having to
//! retry. Connections never take more than the cap of the process's file descriptors, so it
//! keeps those it needs for its databases, key files and webhooks. [`bind`] makes that queue
//! [`LISTEN_BACKLOG`] long.
//!
//! There is no idle bound apart from the header bound: hyper has one timer for both, and a
//! longer idle time would only let a client that made one request hold its slot longer.
//!
//! The header bound is hyper's `header_read_timeout`, which hyper (1.8 and later) starts each
//! time it waits for a request's head, before the first byte: for the first request and
//! between requests alike. The tests in `checkout_server::slow` check both.

pub mod request;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower_service::Service;

/// The default of [`Limits::header_timeout`]: a browser sends a request's head in one packet;
/// 10 s leaves room for a slow mobile network.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of [`Limits::body_timeout`]: bodies are at most 16 KiB.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of [`Limits::handler_timeout`]: above the webhook's and the bank's usual
/// answers, below a buyer's patience.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(30);
/// The default of [`Limits::max_connections`]: under the usual limit of 1024 open files per
/// process, leaving 256 for the server's own (about 30 at rest: databases, key files, the
/// runtime) and its outgoing connections (PostgreSQL, webhooks).
pub const MAX_CONNECTIONS: u32 = 768;
/// The default of [`Limits::max_head_bytes`]: twice what nginx takes by default (four buffers
/// of 8 KiB), and at most 54 MiB of buffers at the default cap, where hyper's own default
/// (about 400 KiB) would let them reach 300 MiB.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The smallest [`Limits::max_head_bytes`] taken (a smaller one counts as this), and the
/// room a connection's buffer has beyond the head: hyper's smallest buffer.
pub const MIN_HEAD_BYTES: usize = 8 * 1024;
/// The largest [`Limits::max_connections`] accepted.
pub const MAX_CONNECTIONS_CEILING: u32 = 1_000_000;
/// How many connections may wait in the kernel's queue of the listening socket for a slot
/// (the kernel caps it at `net.core.somaxconn`). Beyond it the kernel drops new SYNs, and a
/// client sends its SYN again only after a second, then three, then seven.
pub const LISTEN_BACKLOG: u32 = 1024;
/// How long the loop waits after an `accept` that failed for want of resources (no file
/// descriptor left, `EMFILE`), so as not to spin while none frees.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What a client's connection may hold, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long the server waits for a request's head, from the accept or from the previous
    /// answer: also the idle bound of a kept-alive connection.
    pub header_timeout: Duration,
    /// How long the server waits for a request's whole body, from the end of its head.
    pub body_timeout: Duration,
    /// How long a handler may take to answer, once the body is read.
    pub handler_timeout: Duration,
    /// Connections open at once, from 1 to [`MAX_CONNECTIONS_CEILING`].
    pub max_connections: u32,
    /// The largest request head, in bytes, at least [`MIN_HEAD_BYTES`]; a connection buffers
    /// at most that and [`MIN_HEAD_BYTES`] more.
    pub max_head_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            handler_timeout: HANDLER_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_head_bytes: MAX_HEAD_BYTES,
        }
    }
}

impl Limits {
    /// How long a stop waits for the open connections: what one request may take, head, body
    /// and handler. A connection still open after it (a client that does not read its answer)
    /// is left to the end of the process.
    fn drain(&self) -> Duration {
        self.header_timeout
            .saturating_add(self.body_timeout)
            .saturating_add(self.handler_timeout)
    }
}

/// A listening socket on `addr`, with a queue of [`LISTEN_BACKLOG`] (a plain
/// `TcpListener::bind` asks for 128), and `SO_REUSEADDR` as the standard library sets it, so
/// that a restart does not wait for the old connections' `TIME_WAIT`.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, closes the idle connections, and waits for the others to finish their request
/// (at most [`Limits::drain`]). Each request carries the peer's [`ConnectInfo`].
///
/// Never fails: an `accept` that fails is retried (after [`ACCEPT_PAUSE`] when the process is
/// out of resources), and a connection's error ends that connection alone.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cap = usize::try_from(limits.max_connections.clamp(1, MAX_CONNECTIONS_CEILING))
        .unwrap_or(Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(cap));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let connection = Connection {
                    router: router.clone(),
                    peer,
                    limits,
                    _slot: slot,
                };
                tokio::spawn(connection.run(stream, stopping.clone()));
            }
            Err(error) => pause_after(&error).await,
        }
    }
    drop(listener);
    // Cannot fail: `stopping`, a receiver, is still held here.
    let _ = stop.send(true);
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    // Every slot back: every connection has ended. Past the drain bound, stop waiting.
    let _ = tokio::time::timeout(limits.drain(), slots.acquire_many(all)).await;
    Ok(())
}

/// Waits after a failed `accept` when retrying at once would fail again.
async fn pause_after(error: &io::Error) {
    let peer_gone = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    );
    if !peer_gone {
        eprintln!(
            "accept: {error}; pausing {} ms (raise the open-files limit, ulimit -n, above \
             --max-connections plus 256)",
            ACCEPT_PAUSE.as_millis()
        );
        tokio::time::sleep(ACCEPT_PAUSE).await;
    }
}

/// One accepted connection, holding one of the slots until it ends.
struct Connection {
    router: Router,
    peer: SocketAddr,
    limits: Limits,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    /// Serves the connection's requests until the client or a bound closes it, or until
    /// `stopping` turns true: then it finishes the request under way and closes.
    async fn run(self, stream: TcpStream, mut stopping: watch::Receiver<bool>) {
        // Answers are small and written whole: no reason to wait for more to send.
        let _ = stream.set_nodelay(true);
        let (router, peer) = (self.router, self.peer);
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            // A `Router` is always ready: no `poll_ready` needed before `call`.
            router.clone().call(request)
        });
        let head = self.limits.max_head_bytes.max(MIN_HEAD_BYTES);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .max_header_size(head)
            // Room for the largest head and a little of its body; hyper's floor is 8 KiB.
            .max_buf_size(head.saturating_add(MIN_HEAD_BYTES))
            .keep_alive(true);
        let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
        tokio::select! {
            // A connection's end, by error or not, concerns that client alone.
            _ = connection.as_mut() => return,
            _ = stopping.wait_for(|stopped| *stopped) => {}
        }
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
}
