//! Fuzz target: see `fuzz/checks/config.rs` for what it feeds and checks.
#![no_main]

#[path = "../checks/config.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
