//! The configuration file's root: one struct per TOML table, unknown keys
//! rejected, every field documented (the commented example in
//! `config/leakwarden.toml` shows them all).
//!
//! SKELETON: the proxy-core issue fills in server, admin, limits, upstreams
//! and routes, and the loader that turns a TOML error into file:line:col.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::detect::DetectSection;
use super::log::LogSection;
use super::policy::{AuditSection, PolicySection};
use super::tls::ListenerTlsSection;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
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
}
