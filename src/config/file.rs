//! The configuration file's root: one struct per TOML table, unknown keys
//! rejected, every field documented (the commented example in
//! `config/leakwarden.toml` shows them all).
//!
//! This module only describes the file's shape and parses scalar values
//! (durations, sizes, addresses) so that a bad value is reported at its
//! line and column. Cross-checks between sections (a route naming an
//! unknown upstream...) happen once, in [`crate::app`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::detect::DetectSection;
use super::log::LogSection;
use super::policy::{AuditSection, PolicySection};
use super::tls::{ListenerTlsSection, UpstreamTlsSection};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The proxy listener(s) and shutdown behaviour.
    #[serde(default)]
    pub server: ServerSection,
    /// The admin listener (/healthz, /readyz, /metrics).
    #[serde(default)]
    pub admin: AdminSection,
    /// Timeouts and size limits of the proxy.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Named upstreams; routes refer to them by name.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamSection>,
    /// Routes, matched by host then by the longest path prefix.
    #[serde(default)]
    pub routes: Vec<RouteSection>,
    /// Detector settings shared by every policy.
    #[serde(default)]
    pub detect: DetectSection,
    /// Named policies; routes refer to them by name.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicySection>,
    /// The audit log.
    #[serde(default)]
    pub audit: AuditSection,
    /// Logging.
    #[serde(default)]
    pub log: LogSection,
    /// TLS on the proxy listener; absent means plain HTTP (and h2c).
    #[serde(default)]
    pub tls: Option<ListenerTlsSection>,
    /// Per-client budgets of sensitive values (bulk exfiltration), shared
    /// across replicas through Redis or kept in this process.
    #[serde(default)]
    pub exfiltration: super::exfiltration::ExfiltrationSection,
    /// The privacy inventory (what each endpoint exposes, forms, third
    /// parties); on by default, observe only.
    #[serde(default)]
    pub inventory: super::inventory::InventorySection,
    /// The access log: one JSON line per request.
    #[serde(default)]
    pub access_log: super::access_log::AccessLogSection,
}

/// The `[server]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Addresses the proxy listens on. Loopback by default: a container or a
    /// gateway must opt in to `0.0.0.0:8080` explicitly.
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// On SIGTERM/SIGINT: how long in-flight responses may take to finish
    /// after the listener stops accepting, before the process exits anyway.
    #[serde(default = "default_drain_timeout")]
    pub drain_timeout: ConfigDuration,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection { listen: default_listen(), drain_timeout: default_drain_timeout() }
    }
}

fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 8080))]
}

fn default_drain_timeout() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(30))
}

/// The `[admin]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Whether the admin listener runs at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Address of the admin listener. Keep it on loopback or a private
    /// network: it exposes metrics and (with reload) control.
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// File holding the admin token (at least 16 bytes; surrounding
    /// whitespace ignored). When a token is set, mutating endpoints
    /// (`POST /reload`) need `Authorization: Bearer <token>`. Relative paths
    /// resolve against the configuration file's directory.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Name of the environment variable holding the admin token (instead of
    /// `token_file`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Host names accepted in the `Host` header of admin requests, besides
    /// IP literals and `localhost` (which are always accepted). Any other
    /// host is refused, so that a web page cannot reach the listener through
    /// DNS rebinding. Example: `["leakwarden-admin.internal"]`.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Serve mutating endpoints without a token when `listen` is not a
    /// loopback address. Off by default: such a listener refuses
    /// `POST /reload` (read-only endpoints keep working) and warns at start.
    #[serde(default)]
    pub allow_remote_without_token: bool,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection {
            enabled: true,
            listen: default_admin_listen(),
            token_file: None,
            token_env: None,
            hosts: Vec::new(),
            allow_remote_without_token: false,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9901))
}

/// The `[limits]` section: timeouts and sizes, with defaults meant for a
/// typical web application.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Time allowed to open a TCP connection to an upstream (then 504).
    #[serde(default = "d5s")]
    pub connect_timeout: ConfigDuration,
    /// Time from sending the request upstream (including its body) to
    /// receiving the upstream's response headers (then 504).
    #[serde(default = "d60s")]
    pub response_header_timeout: ConfigDuration,
    /// Whole-exchange budget, from the request's headers arriving to the
    /// last byte of the response body. Before the response headers it gives
    /// 504; once the body is streaming the response is aborted. `"0s"`
    /// disables it (long downloads, server-sent events).
    #[serde(default = "d300s")]
    pub request_timeout: ConfigDuration,
    /// How long a client connection may take to send a request's headers,
    /// and how long an idle keep-alive connection is kept open.
    #[serde(default = "d60s")]
    pub idle_timeout: ConfigDuration,
    /// Largest request head (request line and headers) a client may send,
    /// in bytes; at least 8192.
    #[serde(default = "default_max_header_bytes")]
    pub max_request_header_bytes: usize,
    /// Client connections served at once; further clients wait in the
    /// kernel's accept queue until one closes.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// How long an idle pooled upstream connection is kept for reuse.
    #[serde(default = "d90s")]
    pub upstream_idle_timeout: ConfigDuration,
    /// Idle pooled connections kept per upstream. Should cover the requests
    /// in flight to it at peak: beyond it, connections returned at the end
    /// of a burst are closed and the next burst opens new ones (with 320
    /// HTTP/2 streams in flight, 64 cost about a fifth of the requests/s
    /// and doubled p99; BENCHMARKS.md).
    #[serde(default = "default_max_idle")]
    pub upstream_max_idle_per_host: usize,
    /// Largest read buffer of an HTTP/1.1 upstream connection, in bytes (at
    /// least 8192). Bounds the response bytes held per upstream connection;
    /// larger means fewer reads on big bodies and more memory per response.
    #[serde(default = "default_upstream_read_buffer")]
    pub upstream_read_buffer: usize,
    /// HTTP/2 streams one client connection may have open at once.
    #[serde(default = "default_h2_streams")]
    pub h2_max_concurrent_streams: u32,
    /// Response bytes queued per HTTP/2 stream beyond what the socket has
    /// taken, in bytes (at least 16384).
    #[serde(default = "default_h2_send_buffer")]
    pub h2_stream_send_buffer: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            connect_timeout: d5s(),
            response_header_timeout: d60s(),
            request_timeout: d300s(),
            idle_timeout: d60s(),
            max_request_header_bytes: default_max_header_bytes(),
            max_connections: default_max_connections(),
            upstream_idle_timeout: d90s(),
            upstream_max_idle_per_host: default_max_idle(),
            upstream_read_buffer: default_upstream_read_buffer(),
            h2_max_concurrent_streams: default_h2_streams(),
            h2_stream_send_buffer: default_h2_send_buffer(),
        }
    }
}

