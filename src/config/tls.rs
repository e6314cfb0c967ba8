//! TLS settings: `[tls]` for the listener and `tls` tables on upstreams.
//!
//! SKELETON: filled in by the TLS issue.

use serde::Deserialize;

/// The listener's `[tls]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTlsSection {}

/// An upstream's `tls` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsSection {}
