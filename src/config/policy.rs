//! The `[policies.<name>]` and `[audit]` sections.
//!
//! SKELETON: filled in by the response-pipeline issue.

use serde::Deserialize;

/// One `[policies.<name>]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {}

/// The `[audit]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {}
