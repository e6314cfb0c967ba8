//! Structured logging setup (tracing): JSON or text lines on stderr, level
//! from the `[log]` section or `RUST_LOG`, which overrides it.
//!
//! The filter is installed behind a reload handle so that a configuration
//! reload can change the level without a restart; the line format is fixed
//! at startup (changing it needs a restart, and the reloader says so).
//!
//! What this module must never do: format anything itself. Callers log route
//! names, kinds, counts, fingerprints and config locations only; never a
//! body, a header value, a path or a matched value.

use std::sync::OnceLock;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

use crate::config::log::{LogFormat, LogSection};

/// The environment variable that overrides the configured level.
pub const ENV_VAR: &str = "RUST_LOG";

/// Logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The level or filter directive does not parse.
    #[error("invalid log level {directive:?}: {message}")]
    BadLevel { directive: String, message: String },
    /// Another global subscriber is already installed (tests, embedding).
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
    /// The reload handle no longer has a subscriber to talk to.
    #[error("the log filter cannot be changed: {0}")]
    Reload(String),
}

/// What `init` installed, kept so that a reload can change the level.
struct Installed {
    handle: reload::Handle<EnvFilter, Registry>,
    format: LogFormat,
    /// True when RUST_LOG decided the filter: reloads then leave it alone.
    from_env: bool,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

fn env_override() -> Option<String> {
    std::env::var(ENV_VAR).ok().filter(|v| !v.trim().is_empty())
}

/// Parses a filter directive (`"info"`, `"warn,leakwarden=debug"`).
pub fn parse_filter(directive: &str) -> Result<EnvFilter, LogError> {
    EnvFilter::builder().parse(directive).map_err(|e| LogError::BadLevel {
        directive: directive.to_string(),
        message: e.to_string(),
    })
}

const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// Parses the configured level strictly: EnvFilter reads a bare word as a
/// target name, so a typo such as `"inf"` would silently mean "everything
/// from target inf". In the file, a directive without `=` must be a level.
fn parse_config_level(directive: &str) -> Result<EnvFilter, LogError> {
    for part in directive.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !part.contains('=') && !part.contains('[') {
            let known = LEVELS.iter().any(|l| l.eq_ignore_ascii_case(part));
            if !known {
                return Err(LogError::BadLevel {
                    directive: directive.to_string(),
                    message: format!(
                        "{part:?} is not a level (expected one of {}, or target=level)",
                        LEVELS.join(", ")
                    ),
                });
            }
        }
    }
    parse_filter(directive)
}

/// Checks a `[log]` section without installing anything (config validation
/// calls this so that a bad level is a config error, not a runtime one).
pub fn validate(section: &LogSection) -> Result<(), LogError> {
    parse_config_level(&section.level).map(|_| ())
}

/// The filter in effect for `section`: RUST_LOG when set, else the section.
fn effective_filter(section: &LogSection) -> Result<(EnvFilter, bool), LogError> {
    match env_override() {
        Some(env) => Ok((parse_filter(&env)?, true)),
        None => Ok((parse_config_level(&section.level)?, false)),
    }
}

/// The formatting layer for `format`, writing to `writer`.
fn fmt_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt::layer().with_writer(writer).with_target(true);
    match format {
        LogFormat::Text => base.with_ansi(false).boxed(),
        LogFormat::Json => base.json().flatten_event(true).with_current_span(false).boxed(),
    }
}

/// Installs the global subscriber described by `section` (RUST_LOG wins
/// over `level`). Calling it again (tests start several servers in one
/// process) is harmless: it returns `Err(LogError::AlreadyInstalled)`,
/// which callers that only want "some logging" may ignore.
pub fn init(section: &LogSection) -> Result<(), LogError> {
    init_with_writer(section, std::io::stderr)
}

/// Like [`init`], with an explicit writer.
pub fn init_with_writer<W>(section: &LogSection, writer: W) -> Result<(), LogError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (filter, from_env) = effective_filter(section)?;
    if INSTALLED.get().is_some() {
        return Err(LogError::AlreadyInstalled);
    }
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer(section.format, writer))
        .try_init()
        .map_err(|_| LogError::AlreadyInstalled)?;
    // Only the winner of try_init gets here, so the set cannot race.
    let _ = INSTALLED.set(Installed { handle, format: section.format, from_env });
    Ok(())
}

/// What a reload did to logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogReload {
    /// The level was (re)applied.
    Applied,
    /// RUST_LOG is set; the configured level is ignored.
    EnvOverride,
    /// `init` never ran (tests, library use): nothing to change.
    NotInstalled,
    /// The level was applied but the format differs and needs a restart.
    FormatNeedsRestart { running: LogFormat, configured: LogFormat },
}

/// Applies the level of a reloaded `[log]` section to the running
/// subscriber. The section must already be validated.
pub fn apply(section: &LogSection) -> Result<LogReload, LogError> {
    let Some(installed) = INSTALLED.get() else {
        return Ok(LogReload::NotInstalled);
    };
    if installed.from_env {
        return Ok(LogReload::EnvOverride);
    }
    let filter = parse_config_level(&section.level)?;
    installed.handle.reload(filter).map_err(|e| LogError::Reload(e.to_string()))?;
    if installed.format != section.format {
        return Ok(LogReload::FormatNeedsRestart {
            running: installed.format,
            configured: section.format,
        });
    }
    Ok(LogReload::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A writer that keeps everything in memory.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn scoped(format: LogFormat, level: &str, f: impl FnOnce()) -> String {
        let cap = Capture::default();
        let sub = tracing_subscriber::registry()
            .with(parse_filter(level).unwrap())
            .with(fmt_layer(format, cap.clone()));
        tracing::subscriber::with_default(sub, f);
        cap.text()
    }

    #[test]
    fn json_lines_are_one_object_each_with_fields() {
        let out = scoped(LogFormat::Json, "info", || {
            tracing::info!(route = "api", findings = 2u64, "response scanned");
            tracing::debug!("filtered out");
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "response scanned");
        assert_eq!(v["route"], "api");
        assert_eq!(v["findings"], 2);
    }

    #[test]
    fn text_lines_have_no_ansi_and_respect_level() {
        let out = scoped(LogFormat::Text, "warn", || {
            tracing::info!("hidden");
            tracing::warn!(route = "api", "upstream refused");
        });
        assert!(!out.contains("hidden"), "{out}");
        assert!(out.contains("WARN"), "{out}");
        assert!(out.contains("route=\"api\""), "{out}");
        assert!(!out.contains('\u{1b}'), "no colour codes in log files: {out:?}");
    }

    #[test]
    fn directives_validate() {
        for good in ["info", "warn,leakwarden::proxy=debug", "TRACE", "off"] {
            assert!(parse_config_level(good).is_ok(), "{good}");
        }
        for bad in ["loud", "inf", "leakwarden=verbose", "info,debugg"] {
            let err = parse_config_level(bad).unwrap_err();
            assert!(err.to_string().contains("invalid log level"), "{err}");
        }
        let section = LogSection { format: LogFormat::Json, level: "nope".into() };
        assert!(validate(&section).is_err());
    }

    #[test]
    fn apply_without_init_is_a_no_op() {
        // No global subscriber is installed by unit tests in this module.
        if INSTALLED.get().is_none() {
            assert_eq!(apply(&LogSection::default()).unwrap(), LogReload::NotInstalled);
        }
    }
}
