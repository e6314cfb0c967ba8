//! Locates the shared corpus directory (`shared/`, holding `corpus/` and
//! `corpus-clean/`) for tests and benches. Included by path, never copied:
//! `#[path = "support/shared_dir.rs"] mod shared_dir;`.
//!
//! Order: `$LEAKWARDEN_CORPUS_DIR` (the `shared/` directory or the `corpus/`
//! directory itself), then `CARGO_MANIFEST_DIR/../shared` (CI: a sibling of
//! the clone), then `CARGO_MANIFEST_DIR/../../shared` (worktrees under
//! `wt/<name>`).

use std::path::{Path, PathBuf};

/// The `shared/` directory; panics with a hint when it cannot be found.
pub fn shared_dir() -> PathBuf {
    if let Ok(d) = std::env::var("LEAKWARDEN_CORPUS_DIR") {
        let p = PathBuf::from(d);
        return if p.join("labels.jsonl").exists() {
            p.parent().expect("corpus dir has a parent").to_path_buf()
        } else {
            p
        };
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for cand in [root.join("../shared"), root.join("../../shared")] {
        if cand.join("corpus/labels.jsonl").exists() {
            return cand;
        }
    }
    panic!("shared corpus not found: set LEAKWARDEN_CORPUS_DIR or place it at ../shared");
}
