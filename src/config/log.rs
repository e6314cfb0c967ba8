//! The `[log]` section: log format and level.
//!
//! SKELETON: filled in by the metrics and logging issue.

use serde::Deserialize;

/// The `[log]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {}
