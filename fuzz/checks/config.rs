//! The configuration loader: parse and validate arbitrary TOML text.
//!
//! Checks: no panic; a parse error names the file, line and column. Before
//! validation, settings that name files (listener and upstream TLS, the
//! audit file) are dropped, so that the fuzzer never reads or creates
//! files: their own loading is not fuzzed here.
//!
//! Shared by the fuzz target (`fuzz/fuzz_targets/config.rs`) and the
//! regression test that replays seeds and kept crash inputs
//! (`tests/fuzz_regressions.rs`).
use leakwarden::app::{Overrides, Runtime};
use leakwarden::config::policy::AuditOutput;
use leakwarden::config::{self, ConfigError};

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match config::parse_str(text, "fuzz.toml") {
        Err(ConfigError::At { file, line, column, .. }) => {
            assert_eq!(file, "fuzz.toml");
            assert!(line >= 1 && column >= 1 && line <= text.lines().count().max(1) + 1);
        }
        Err(e) => panic!("parse error without a place: {e}"),
        Ok(mut file) => {
            file.tls = None;
            for u in file.upstreams.values_mut() {
                u.tls = None;
            }
            file.audit.path = None;
            if file.audit.output == Some(AuditOutput::File) {
                file.audit.output = None;
            }
            let _ = Runtime::build(file, &Overrides::default(), "fuzz.toml");
        }
    }
}
