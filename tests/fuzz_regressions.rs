//! Replays the fuzz targets' committed inputs through the same checks the
//! fuzzer runs (`fuzz/checks/*.rs`): every seed (`fuzz/seeds/TARGET`) and
//! every crash input kept after a fix (`fuzz/regressions/TARGET`, one file
//! per crash, named for what it found). A crash found by `fuzz/run.sh` is
//! kept by copying its artifact into `fuzz/regressions/TARGET/`.

// Each check is compiled whole, as its fuzz target compiles it; the audit
// and access-log checks each bring their own copy of `checks/logline.rs`.
#![allow(clippy::duplicate_mod)]

use std::path::Path;

#[path = "../fuzz/checks/access_log.rs"]
mod access_log;
#[path = "../fuzz/checks/audit.rs"]
mod audit;
#[path = "../fuzz/checks/config.rs"]
mod config;
#[path = "../fuzz/checks/decode.rs"]
mod decode;
#[path = "../fuzz/checks/engine_chunks.rs"]
mod engine_chunks;

/// Runs `check` on every input of `target` in `dirs` (under `fuzz/`);
/// returns how many there were.
fn replay_from(dirs: &[&str], target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            println!("{target}: {}", f.display());
            check(&data);
            n += 1;
        }
    }
    n
}

fn replay(target: &str, check: fn(&[u8])) -> usize {
    replay_from(&["seeds", "regressions"], target, check)
}

#[test]
fn engine_chunks_inputs() {
    assert!(replay("engine_chunks", engine_chunks::check) > 0);
}

#[test]
fn decode_inputs() {
    assert!(replay("decode", decode::check) > 0);
}

#[test]
fn config_inputs() {
    assert!(replay("config", config::check) > 0);
}

#[test]
fn audit_inputs() {
    assert!(replay("audit", audit::check) > 0);
}

#[test]
fn access_log_inputs() {
    assert!(replay("access_log", access_log::check) > 0);
}
