//! Hot reload of the configuration: `SIGHUP` and `POST /reload` on the
//! admin listener re-read the file, validate it into a new runtime
//! configuration and swap it in atomically.
//!
//! Requests already running keep the snapshot they started with (the proxy
//! hands each request an `Arc` of its configuration), so in-flight
//! responses finish under the old policy while new requests see the new
//! one. An invalid file changes nothing: the running configuration stays,
//! the error (file:line:col and a message) is logged and counted. Settings
//! that need new sockets (listener and admin addresses) or a new log
//! writer (the log format) are kept as they are and reported as needing a
//! restart.
//!
//! What this module must never do: log or return anything but config
//! locations, names and counts; never a body or a header value. Reloads
//! are serialised, so SIGHUP and POST /reload cannot interleave.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::app::{self, Overrides, Runtime};
use crate::clock::unix_now;
use crate::config::ConfigError;
use crate::logging::{self, LogReload};
use crate::metrics::Metrics;
use crate::proxy::Proxy;

/// What triggered a reload (a bounded set: it is logged as a field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The process received SIGHUP.
    Signal,
    /// `POST /reload` on the admin listener.
    Admin,
    /// A direct call (tests, embedding).
    Api,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Signal => "sighup",
            Trigger::Admin => "admin",
            Trigger::Api => "api",
        }
    }
}

/// A successful reload, summarised for the admin answer and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub routes: usize,
    pub policies: usize,
    /// Settings that changed in the file but only take effect after a
    /// restart (`server.listen`, `admin.listen`, `tls` turned on or off,
    /// `log.format`).
    pub needs_restart: Vec<&'static str>,
}

impl fmt::Display for Reloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "configuration reloaded: {} route(s), {} policy(ies)",
            self.routes, self.policies
        )?;
        if !self.needs_restart.is_empty() {
            write!(f, "; changed but kept until restart: {}", self.needs_restart.join(", "))?;
        }
        Ok(())
    }
}

/// A step that must succeed before a new configuration is swapped in, for
/// state that lives outside the runtime configuration (the listener's TLS
/// certificates, for example). It sees the validated new runtime; an error
/// fails the whole reload (nothing is swapped) and is reported like a
/// configuration error, so the message must name files and places only.
pub type PrepareHook = Box<dyn Fn(&Runtime) -> Result<(), String> + Send + Sync>;

/// Re-reads one configuration source and swaps it into a running proxy.
pub struct Reloader {
    path: Option<PathBuf>,
    overrides: Overrides,
    proxy: Arc<Proxy>,
    /// Serialises reloads; holds nothing.
    lock: Mutex<()>,
    /// Number of reloads attempted so far (success or failure), so that a
    /// caller (tests, a supervisor) can await the outcome of a SIGHUP
    /// instead of sleeping.
    done: tokio::sync::watch::Sender<u64>,
    /// Run in order before the swap; see [`PrepareHook`].
    hooks: Mutex<Vec<(&'static str, PrepareHook)>>,
}

impl Reloader {
    /// `path` is the file given to `run --config` (None: flags only, and a
    /// reload rebuilds from the same flags). `overrides` are the command
    /// line flags, re-applied on every reload so that they keep winning.
    pub fn new(path: Option<PathBuf>, overrides: Overrides, proxy: Arc<Proxy>) -> Arc<Reloader> {
        let (done, _) = tokio::sync::watch::channel(0);
        Arc::new(Reloader {
            path,
            overrides,
            proxy,
            lock: Mutex::new(()),
            done,
            hooks: Mutex::new(Vec::new()),
        })
    }

    /// Adds a step run before every swap (see [`PrepareHook`]); `name`
    /// prefixes its errors (`"tls"` gives `"tls: ..."`).
    pub fn add_prepare_hook(
        &self,
        name: &'static str,
        hook: impl Fn(&Runtime) -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.hooks.lock().unwrap_or_else(|p| p.into_inner()).push((name, Box::new(hook)));
    }

    /// Watches the number of reloads attempted (successful or not).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.done.subscribe()
    }

