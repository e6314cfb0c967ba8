//! leakwarden: a streaming reverse proxy that keeps card numbers, personal
//! data and secrets from leaking out of HTTP responses.
//!
//! The crate is laid out by concern:
//! - [`detect`]: the pure, synchronous detection engine (bytes in, bytes and
//!   findings out). It knows nothing of tokio, hyper or the network.
//! - [`pipeline`]: the `http_body::Body` wrapper that feeds response bodies
//!   through the engine (decoding, hold window, blocking).
//! - [`policy`]: compiled per-route policies (which detectors, which actions).
//! - [`proxy`]: the hyper server and client plumbing, routing, proxy headers.
//! - [`tls`]: rustls configuration for the listener and for upstreams.
//! - [`config`]: the TOML file format, its parsing and `ConfigError` (a leaf).
//! - [`app`]: the one place that assembles the runtime (policies, audit log,
//!   certificates, upstream TLS) from a parsed config; `run` and reload use it.
//! - [`media`]: media-type patterns (a leaf shared by policy and pipeline).
//! - [`clock`]: wall-clock seconds and calendar dates (a leaf).
//! - [`metrics`]: every Prometheus metric, registered once.
//! - [`admin`]: the admin listener (/healthz, /readyz, /metrics, /reload).
//! - [`reload`]: hot reload of the configuration (SIGHUP, POST /reload).
//! - [`audit`]: the audit log (what was found where, never the value).
//! - [`inventory`]: the privacy inventory (what each endpoint exposes, which
//!   forms ask for personal data, which third parties pages load).
//! - [`access_log`]: the access log (one line per request, client text
//!   masked); [`linelog`]: the one writer thread both logs queue lines to.
//! - [`cli`], [`scan`], [`demo`]: the command line; [`serve`] runs the
//!   process (tokio runtime, signals, exit codes).
// `deny`, not `forbid`: `detect::simd` alone allows `unsafe`, for its vector
// loads and its calls of `target_feature` functions; everything else stays
// free of it.
#![deny(unsafe_code)]
// The module docs are a map for the crate's developers and link its
// private modules; `cargo doc --document-private-items` renders them.
#![allow(rustdoc::private_intra_doc_links)]

pub mod access_log;
pub mod admin;
pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod detect;
pub mod inventory;
pub mod linelog;
pub mod logging;
pub mod media;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod proxy;
pub mod reload;
pub mod scan;
pub mod serve;
pub mod tls;
// Bulk-exfiltration budgets per client, optionally shared through Redis.
pub mod exfil;
