//! The command line (clap derive): `run`, `check-config`, `scan`, `demo`,
//! `healthcheck`. It turns arguments into a runtime configuration, builds
//! the tokio runtime by hand (so `--workers` applies) and maps outcomes to
//! exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, ConfigError, Overrides};
use crate::metrics::Metrics;
use crate::proxy::{Guard, Proxy};

/// Exit code for a configuration or usage error.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code for a failure while running (a port in use, ...).
pub const EXIT_FAILURE: u8 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "leakwarden",
    version,
    about = "A streaming reverse proxy that keeps card numbers, personal data and secrets from leaking out of HTTP responses",
    long_about = "leakwarden sits in front of a website (as a sidecar or a gateway) and streams every \
text-like response body through a detection engine: card numbers, SSNs, IBANs, emails, phone \
numbers, API keys and tokens are masked, redacted, tokenized or blocked on the fly, without \
buffering whole bodies. Metrics are exported for Prometheus on the admin listener.\n\n\
Try it: `leakwarden demo`, then follow the printed curl commands.\n\n\
Exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the guard in front of an upstream (sidecar or gateway).
    Run(RunArgs),
    /// Validate a configuration file and print a summary (exit 0), or the
    /// error with file:line:col (exit 2).
    CheckConfig(CheckArgs),
    /// Scan files or standard input for sensitive data (data-at-rest audit).
    Scan(crate::scan::ScanArgs),
    /// Start a demo shop with fake sensitive data and the guard in front of
    /// it, on loopback, and print what to try.
    Demo(crate::demo::DemoArgs),
    /// Exit 0 if the admin listener's /healthz answers 200 (for container
    /// health checks in images without curl).
    Healthcheck(HealthArgs),
    /// Print the privacy inventory of a running guard or of saved
    /// snapshots (merged), as Markdown, HTML or JSON.
    Report(crate::inventory::report::ReportArgs),
}

/// Arguments of `leakwarden run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (TOML). Without it, flags alone configure a
    /// sidecar: --upstream is then required.
    #[arg(long, short, env = "LEAKWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (repeat or comma-separate for several);
    /// overrides [server] listen. Default 127.0.0.1:8080.
    #[arg(long, env = "LEAKWARDEN_LISTEN", value_delimiter = ',')]
    pub listen: Vec<SocketAddr>,
    /// Upstream base URL (http://host:port) for a single catch-all route;
    /// only when the configuration file defines no routes.
    #[arg(long, env = "LEAKWARDEN_UPSTREAM")]
    pub upstream: Option<String>,
    /// Admin listener address (/healthz, /readyz, /metrics); overrides
    /// [admin] listen. Default 127.0.0.1:9901.
    #[arg(long, env = "LEAKWARDEN_ADMIN")]
    pub admin: Option<SocketAddr>,
    /// Runtime worker threads. Default: the number of CPU cores.
    #[arg(long, env = "LEAKWARDEN_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs
    /// --tls-key. Overrides [tls] cert.
    #[arg(long, env = "LEAKWARDEN_TLS_CERT", requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) of --tls-cert.
    #[arg(long, env = "LEAKWARDEN_TLS_KEY", requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
}

impl RunArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            admin: self.admin,
            upstream: self.upstream.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
        }
    }
}

/// Arguments of `leakwarden check-config`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration file to validate.
    pub file: PathBuf,
}

/// Arguments of `leakwarden healthcheck`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Admin listener address to query.
    #[arg(long, env = "LEAKWARDEN_ADMIN", default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
}

/// Parses arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_CONFIG } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run(args),
        Command::CheckConfig(args) => check_config(&args),
        Command::Scan(args) => crate::scan::run(args),
        Command::Demo(args) => crate::demo::run(args),
        Command::Healthcheck(args) => healthcheck(&args),
        Command::Report(args) => crate::inventory::report::run(&args),
    }
}

/// Installs logging from the `[log]` section (RUST_LOG overrides it). The
/// section was validated with the rest of the configuration, so a failure
/// here can only mean a subscriber is already installed.
pub fn init_logging(section: &crate::config::log::LogSection) {
    if let Err(e) = crate::logging::init(section) {
        if !matches!(e, crate::logging::LogError::AlreadyInstalled) {
            eprintln!("leakwarden: logging: {e}");
        }
    }
}

/// Builds the multi-thread tokio runtime (no `#[tokio::main]`, so the
/// worker count can come from a flag).
pub fn tokio_runtime(workers: Option<u16>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all().thread_name("leakwarden-worker");
    if let Some(n) = workers {
        b.worker_threads(usize::from(n));
    }
    b.build()
}

fn config_error(e: &ConfigError) -> ExitCode {
    eprintln!("leakwarden: configuration error: {e}");
    ExitCode::from(EXIT_CONFIG)
}