    /// The configuration file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn metrics(&self) -> &Metrics {
        self.proxy.metrics()
    }

    fn source(&self) -> String {
        self.path.as_ref().map_or("command line".into(), |p| p.display().to_string())
    }

    fn load(&self) -> Result<Runtime, ConfigError> {
        // Runtime::build validates everything, [log] included.
        let rt = app::load_optional(self.path.as_deref(), &self.overrides)?;
        for (name, hook) in self.hooks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            hook(&rt)
                .map_err(|e| ConfigError::Invalid(format!("{}: {name}: {e}", self.source())))?;
        }
        Ok(rt)
    }

    /// Reloads now. On error the running configuration is untouched.
    /// Blocking (reads a file, compiles detectors): call it from a blocking
    /// context or accept a short stall.
    pub fn reload(&self, trigger: Trigger) -> Result<Reloaded, ConfigError> {
        let _serial = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.reload_locked(trigger);
        self.done.send_modify(|n| *n += 1);
        result
    }

    fn reload_locked(&self, trigger: Trigger) -> Result<Reloaded, ConfigError> {
        let source = self.source();
        let mut rt = match self.load() {
            Ok(rt) => rt,
            Err(e) => {
                self.metrics().record_reload(false, unix_now());
                tracing::error!(
                    trigger = trigger.as_str(),
                    source = %source,
                    error = %e,
                    "configuration reload failed; the running configuration is kept"
                );
                return Err(e);
            }
        };

        let old = self.proxy.runtime();
        let mut needs_restart = Vec::new();
        if rt.listen != old.listen {
            tracing::warn!(
                configured = ?rt.listen,
                running = ?old.listen,
                "server.listen changed: needs a restart; the running listeners are kept"
            );
            rt.listen = old.listen.clone();
            needs_restart.push("server.listen");
        }
        if rt.admin != old.admin {
            tracing::warn!(
                configured = ?rt.admin,
                running = ?old.admin,
                "admin listener changed: needs a restart; the running admin listener is kept"
            );
            rt.admin = old.admin;
            needs_restart.push("admin.listen");
        }
        // The token and host names are the bound listener's: never logged
        // (the token is only a digest anyway), kept until a restart.
        if rt.admin_access != old.admin_access {
            tracing::warn!(
                "[admin] token or hosts changed: needs a restart; the running admin listener \
                 keeps its access rules"
            );
            rt.admin_access = old.admin_access.clone();
            needs_restart.push("admin.access");
        }
        // Certificates reload with the file (the listener takes the TLS
        // configuration of the current runtime at each accept), but turning
        // TLS on or off would change the protocol of a bound port under its
        // clients: that waits for a restart.
        match (&old.tls, &rt.tls) {
            (Some(_), None) | (None, Some(_)) => {
                tracing::warn!(
                    running = old.tls.is_some(),
                    configured = rt.tls.is_some(),
                    "[tls] added or removed: needs a restart; the listener keeps its protocol"
                );
                rt.tls = old.tls.clone();
                rt.certificates = old.certificates.clone();
                needs_restart.push("tls");
            }
            _ => {}
        }
        match logging::apply(&rt.file.log) {
            Ok(LogReload::FormatNeedsRestart { running, configured }) => {
                tracing::warn!(
                    running = running.as_str(),
                    configured = configured.as_str(),
                    "log.format changed: needs a restart; the level was applied"
                );
                needs_restart.push("log.format");
            }
            Ok(_) => {}
            // validate() passed, so this is the subscriber going away
            // (shutdown); not a reason to refuse the new configuration.
            Err(e) => tracing::warn!(error = %e, "log level not changed"),
        }

        let summary =
            Reloaded { routes: rt.routes.len(), policies: rt.policies.len(), needs_restart };
        // apply() also creates the zero series of new routes.
        self.proxy.apply(rt);
        self.metrics().record_reload(true, unix_now());
        tracing::info!(
            trigger = trigger.as_str(),
            source = %source,
            routes = summary.routes,
            policies = summary.policies,
            needs_restart = ?summary.needs_restart,
            "configuration reloaded"
        );
        Ok(summary)
    }

    /// The hook the admin listener calls on `POST /reload`: the summary on
    /// success, the config error (location and message) on failure.
    pub fn admin_hook(self: &Arc<Self>) -> crate::admin::ReloadHook {
        let me = self.clone();
        Arc::new(move || {
            me.reload(Trigger::Admin).map(|r| r.to_string()).map_err(|e| e.to_string())
        })
    }

    /// Reloads on every SIGHUP until the returned task is aborted. The
    /// reload runs on the blocking pool so a slow detector compile never
    /// stalls request handling.
    #[cfg(unix)]
    pub fn spawn_sighup(self: &Arc<Self>) -> std::io::Result<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())?;
        let me = self.clone();
        Ok(tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let me = me.clone();
                // The outcome is logged and counted inside reload().
                let _ = tokio::task::spawn_blocking(move || me.reload(Trigger::Signal)).await;
            }
        }))
    }
}
