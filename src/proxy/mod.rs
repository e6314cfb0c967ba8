//! The reverse proxy: the hyper server (HTTP/1.1 and h2c on one listener, or HTTPS with h2/http1.1 by ALPN),
//! routing, the pooled upstream client, proxy headers, errors and shutdown.
//! It hands every response to [`crate::pipeline::process_response`] and
//! never looks inside a body itself.
//!
//! Shape: a [`Proxy`] holds the live configuration ([`Snapshot`], swapped
//! atomically by [`Proxy::apply`]) and the metrics; a [`Server`] owns bound
//! listeners and runs the accept loop until a shutdown future fires, then
//! drains; [`Guard`] starts the proxy and the admin listener together (the
//! CLI, the demo and the tests all use it).

pub mod body;
pub mod handler;
pub mod headers;
pub mod route;
pub mod route_metrics;
pub mod upstream;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinSet;

use crate::admin::{AdminServer, Health, ReloadHook};
use crate::app::Runtime;
use crate::metrics::Metrics;
use crate::pipeline::RouteCounters;
use handler::ConnInfo;
use route_metrics::RouteMetrics;
use upstream::UpstreamClient;

/// The configuration one request runs under, from start to end.
pub struct Snapshot {
    pub runtime: Arc<Runtime>,
    /// One client per upstream, indexed like `runtime.upstreams`.
    clients: Vec<UpstreamClient>,
    /// Metric handles, indexed like `runtime.routes`.
    route_metrics: Vec<Arc<RouteMetrics>>,
    /// Metric handles for requests no route matched.
    unrouted: Arc<RouteMetrics>,
    /// The pipeline's per-response counters, indexed like `runtime.routes`.
    route_counters: Vec<Arc<RouteCounters>>,
    pub audit: Arc<crate::audit::AuditSink>,
}

/// Shared state of a running guard: live configuration, metrics, readiness.
pub struct Proxy {
    current: ArcSwap<Snapshot>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    /// Exfiltration budgets: counters and the shared store outlive reloads.
    exfil: Arc<crate::exfil::Exfil>,
    /// The privacy inventory (kept across reloads); `None` when disabled.
    inventory: Option<Arc<crate::inventory::Inventory>>,
}

impl Proxy {
    pub fn new(runtime: Runtime, metrics: Arc<Metrics>) -> Arc<Proxy> {
        init_routes(&metrics, &runtime);
        let exfil = crate::exfil::Exfil::start(&runtime.exfil, &metrics);
        let inventory = crate::inventory::Inventory::open(&runtime.file.inventory, &metrics);
        let snap = Snapshot::build(runtime, &metrics, None);
        Arc::new(Proxy {
            exfil,
            inventory,
            current: ArcSwap::from_pointee(snap),
            metrics,
            health: Arc::new(Health::default()),
        })
    }

    /// The configuration to use for one request; keep it for the request's
    /// whole life.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The current runtime configuration.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.current.load().runtime.clone()
    }

    /// Swaps in a new configuration. Requests already running finish under
    /// the old one. Upstreams whose settings did not change keep their
    /// connection pools. Listener addresses are not rebound.
    pub fn apply(&self, runtime: Runtime) {
        init_routes(&self.metrics, &runtime);
        self.exfil.apply(&runtime.exfil);
        let old = self.current.load_full();
        self.current.store(Arc::new(Snapshot::build(runtime, &self.metrics, Some(&old))));
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The exfiltration budgets ([`crate::exfil`]).
    pub fn exfil(&self) -> &Arc<crate::exfil::Exfil> {
        &self.exfil
    }

    /// Readiness and draining, shared with the admin listener.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// The privacy inventory, if enabled.
    pub fn inventory(&self) -> Option<&Arc<crate::inventory::Inventory>> {
        self.inventory.as_ref()
    }

    /// True once listeners are bound and configuration is loaded, and until
    /// draining starts.
    pub fn is_ready(&self) -> bool {
        self.health.is_ready()
    }

    pub fn set_ready(&self, ready: bool) {
        self.health.set_ready(ready);
    }

    pub fn is_draining(&self) -> bool {
        self.health.is_draining()
    }

    pub fn set_draining(&self) {
        self.health.set_draining();
    }

    /// Waits until the audit and access lines queued so far are written
    /// (the writer threads block on their output, so this waits off the
    /// async workers; the access log's writer batches its lines).
    pub async fn flush_audit(&self) {
        let snap = self.snapshot();
        let audit = snap.audit.clone();
        let access = snap.runtime.access_log.clone();
        let _ = tokio::task::spawn_blocking(move || {
            audit.sync();
            access.sync();
        })
        .await;
    }
}

