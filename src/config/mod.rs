//! Configuration: the TOML file format (serde structs, unknown keys
//! rejected, every field documented) and its validation, once, into an
//! immutable runtime configuration that reloads atomically.
//!
//! Errors name the file, line and column. This module never starts
//! anything; it only reads and validates.

pub mod detect;
pub mod file;
pub mod inventory;
pub mod log;
pub mod policy;
pub mod runtime;
pub mod tls;

use std::path::Path;

pub use file::FileConfig;
pub use runtime::{Overrides, Runtime};

/// A configuration that cannot be used. Never contains a scanned value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A parse or type error at a place in the file.
    #[error("{file}:{line}:{column}: {message}")]
    At { file: String, line: usize, column: usize, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{file}: {source}")]
    Io { file: String, source: std::io::Error },
}

/// Reads and parses a configuration file (no cross-checks yet).
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Io { file: name.clone(), source })?;
    parse_str(&text, &name)
}

/// Parses configuration text; `name` is used in error messages.
pub fn parse_str(text: &str, name: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ConfigError::At {
            file: name.to_string(),
            line,
            column,
            message: e.message().trim_end().to_string(),
        }
    })
}

/// Reads, parses and validates a configuration file with overrides applied.
pub fn load(path: &Path, overrides: &Overrides) -> Result<(FileConfig, Runtime), ConfigError> {
    let file = read_file(path)?;
    let runtime = Runtime::build(file.clone(), overrides, &path.display().to_string())?;
    Ok((file, runtime))
}

/// Builds the runtime from an optional file plus overrides (the `run`
/// command's logic: flags alone are enough for a sidecar).
pub fn load_optional(path: Option<&Path>, overrides: &Overrides) -> Result<Runtime, ConfigError> {
    match path {
        Some(p) => load(p, overrides).map(|(_, rt)| rt),
        None => Runtime::build(FileConfig::default(), overrides, "command line"),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3));
    }

    #[test]
    fn parse_errors_point_at_the_bad_token() {
        let cases = [
            (
                "[server]\nlisten = [\"127.0.0.1:8080\"]\nlistne = 1\n",
                3,
                1,
                "unknown field `listne`",
            ),
            ("[limits]\nconnect_timeout = \"5 seconds\"\n", 2, 19, "invalid duration"),
            ("[server]\nlisten = [\"localhost\"]\n", 2, 11, "invalid socket address"),
            ("[admin]\nenabled = \"yes\"\n", 2, 11, "invalid type"),
            ("[[routes]]\nname = \"x\"\n", 1, 1, "missing field `upstream`"),
        ];
        for (text, line, column, msg) in cases {
            match parse_str(text, "f.toml") {
                Err(ConfigError::At { file, line: l, column: c, message }) => {
                    assert_eq!(file, "f.toml");
                    assert_eq!((l, c), (line, column), "{text}: {message}");
                    assert!(message.contains(msg), "{message}");
                }
                other => panic!("{text}: expected a located error, got {other:?}"),
            }
        }
    }
}
