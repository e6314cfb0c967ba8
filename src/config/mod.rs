//! Configuration: the TOML file format (serde structs, unknown keys
//! rejected, every field documented), parsing with errors at file, line and
//! column, and [`ConfigError`].
//!
//! A leaf: it imports no other module of the crate. It never opens a file
//! other than the configuration itself, never compiles a detector and never
//! starts anything; [`crate::app`] turns a parsed file into the running
//! application's objects.

pub mod access_log;
pub mod detect;
pub mod exfiltration;
pub mod file;
pub mod inventory;
pub mod log;
pub mod policy;
pub mod tls;

use std::path::Path;

pub use file::FileConfig;

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

/// Settings whose values are secrets: an error at one of them names the
/// key and the place, never the value (parse messages quote the offending
/// value, as in "invalid type: integer `...`").
pub const SECRET_KEYS: &[&str] = &["hash_key"];

/// Parses configuration text; `name` is used in error messages.
pub fn parse_str(text: &str, name: &str) -> Result<FileConfig, ConfigError> {
    let mut file: FileConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let (line, column) = line_col(text, span.start);
        let message = match secret_key_at(text, span) {
            Some(key) => format!("{key}: invalid value (a secret: the value is not shown)"),
            None => e.message().trim_end().to_string(),
        };
        ConfigError::At { file: name.to_string(), line, column, message }
    })?;
    // Errors that only compiling finds (a custom regex the engine refuses)
    // still name the place.
    file.detect.locate(|span| {
        let (line, column) = line_col(text, span.start);
        detect::Location { file: name.to_string(), line, column }
    });
    Ok(file)
}

/// The secret key named on any line the byte range touches, if any.
fn secret_key_at(text: &str, span: std::ops::Range<usize>) -> Option<&'static str> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (start, end) = (floor(span.start), floor(span.end.max(span.start)));
    let from = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let to = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let lines = &text[from..to];
    SECRET_KEYS.iter().copied().find(|k| lines.contains(k))
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
    fn errors_at_secret_settings_name_the_key_never_the_value() {
        let cases = [
            "[detect]\nhash_key = 9876543210987654\n",
            "[detect]\nhash_key = 98765.4321\n",
            "[detect]\nhash_key = [\"98765432109876543210987\"]\n",
            "[detect]\nhash_key = \"98765432109876543210987\nx = 1\n",
            "detect = { hash_key = 9876543210987654 }\n",
        ];
        for text in cases {
            let err = parse_str(text, "f.toml").expect_err(text).to_string();
            assert!(!err.contains("98765"), "{text}: {err}");
            assert!(err.contains("hash_key"), "{text}: {err}");
            assert!(err.starts_with("f.toml:"), "{err}");
        }
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
