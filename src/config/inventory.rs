//! The `[inventory]` section: the privacy inventory (what personal data
//! each endpoint exposes, which forms ask for it, which third parties a
//! page loads). See `docs/inventory-schema.md`.
//!
//! This module only describes and checks the section; the inventory
//! itself lives in [`crate::inventory`].

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::file::ConfigDuration;

/// The `[inventory]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventorySection {
    /// Whether the inventory is built at all. It observes only (it never
    /// changes traffic), on every route.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where the inventory is snapshotted (atomically: a temporary file
    /// then a rename) and loaded from at start. Absent: kept in memory only.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// How often the snapshot file is rewritten (also at shutdown).
    #[serde(default = "default_interval")]
    pub snapshot_interval: ConfigDuration,
    /// Path templates kept per route; further paths are counted under the
    /// one template `{other}`.
    #[serde(default = "default_max_templates")]
    pub max_templates_per_route: usize,
    /// Field paths kept per endpoint and kind (the smallest in order).
    #[serde(default = "default_max_fields")]
    pub max_fields: usize,
    /// Longest field path kept, in bytes; longer paths are cut and end
    /// with `…`.
    #[serde(default = "default_max_field_len")]
    pub max_field_len: usize,
    /// Distinct forms kept in the whole inventory.
    #[serde(default = "default_max_forms")]
    pub max_forms: usize,
    /// Distinct third-party origins kept in the whole inventory.
    #[serde(default = "default_max_third_parties")]
    pub max_third_parties: usize,
    /// Hourly buckets of the findings-over-time chart kept (default: one
    /// week).
    #[serde(default = "default_timeline_hours")]
    pub timeline_hours: usize,
    /// How often the body's structure (JSON field paths, forms, third-party
    /// origins) is read per endpoint and body kind: the first response,
    /// then at most one per interval (pages served to `Sec-GPC: 1`
    /// visitors always). Counts of responses and findings stay exact; field
    /// paths, forms and third parties are sampled, and the forms' `pages`
    /// and third parties' load counts count the pages read. `"0s"` reads
    /// every response (several times the cost of the scan itself).
    #[serde(default = "default_interval")]
    pub observe_interval: ConfigDuration,
}

impl Default for InventorySection {
    fn default() -> Self {
        InventorySection {
            enabled: true,
            file: None,
            snapshot_interval: default_interval(),
            max_templates_per_route: default_max_templates(),
            max_fields: default_max_fields(),
            max_field_len: default_max_field_len(),
            max_forms: default_max_forms(),
            max_third_parties: default_max_third_parties(),
            timeline_hours: default_timeline_hours(),
            observe_interval: default_interval(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_interval() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(60))
}
fn default_max_templates() -> usize {
    500
}
fn default_max_fields() -> usize {
    32
}
fn default_max_field_len() -> usize {
    128
}
fn default_max_forms() -> usize {
    1000
}
fn default_max_third_parties() -> usize {
    1000
}
fn default_timeline_hours() -> usize {
    168
}

/// Checks the section's values (called once by the runtime build).
pub fn validate(s: &InventorySection) -> Result<(), String> {
    let positive = [
        ("max_templates_per_route", s.max_templates_per_route),
        ("max_fields", s.max_fields),
        ("max_forms", s.max_forms),
        ("max_third_parties", s.max_third_parties),
        ("timeline_hours", s.timeline_hours),
    ];
    for (name, v) in positive {
        if v == 0 {
            return Err(format!("[inventory] {name} must be at least 1"));
        }
    }
    if s.max_field_len < 8 {
        return Err(format!(
            "[inventory] max_field_len must be at least 8 (got {})",
            s.max_field_len
        ));
    }
    if s.snapshot_interval.0 < Duration::from_secs(1) {
        return Err("[inventory] snapshot_interval must be at least 1s".into());
    }
    if s.file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
        return Err("[inventory] file must not be empty".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(validate(&InventorySection::default()).is_ok());
        type Change = fn(&mut InventorySection);
        let cases: [(Change, &str); 4] = [
            (|s| s.max_templates_per_route = 0, "max_templates_per_route"),
            (|s| s.max_field_len = 2, "max_field_len"),
            (|s| s.snapshot_interval = ConfigDuration(Duration::ZERO), "snapshot_interval"),
            (|s| s.file = Some(PathBuf::new()), "file"),
        ];
        for (change, name) in cases {
            let mut s = InventorySection::default();
            change(&mut s);
            let err = validate(&s).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
    }
}
