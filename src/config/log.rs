//! The `[log]` section: log format and level.
//!
//! Only the shape of the section lives here; `crate::logging` turns it into
//! a tracing subscriber. Nothing here ever sees a scanned value.

use serde::Deserialize;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable `key=value` lines (the default, for terminals).
    #[default]
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

impl LogFormat {
    /// The name used in the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

fn default_level() -> String {
    "info".to_string()
}

/// The `[log]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// Line format: `"text"` (default) or `"json"`.
    #[serde(default)]
    pub format: LogFormat,
    /// Default filter, in `tracing` EnvFilter syntax: a level (`"error"`,
    /// `"warn"`, `"info"`, `"debug"`, `"trace"`) or directives such as
    /// `"info,leakwarden::proxy=debug"`. The `RUST_LOG` environment variable,
    /// when set, overrides it. Default `"info"`.
    #[serde(default = "default_level")]
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { format: LogFormat::default(), level: default_level() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Root {
        #[serde(default)]
        log: LogSection,
    }

    #[test]
    fn defaults_are_text_and_info() {
        let r: Root = toml::from_str("").unwrap();
        assert_eq!(r.log, LogSection::default());
        assert_eq!(r.log.format, LogFormat::Text);
        assert_eq!(r.log.level, "info");
    }

    #[test]
    fn parses_json_and_level() {
        let r: Root = toml::from_str("[log]\nformat = \"json\"\nlevel = \"debug\"\n").unwrap();
        assert_eq!(r.log.format, LogFormat::Json);
        assert_eq!(r.log.level, "debug");
    }

    #[test]
    fn rejects_unknown_key_and_format() {
        for bad in ["[log]\nformat = \"xml\"\n", "[log]\nlevl = \"info\"\n"] {
            assert!(toml::from_str::<Root>(bad).is_err(), "{bad:?} must be rejected");
        }
    }
}
