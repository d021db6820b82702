//! What the accept loop and the request middleware give any router: the peer's address in
//! every request, and the handler's bound.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::super::server::http::{self, Limits, request};
use super::{BOUND, SLACK, assert_error, read_answer, read_until_closed};

/// Serves `router` on a free port within `limits`; its address and the stop.
async fn serve(router: Router, limits: Limits) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(http::serve(listener, router, limits, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_carries_the_peer_address() {
    let router = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let (addr, _stop) = serve(router, Limits::default()).await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let local = client.local_addr().unwrap();
    client
        .write_all(b"GET /peer HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answered, _) = read_until_closed(&mut client, Instant::now(), SLACK).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(
        answered.ends_with(&format!("\r\n\r\n{local}")),
        "{answered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_past_its_bound_is_503_timeout() {
    let bounds = request::Bounds {
        max_body: 16 * 1024,
        body_timeout: BOUND,
        handler_timeout: BOUND,
    };
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(BOUND * 10).await;
                "late"
            }),
        )
        .route("/quick", get(|| async { "quick" }))
        .layer(axum::middleware::from_fn_with_state(
            bounds,
            request::bounded,
        ));
    let (addr, _stop) = serve(router, Limits::default()).await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let since = Instant::now();
    client
        .write_all(b"GET /slow HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = read_answer(&mut client).await;
    let after = since.elapsed();
    assert!(
        after >= BOUND - Duration::from_millis(20) && after < BOUND * 10,
        "{after:?}"
    );
    assert_error(&head, &body, "503", "timeout");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1\r\n"),
        "{head}"
    );
    // The connection goes on serving.
    client
        .write_all(b"GET /quick HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_answer(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}
