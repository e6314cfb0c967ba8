//! Replays the fuzz targets' committed inputs through the same checks the
//! fuzzer runs (`fuzz/checks/*.rs`): every seed (`fuzz/seeds/TARGET`) and
//! every crash input kept after a fix (`fuzz/regressions/TARGET`, one file
//! per crash, named for what it found). A crash found by `fuzz/run.sh` is
//! kept by copying its artifact into `fuzz/regressions/TARGET/`; inputs
//! that show a defect not fixed yet wait in `fuzz/known-defects/TARGET/`.

use std::path::Path;

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

/// An input that shows issue 14 defect 2 (overlapping findings of different
/// kinds), fixed on another branch: in `a.b@example.ghp_<36 characters>`
/// the email ends at `.ghp` and wins, so the GitHub token that starts
/// inside it is never reported; with every kind masked, the token passes
/// unmasked (the rescan of the output finds it). Move it to
/// `fuzz/regressions/engine_chunks/` once the fix is merged.
#[test]
#[ignore = "issue 14 defect 2 (overlapping kinds) is fixed on another branch"]
fn engine_chunks_known_defects() {
    assert!(replay_from(&["known-defects"], "engine_chunks", engine_chunks::check) > 0);
}
