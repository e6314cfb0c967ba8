//! Configuration: the TOML file format (serde structs, unknown keys
//! rejected, every field documented) and its validation, once, into an
//! immutable runtime configuration that reloads atomically.
//!
//! Errors name the file, line and column. This module never starts
//! anything; it only reads and validates.

pub mod detect;
pub mod file;
pub mod log;
pub mod policy;
pub mod tls;

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
