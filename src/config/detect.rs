//! The `[detect]` section: detector settings shared by every policy
//! (custom rules, allow-lists, hash key, card mask style).
//!
//! SKELETON: filled in by the detection issue.

use serde::Deserialize;

/// The `[detect]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectSection {}
