//! Build script: records the git revision the binary was built from, for
//! `leakwarden --version` and the `leakwarden_build_info` gauge.
//!
//! It must never fail a build: a source tarball has no `.git` and a build
//! machine may have no `git`. Then `LEAKWARDEN_REVISION` from the
//! environment (set by a packager or the Dockerfile) is used, else
//! "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LEAKWARDEN_REVISION");
    let from_env = std::env::var("LEAKWARDEN_REVISION").ok().filter(|s| !s.trim().is_empty());
    let revision = from_env.or_else(git_revision).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=LEAKWARDEN_REVISION={}", revision.trim());
}

/// The short commit hash of HEAD. Also asks cargo to rerun when HEAD or
/// the branch it points at moves (a worktree's `.git` is a file pointing
/// elsewhere, so the paths come from git itself). No "-dirty" suffix: cargo
/// would not rerun on an edit, so it would go stale.
fn git_revision() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"])?;
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for p in &watched {
        if let Some(path) = git(&["rev-parse", "--git-path", p]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    Some(rev)
}
