//! `leakwarden scan`: offline scanning of files or stdin with the detection
//! engine (a data-at-rest audit). Streams with bounded memory.
//!
//! SKELETON: filled in by the detection issue.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `leakwarden scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Configuration file whose [detect] section and default policy apply.
    #[arg(long, env = "LEAKWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Files to scan; `-` reads standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Runs the scan; exit codes like grep: 0 nothing found, 1 findings, 2 error.
pub fn run(_args: ScanArgs) -> ExitCode {
    eprintln!("leakwarden scan: not implemented yet");
    ExitCode::from(2)
}
