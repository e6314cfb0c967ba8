//! Compiled per-route policies: which detectors run, what happens to each
//! kind (mask, redact, hash, block, detect), enforce or monitor, thresholds,
//! which content types are scanned and the limits that apply.
//!
//! A [`Policy`] is immutable once built; a reload builds new ones.
//!
//! SKELETON: filled in by the response-pipeline issue.

use std::sync::Arc;

use crate::config::detect::DetectSection;
use crate::config::policy::PolicySection;
use crate::config::ConfigError;
use crate::detect::{Engine, EngineConfig};

/// A compiled policy.
#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub engine: Arc<Engine>,
}

impl Policy {
    /// Builds a policy from its section and the shared detector settings.
    pub fn build(
        name: &str,
        _section: &PolicySection,
        _detect: &DetectSection,
    ) -> Result<Policy, ConfigError> {
        let engine = Engine::new(EngineConfig::default())
            .map_err(|e| ConfigError::Invalid(format!("policy {name:?}: {e}")))?;
        Ok(Policy { name: name.to_string(), engine: Arc::new(engine) })
    }
}