impl Snapshot {
    fn build(runtime: Runtime, metrics: &Arc<Metrics>, old: Option<&Snapshot>) -> Snapshot {
        let clients = runtime
            .upstreams
            .iter()
            .map(|u| {
                let reuse = old.and_then(|o| {
                    let i = o.runtime.upstreams.iter().position(|ou| ou.same_transport(u))?;
                    (o.runtime.limits == runtime.limits).then(|| o.clients[i].clone())
                });
                reuse.unwrap_or_else(|| upstream::build_client(u, &runtime.limits))
            })
            .collect();
        let route_metrics = runtime
            .routes
            .iter()
            .map(|r| Arc::new(RouteMetrics::new(metrics, r.name.clone())))
            .collect();
        let unrouted = Arc::new(RouteMetrics::new(metrics, Arc::from(handler::UNROUTED)));
        let route_counters = runtime
            .routes
            .iter()
            .map(|r| Arc::new(RouteCounters::new(metrics, &r.name, &r.policy)))
            .collect();
        let audit = runtime.audit.clone();
        Snapshot {
            runtime: Arc::new(runtime),
            clients,
            route_metrics,
            unrouted,
            route_counters,
            audit,
        }
    }
}

/// Creates every per-route series at zero so alerts see them from the
/// first scrape.
fn init_routes(metrics: &Metrics, runtime: &Runtime) {
    metrics.set_certificate_expiries(&runtime.certificates);
    metrics.init_route(handler::UNROUTED, std::iter::empty());
    for route in &runtime.routes {
        let policy = &route.policy;
        let pairs = policy.actions.iter().map(|(k, a)| (policy.engine.kind_name(*k), a.as_str()));
        if policy.monitor() {
            metrics.init_route(&route.name, std::iter::empty());
            metrics.init_monitored(&route.name, pairs);
        } else {
            metrics.init_route(&route.name, pairs);
        }
    }
}

/// Serves HTTP/1.1 and HTTP/2 on one accepted connection (plain TCP, or a
/// TLS stream once the handshake is done) until it closes or a graceful
/// shutdown finishes it.
pub async fn serve_io<I>(
    io: I,
    info: ConnInfo,
    proxy: Arc<Proxy>,
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| handler::handle(proxy.clone(), info, req));
    let conn = builder.serve_connection(io, svc);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}

/// Counts a client connection in `connections_active` for as long as it
/// lives, however its task ends (finished, timed out, or cut at drain).
struct ActiveConnection(prometheus::IntGauge);

