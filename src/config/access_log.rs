//! The `[access_log]` section: one JSON line per request (see
//! [`crate::access_log`] for the fields). Only the section's shape lives
//! here; the sink is opened by [`crate::app`].

use std::path::PathBuf;

use serde::Deserialize;

use super::policy::AuditOutput;

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

/// The `[access_log]` section. On by default, to stdout, like nginx and
/// Envoy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogSection {
    /// Write access lines at all. Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `"stdout"` (default), `"stderr"` or `"file"`. A file is reopened on
    /// SIGUSR1 (for logrotate).
    #[serde(default)]
    pub output: Option<AuditOutput>,
    /// The file appended to when `output = "file"` (required then).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Share of ordinary requests logged, 0.0 ..= 1.0 (default 1.0: all).
    /// Requests that are never sampled away: status >= 400, blocked or
    /// cut responses, responses with findings. The rest are kept evenly
    /// (every 1/rate-th line), not at random.
    #[serde(default = "one")]
    pub sample_rate: f64,
}

impl Default for AccessLogSection {
    fn default() -> Self {
        AccessLogSection { enabled: true, output: None, path: None, sample_rate: 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Root {
        #[serde(default)]
        access_log: AccessLogSection,
    }

    #[test]
    fn defaults_on_to_stdout_unsampled() {
        let r: Root = toml::from_str("").unwrap();
        assert_eq!(r.access_log, AccessLogSection::default());
        assert!(r.access_log.enabled);
        assert_eq!(r.access_log.sample_rate, 1.0);
    }

    #[test]
    fn parses_every_field_and_rejects_unknown_ones() {
        let r: Root = toml::from_str(
            "[access_log]\nenabled = false\noutput = \"file\"\npath = \"a.log\"\nsample_rate = 0.25\n",
        )
        .unwrap();
        assert!(!r.access_log.enabled);
        assert_eq!(r.access_log.output, Some(AuditOutput::File));
        assert_eq!(r.access_log.sample_rate, 0.25);
        for bad in ["[access_log]\nsample = 1.0\n", "[access_log]\noutput = \"syslog\"\n"] {
            assert!(toml::from_str::<Root>(bad).is_err(), "{bad:?}");
        }
    }
}
