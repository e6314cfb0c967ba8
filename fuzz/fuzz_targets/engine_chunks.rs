//! Fuzz target: see `fuzz/checks/engine_chunks.rs` for what it feeds and checks.
#![no_main]

#[path = "../checks/engine_chunks.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