fn d5s() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(5))
}
fn d60s() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(60))
}
fn d90s() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(90))
}
fn d300s() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(300))
}
fn default_max_header_bytes() -> usize {
    64 * 1024
}
fn default_max_connections() -> usize {
    10_000
}
fn default_max_idle() -> usize {
    512
}
fn default_upstream_read_buffer() -> usize {
    64 * 1024
}
fn default_h2_streams() -> u32 {
    128
}
fn default_h2_send_buffer() -> usize {
    64 * 1024
}

/// One `[upstreams.<name>]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// Base URL: `http://host:port` (no path). `https://` needs the `tls`
    /// table.
    pub url: String,
    /// Speak HTTP/2 (prior knowledge) to this upstream instead of HTTP/1.1.
    #[serde(default)]
    pub h2: bool,
    /// Send the client's `Host` header upstream (true) or the upstream URL's
    /// authority (false).
    #[serde(default = "yes")]
    pub preserve_host: bool,
    /// TLS towards this upstream.
    #[serde(default)]
    pub tls: Option<UpstreamTlsSection>,
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// Unique name; it is the `route` label on every metric.
    pub name: String,
    /// Host to match (`shop.example.com`, or `*.example.com` for any
    /// subdomain); absent matches any host. Exact beats wildcard beats any.
    #[serde(default)]
    pub host: Option<String>,
    /// Path prefix to match, segment-wise (`/api` matches `/api` and
    /// `/api/x`, not `/apix`). The longest matching prefix wins.
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// Name of the upstream in `[upstreams]`.
    pub upstream: String,
    /// Name of the policy in `[policies]`; absent means `default`.
    #[serde(default)]
    pub policy: Option<String>,
}

fn default_prefix() -> String {
    "/".to_string()
}

/// A secret string setting (`hash_key`): its `Debug` never shows the
/// value, so no debug print of the configuration can leak it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A duration written as a string with a unit: `"250ms"`, `"5s"`, `"2m"`,
/// `"1h"`; `"0s"` means "none" where a setting allows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

impl fmt::Debug for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl ConfigDuration {
    /// Parses `<integer><unit>` with unit one of ms, s, m, h.
    pub fn parse(text: &str) -> Result<ConfigDuration, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (num, unit) = text.split_at(split);
        let expected = || {
            format!("invalid duration {text:?}: expected a number with a unit (ms, s, m, h), like \"30s\"")
        };
        let n: u64 = num.parse().map_err(|_| expected())?;
        let ms = match unit {
            "ms" => Some(n),
            "s" => n.checked_mul(1000),
            "m" => n.checked_mul(60_000),
            "h" => n.checked_mul(3_600_000),
            _ => return Err(expected()),
        }
        .ok_or_else(|| format!("duration {text:?} is too large"))?;
        Ok(ConfigDuration(Duration::from_millis(ms)))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ConfigDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string like \"30s\" or \"250ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigDuration, E> {
                ConfigDuration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        let cases = [
            ("250ms", Some(Duration::from_millis(250))),
            ("5s", Some(Duration::from_secs(5))),
            ("2m", Some(Duration::from_secs(120))),
            ("1h", Some(Duration::from_secs(3600))),
            ("0s", Some(Duration::ZERO)),
            ("5", None),
            ("s", None),
            ("5 days", None),
            ("-1s", None),
            ("1.5s", None),
        ];
        for (text, want) in cases {
            assert_eq!(ConfigDuration::parse(text).ok().map(|d| d.0), want, "{text}");
        }
    }

    #[test]
    fn empty_file_gets_loopback_defaults() {
        let cfg: FileConfig = toml::from_str("").unwrap();
        assert_eq!(cfg.server.listen, vec!["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);
        assert_eq!(cfg.admin.listen, "127.0.0.1:9901".parse::<SocketAddr>().unwrap());
        assert!(cfg.routes.is_empty());
        assert_eq!(cfg.limits.connect_timeout.0, Duration::from_secs(5));
    }
}
