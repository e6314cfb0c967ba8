//! Running leakwarden as a process: the tokio runtime (built by hand so
//! `--workers` applies), logging, the signals (SIGTERM/SIGINT drain, a
//! second one exits; SIGHUP reloads; SIGUSR1 reopens log files) and the
//! exit codes. `leakwarden run`
//! and `leakwarden demo` both start here; the application itself is
//! assembled by [`crate::app`].
//!
//! Every signal handler is installed before the first listener binds.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{self, Overrides};
use crate::clock::unix_now;
use crate::config::ConfigError;
use crate::metrics::Metrics;
use crate::proxy::{Guard, Proxy};
use crate::reload::Reloader;

/// Exit code for a configuration or usage error.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code for a failure while running (a port in use, ...).
pub const EXIT_FAILURE: u8 = 1;

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

pub fn config_error(e: &ConfigError) -> ExitCode {
    eprintln!("leakwarden: configuration error: {e}");
    ExitCode::from(EXIT_CONFIG)
}

/// `leakwarden run`: builds the runtime from the file (if any) and the
/// flags, starts logging, the tokio runtime, the proxy and admin listeners,
/// SIGHUP reload and the drain on SIGTERM/SIGINT; returns the exit code.
pub fn run(config: Option<PathBuf>, overrides: Overrides, workers: Option<u16>) -> ExitCode {
    let runtime = match app::load_optional(config.as_deref(), &overrides) {
        Ok(rt) => rt,
        Err(e) => return config_error(&e),
    };
    init_logging(&runtime.file.log);
    let tokio_rt = match tokio_runtime(workers) {
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
        let reloader = Reloader::new(config, overrides, proxy.clone());
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
        #[cfg(unix)]
        let _sigusr1 = match spawn_log_reopen(proxy.clone()) {
            Ok(task) => Some(task),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGUSR1; log files are not reopened");
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

/// Reopens the file outputs of the access log and the audit log of the
/// current configuration (logrotate renamed them). Never blocks.
pub fn reopen_logs(rt: &crate::app::Runtime) {
    rt.access_log.reopen();
    rt.audit.reopen();
}

/// On every SIGUSR1, [`reopen_logs`] (the `postrotate` step of a
/// logrotate configuration: `kill -USR1 <pid>`). Needs a Tokio runtime.
#[cfg(unix)]
pub fn spawn_log_reopen(proxy: Arc<Proxy>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sig = signal(SignalKind::user_defined1())?;
    Ok(tokio::spawn(async move {
        while sig.recv().await.is_some() {
            tracing::info!("SIGUSR1: reopening log files");
            reopen_logs(&proxy.runtime());
        }
    }))
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
