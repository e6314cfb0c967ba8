//! Locates the optional shared corpus directory (`shared/`, holding
//! `corpus/` and `corpus-clean/`) for tests and benches. Included by path,
//! never copied: `#[path = "support/shared_dir.rs"] mod shared_dir;`.
//!
//! The shared corpus is extra input, never required: a fresh clone with
//! nothing beside it scores the engine on the generated corpus
//! (`support/corpus`) and skips the shared part with a printed note.
//!
//! Order: `$LEAKWARDEN_CORPUS_DIR` (the `shared/` directory or the `corpus/`
//! directory itself), then `CARGO_MANIFEST_DIR/../shared` (CI: a sibling of
//! the clone), then `CARGO_MANIFEST_DIR/../../shared` (worktrees under
//! `wt/<name>`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The `shared/` directory, if there is one. A directory named by
/// `$LEAKWARDEN_CORPUS_DIR` is returned even when incomplete: asked for
/// explicitly, its absence is an error the caller reports.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("LEAKWARDEN_CORPUS_DIR") {
        let p = PathBuf::from(d);
        return Some(if p.join("labels.jsonl").exists() {
            p.parent().expect("corpus dir has a parent").to_path_buf()
        } else {
            p
        });
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .find(|cand| cand.join("corpus/labels.jsonl").exists())
}

/// [`shared_dir`], printing why a test skips its shared part when absent.
pub fn shared_or_note(test: &str) -> Option<PathBuf> {
    let d = shared_dir();
    if d.is_none() {
        println!(
            "note: {test}: no shared corpus (../shared or $LEAKWARDEN_CORPUS_DIR); \
             its shared part is skipped, the generated corpus was scored"
        );
    }
    d
}
