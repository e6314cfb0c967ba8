//! Fuzz target: see `fuzz/checks/access_log.rs` for what it feeds and checks.
#![no_main]

#[path = "../checks/access_log.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