fn run(args: RunArgs) -> ExitCode {
    let runtime = match config::load_optional(args.config.as_deref(), &args.overrides()) {
        Ok(rt) => rt,
        Err(e) => return config_error(&e),
    };
    init_logging(&runtime.file.log);
    let tokio_rt = match tokio_runtime(args.workers) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("leakwarden: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    tokio_rt.block_on(async move {
        let metrics = Arc::new(Metrics::new());
        metrics.record_initial_load(unix_now());
        let proxy = Proxy::new(runtime, metrics);
        let reloader = crate::reload::Reloader::new(args.config.clone(), args.overrides(), proxy.clone());
        // Every signal handler is in place before the first listener binds:
        // until then SIGHUP and SIGTERM have their default action, which
        // kills the process at once (a supervisor that reloads right after
        // the start would take the guard down).
        let signals = ShutdownSignals::install();
        #[cfg(unix)]
        let _sighup = match reloader.spawn_sighup() {
            Ok(task) => Some(task),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with POST /reload");
                None
            }
        };
        let guard = match Guard::start_with(proxy, Some(reloader.admin_hook())).await {
            Ok(g) => g,
            Err(e) => {
                eprintln!("leakwarden: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        };
        let rt = guard.proxy.runtime();
        for addr in &guard.listen {
            tracing::info!(%addr, "proxy listening");
        }
        if let Some(addr) = guard.admin {
            tracing::info!(%addr, "admin listening");
        }
        for r in &rt.routes {
            let u = &rt.upstreams[r.upstream];
            tracing::info!(route = &*r.name, upstream = %format!("{}://{}", u.scheme, u.authority), "route");
        }
        run_until_signal(guard, signals).await
    })
}

/// Waits for SIGTERM/SIGINT, then drains. A second signal exits at once.
pub async fn run_until_signal(mut guard: Guard, mut signals: ShutdownSignals) -> ExitCode {
    signals.recv().await;
    tracing::info!("shutting down: no new connections, finishing in-flight responses");
    guard.begin_shutdown();
    tokio::select! {
        _ = guard.wait() => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        _ = signals.recv() => {
            tracing::warn!("second signal: exiting without finishing the drain");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// SIGTERM and SIGINT (Ctrl-C), registered when this is created: from then
/// on they start a graceful drain instead of killing the process. Create it
/// before the listeners bind. Needs a Tokio runtime.
pub struct ShutdownSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    pub fn install() -> ShutdownSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate())
                .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGTERM"))
                .ok();
            let int = signal(SignalKind::interrupt())
                .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGINT"))
                .ok();
            ShutdownSignals { term, int }
        }
        #[cfg(not(unix))]
        ShutdownSignals {}
    }

    /// Completes on the next SIGTERM or SIGINT.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = next(&mut self.term) => {}
                _ = next(&mut self.int) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn check_config(args: &CheckArgs) -> ExitCode {
    let file = match config::read_file(&args.file) {
        Ok(f) => f,
        Err(e) => return config_error(&e),
    };
    let name = args.file.display().to_string();
    // A sidecar file may leave routing to --upstream: check the rest with a
    // placeholder catch-all route.
    let needs_upstream = file.routes.is_empty();
    let overrides = Overrides {
        upstream: needs_upstream.then(|| "http://127.0.0.1:1".to_string()),
        ..Overrides::default()
    };
    let rt = match config::Runtime::build(file, &overrides, &name) {
        Ok(rt) => rt,
        Err(e) => return config_error(&e),
    };
    println!("{name}: ok");
    let listen: Vec<String> = rt.listen.iter().map(ToString::to_string).collect();
    println!("  listen: {}", listen.join(", "));
    match rt.admin {
        Some(a) => println!("  admin: {a}"),
        None => println!("  admin: disabled"),
    }
    let mut policies: Vec<&str> = rt.policies.keys().map(String::as_str).collect();
    policies.sort_unstable();
    println!("  policies: {}", policies.join(", "));
    if needs_upstream {
        println!("  routes: none (pass --upstream URL to `leakwarden run`)");
    } else {
        for r in &rt.routes {
            let u = &rt.upstreams[r.upstream];
            let host = match &r.host {
                config::runtime::HostMatch::Any => "*".to_string(),
                config::runtime::HostMatch::Exact(h) => h.clone(),
                config::runtime::HostMatch::Suffix(s) => format!("*{s}"),
            };
            println!(
                "  route {}: host {host} prefix {} -> {} ({}://{}) policy {}",
                r.name, r.path_prefix, u.name, u.scheme, u.authority, r.policy.name
            );
        }
    }
    ExitCode::SUCCESS
}

fn healthcheck(args: &HealthArgs) -> ExitCode {
    use std::io::{Read, Write};
    let mut addr = args.admin;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let timeout = std::time::Duration::from_secs(3);
    let result = (|| -> std::io::Result<bool> {
        let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    })();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("leakwarden: {addr}/healthz did not answer 200");
            ExitCode::from(EXIT_FAILURE)
        }
        Err(e) => {
            eprintln!("leakwarden: {addr}/healthz: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
