//! The command line (clap derive): `run`, `check-config`, `scan`, `demo`.
//!
//! SKELETON: filled in by the proxy-core issue.

use std::process::ExitCode;

/// Parses arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
