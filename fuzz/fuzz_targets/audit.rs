//! Fuzz target: see `fuzz/checks/audit.rs` for what it feeds and checks.
#![no_main]

#[path = "../checks/audit.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
