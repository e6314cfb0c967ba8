//! Shared test helpers: start the guard in-process on 127.0.0.1:0, tiny
//! upstream servers (hyper or raw TCP), and clients (HTTP/1.1 and h2c).
//! Every server binds 127.0.0.1 port 0; nothing uses a fixed port.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use leakwarden::app::{self, Overrides};
use leakwarden::config;
use leakwarden::metrics::Metrics;
use leakwarden::proxy::Guard;
use tokio::net::{TcpListener, TcpStream};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type TestBody = BoxBody<Bytes, BoxError>;

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A body from bytes.
pub fn full(data: impl Into<Bytes>) -> TestBody {
    Full::new(data.into()).map_err(|never| match never {}).boxed()
}

pub fn empty() -> TestBody {
    full(Bytes::new())
}

/// Tests that do not configure `[access_log]` get none: the default (a
/// line per request on stdout) would flood the test output.
pub fn quiet_access_log(mut runtime: app::Runtime) -> app::Runtime {
    if runtime.file.access_log == config::access_log::AccessLogSection::default() {
        runtime.access_log = Arc::new(leakwarden::access_log::AccessLog::disabled());
    }
    runtime
}

/// Starts a guard from configuration text; `listen` and `admin` are forced
/// to 127.0.0.1:0. `{upstream}` placeholders are replaced by `upstream`.
pub async fn start_guard_config(toml_text: &str) -> (Guard, Arc<Metrics>) {
    let file = config::parse_str(toml_text, "test.toml").expect("test config parses");
    let overrides = Overrides {
        listen: vec![loopback()],
        admin: Some(loopback()),
        upstream: None,
        ..Overrides::default()
    };
    let runtime = app::Runtime::build(file, &overrides, "test.toml").expect("test config valid");
    let runtime = quiet_access_log(runtime);
    let metrics = Arc::new(Metrics::new());
    let guard = Guard::start(runtime, metrics.clone()).await.expect("guard starts");
    (guard, metrics)
}

/// Starts a guard with one catch-all route to `upstream` plus extra config.
pub async fn start_guard_with(upstream: SocketAddr, extra_toml: &str) -> (Guard, Arc<Metrics>) {
    let file = config::parse_str(extra_toml, "test.toml").expect("test config parses");
    let overrides = Overrides {
        listen: vec![loopback()],
        admin: Some(loopback()),
        upstream: Some(format!("http://{upstream}")),
        ..Overrides::default()
    };
    let runtime = app::Runtime::build(file, &overrides, "test.toml").expect("test config valid");
    let runtime = quiet_access_log(runtime);
    let metrics = Arc::new(Metrics::new());
    let guard = Guard::start(runtime, metrics.clone()).await.expect("guard starts");
    (guard, metrics)
}

/// Starts a guard with one catch-all route to `upstream`.
pub async fn start_guard(upstream: SocketAddr) -> (Guard, Arc<Metrics>) {
    start_guard_with(upstream, "").await
}

/// An HTTP/1.1 + h2c upstream served by `handler`.
pub async fn upstream<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<TestBody>> + Send + 'static,
{
    let listener = TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let fut = handler(req);
                    async move { Ok::<_, Infallible>(fut.await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// A raw TCP upstream: for each connection, reads the request head, then
/// runs `script` with the stream (which may write anything and close).
pub async fn raw_upstream<F, Fut>(script: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    use tokio::io::AsyncReadExt;
    let listener = TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let script = Arc::new(script);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let script = script.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                script(stream).await;
            });
        }
    });
    addr
}

/// A port on 127.0.0.1 where nothing listens: the socket is bound but never
/// listens, so a connection is refused. Keep the socket alive while the
/// port is in use: a port bound and then released could be handed to
/// another test's listener in the meantime, which would then answer.
pub fn closed_port() -> (SocketAddr, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(loopback()).unwrap();
    (socket.local_addr().unwrap(), socket)
}

/// An HTTP/1.1 client.
pub fn h1_client() -> Client<HttpConnector, TestBody> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// An HTTP/2 prior-knowledge (h2c) client.
pub fn h2_client() -> Client<HttpConnector, TestBody> {
    Client::builder(TokioExecutor::new()).http2_only(true).build(HttpConnector::new())
}

/// Sends a GET and collects the whole response.
pub async fn get(addr: SocketAddr, path: &str) -> (http::response::Parts, Bytes) {
    let req = Request::get(format!("http://{addr}{path}")).body(empty()).unwrap();
    send(&h1_client(), req).await
}

/// Sends a request and collects the whole response (panics on error).
pub async fn send(
    client: &Client<HttpConnector, TestBody>,
    req: Request<TestBody>,
) -> (http::response::Parts, Bytes) {
    let resp = client.request(req).await.expect("response");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("complete body").to_bytes();
    (parts, bytes)
}

/// The admin /metrics text of a guard.
pub async fn metrics_text(guard: &Guard) -> String {
    let (_, body) = get(guard.admin.expect("admin enabled"), "/metrics").await;
    String::from_utf8(body.to_vec()).unwrap()
}

/// Deterministic pseudo-random bytes (xorshift), for large bodies.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A body fed through a channel: each message is one frame (or an error,
/// which aborts the body). Lets tests control exactly when bytes appear.
pub struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, BoxError>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        self.rx.poll_recv(cx).map(|m| m.map(|r| r.map(hyper::body::Frame::data)))
    }
}

/// A channel body and its sender.
pub fn channel_body() -> (tokio::sync::mpsc::Sender<Result<Bytes, BoxError>>, TestBody) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    (tx, ChannelBody { rx }.boxed())
}

/// A body that yields `data` in `chunks` pieces without a length (chunked
/// on HTTP/1.1).
pub fn streamed(data: Vec<u8>, chunks: usize) -> TestBody {
    let (tx, body) = channel_body();
    tokio::spawn(async move {
        let size = data.len().div_ceil(chunks.max(1)).max(1);
        for piece in data.chunks(size) {
            if tx.send(Ok(Bytes::copy_from_slice(piece))).await.is_err() {
                return;
            }
        }
    });
    body
}

/// Sends one request over a fresh HTTP/2 prior-knowledge connection to
/// `addr`, whatever authority the request URI names (so tests can set
/// `:authority` for host routing).
pub async fn h2_send_to(
    addr: SocketAddr,
    req: Request<TestBody>,
) -> (http::response::Parts, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.expect("response");
    let (parts, body) = resp.into_parts();
    (parts, body.collect().await.expect("complete body").to_bytes())
}

/// The lines a child process writes to its stderr, read by a thread as they
/// come (the child was spawned with `Stdio::piped()` for stderr).
pub fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Reads log lines until one mentions `what` with a 127.0.0.1 address, and
/// returns that address (the guard logs where it listens).
pub fn wait_for_addr(lines: &std::sync::mpsc::Receiver<String>, what: &str) -> SocketAddr {
    let re = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    loop {
        let line =
            lines.recv_timeout(std::time::Duration::from_secs(20)).expect("guard logs its address");
        if line.contains(what) {
            if let Some(m) = re.find(&line) {
                return m.as_str().parse().unwrap();
            }
        }
    }
}