impl ActiveConnection {
    fn new(metrics: &Metrics) -> ActiveConnection {
        metrics.connections_active.inc();
        ActiveConnection(metrics.connections_active.clone())
    }
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Bound proxy listeners, not yet accepting.
pub struct Server {
    listeners: Vec<TcpListener>,
    proxy: Arc<Proxy>,
}

impl Server {
    /// Binds every address in the runtime's `listen` list.
    pub async fn bind(proxy: Arc<Proxy>) -> io::Result<Server> {
        let rt = proxy.runtime();
        let mut listeners = Vec::new();
        for addr in &rt.listen {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            listeners.push(l);
        }
        Ok(Server { listeners, proxy })
    }

    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Accepts and serves until `shutdown` completes; then stops accepting,
    /// asks every connection to finish its in-flight exchange and close,
    /// and waits for them up to the drain timeout.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let proxy = self.proxy;
        let limits = proxy.runtime().limits.clone();
        let drain_timeout = proxy.runtime().drain_timeout;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.idle_timeout)
            .max_buf_size(limits.max_request_header_bytes)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            // hyper's defaults (~400 KiB per stream, 200 streams) made most
            // of the memory under HTTP/2 load; see [limits] in the example
            // configuration.
            .max_send_buf_size(limits.h2_stream_send_buffer)
            .max_concurrent_streams(limits.h2_max_concurrent_streams)
            .max_header_list_size(limits.max_request_header_bytes as u32)
            .keep_alive_interval(Some(limits.idle_timeout / 2))
            .keep_alive_timeout(limits.idle_timeout / 2);
        // With TLS, ALPN has already chosen the protocol: serve only that one.
        let h1_only = Arc::new(builder.clone().http1_only());
        let h2_only = Arc::new(builder.clone().http2_only());
        let builder = Arc::new(builder);
        let idle_timeout = limits.idle_timeout;
        let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(limits.max_connections));

        let mut accepts = JoinSet::new();
        // Connection tasks, so that whatever is left after the drain timeout
        // can be cut.
        let mut conns = JoinSet::new();
        let (conn_tx, mut conn_rx) = tokio::sync::mpsc::channel(64);
        for listener in self.listeners {
            let tx = conn_tx.clone();
            let slots = slots.clone();
            accepts.spawn(async move {
                loop {
                    // Wait for a free slot before accepting, so excess
                    // clients queue in the kernel rather than in memory.
                    let Ok(permit) = slots.clone().acquire_owned().await else { return };
                    match listener.accept().await {
                        Ok((stream, peer)) => {
                            if tx.send((stream, peer, permit)).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            // EMFILE and friends: back off instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
        drop(conn_tx);

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                next = conn_rx.recv() => {
                    let Some((stream, peer, permit)) = next else { break };
                    let _ = stream.set_nodelay(true);
                    let watcher = graceful.watcher();
                    let proxy = proxy.clone();
                    let (builder, h1_only, h2_only) =
                        (builder.clone(), h1_only.clone(), h2_only.clone());
                    let mut stopping = stopping_rx.clone();
                    conns.spawn(async move {
                        let _permit = permit;
                        let _active = ActiveConnection::new(proxy.metrics());
                        // hyper's header-read timeout starts only once the
                        // protocol is known; a client that never sends a
                        // byte would hold its slot forever.
                        let mut first = [0u8; 1];
                        let first_byte = tokio::select! {
                            r = tokio::time::timeout(idle_timeout, stream.peek(&mut first)) => r,
                            // Draining: a connection with no request yet has
                            // nothing to finish.
                            _ = stopping.wait_for(|s| *s) => return,
                        };
                        if !matches!(first_byte, Ok(Ok(n)) if n > 0) {
                            return;
                        }
                        // The TLS configuration current at accept time (a
                        // reload only affects later handshakes).
                        match proxy.runtime().tls.clone() {
                            None => {
                                let info = ConnInfo { peer, proto: "http", tls: None };
                                serve_io(TokioIo::new(stream), info, proxy, &builder, watcher)
                                    .await;
                            }
                            Some(tls) => match tls.accept(stream).await {
                                Ok(stream) => {
                                    // ALPN has chosen the protocol: serve
                                    // only that one.
                                    let builder = match stream.get_ref().1.alpn_protocol() {
                                        Some(b"h2") => h2_only,
                                        Some(b"http/1.1") => h1_only,
                                        _ => builder,
                                    };
                                    let tls = stream
                                        .get_ref()
                                        .1
                                        .protocol_version()
                                        .map(crate::access_log::tls_version_name);
                                    let info = ConnInfo { peer, proto: "https", tls };
                                    serve_io(TokioIo::new(stream), info, proxy, &builder, watcher)
                                        .await;
                                }
                                Err(e) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed")
                                }
                            },
                        }
                    });
                }
                // Reap finished connection tasks so the set stays small.
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }

        proxy.set_draining();
        let _ = stopping_tx.send(true);
        accepts.shutdown().await;
        drop(conn_rx);
        tracing::info!(connections = graceful.count(), "draining");
        if tokio::time::timeout(drain_timeout, graceful.shutdown()).await.is_err() {
            tracing::warn!(
                ?drain_timeout,
                remaining = conns.len(),
                "drain timeout reached; closing remaining connections"
            );
        }
        conns.shutdown().await;
    }
}

/// A running guard (proxy listeners plus admin listener), started in this
/// process. Dropping it does not stop it; call [`Guard::shutdown`].
pub struct Guard {
    pub proxy: Arc<Proxy>,
    /// Bound proxy addresses, in `listen` order.
    pub listen: Vec<SocketAddr>,
    /// Bound admin address, if enabled.
    pub admin: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Guard {
    /// Binds everything the runtime asks for and starts serving.
    pub async fn start(runtime: Runtime, metrics: Arc<Metrics>) -> io::Result<Guard> {
        let proxy = Proxy::new(runtime, metrics);
        Self::start_with(proxy, None).await
    }

    /// Like [`Guard::start`] with an existing [`Proxy`] and an optional
    /// admin reload hook.
    pub async fn start_with(proxy: Arc<Proxy>, reload: Option<ReloadHook>) -> io::Result<Guard> {
        let server = Server::bind(proxy.clone()).await?;
        let rt = proxy.runtime();
        let admin = match rt.admin {
            Some(addr) => {
                let (health, metrics) = (proxy.health.clone(), proxy.metrics.clone());
                let access = rt.admin_access.clone();
                let inventory = proxy.inventory.clone();
                Some(AdminServer::bind(addr, access, health, metrics, reload, inventory).await?)
            }
            None => None,
        };
        let listen = server.local_addrs();
        let admin_addr = admin.as_ref().and_then(|a| a.local_addr().ok());
        let (stop, stopped) = oneshot::channel::<()>();
        let (admin_stop, admin_stopped) = oneshot::channel::<()>();
        if let Some(admin) = admin {
            tokio::spawn(admin.serve(async move {
                let _ = admin_stopped.await;
            }));
        }
        proxy.set_ready(true);
        let snapshots = crate::inventory::persist::spawn(proxy.inventory());
        let task = tokio::spawn(async move {
            server
                .serve(async move {
                    let _ = stopped.await;
                })
                .await;
            snapshots.finish().await;
            // The admin listener outlives the drain so /readyz says 503
            // while in-flight responses finish.
            let _ = admin_stop.send(());
        });
        Ok(Guard { proxy, listen, admin: admin_addr, stop: Some(stop), task })
    }

    /// Stops accepting, drains in-flight exchanges (up to the drain
    /// timeout) and waits until everything has stopped.
    pub async fn shutdown(mut self) {
        self.proxy.set_draining();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.proxy.flush_audit().await;
    }

    /// Starts the shutdown without waiting; await [`Guard::wait`] after.
    pub fn begin_shutdown(&mut self) {
        self.proxy.set_draining();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until the guard has stopped (after a shutdown began).
    pub async fn wait(self) {
        let _ = self.task.await;
        self.proxy.flush_audit().await;
    }
}
