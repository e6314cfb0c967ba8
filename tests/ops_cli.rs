//! The small things operators look for, run as the real binary: `--version`
//! with the git revision, shell completions that the shells accept, and the
//! man pages.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn leakwarden(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_leakwarden"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "leakwarden {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The revision build.rs should have embedded without LEAKWARDEN_REVISION:
/// git's, or "unknown" in a tree without git (a tarball build).
fn expected_revision() -> String {
    let git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match git {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap().trim().to_owned(),
        _ => "unknown".to_owned(),
    }
}

#[test]
fn version_names_the_git_revision() {
    if std::env::var_os("LEAKWARDEN_REVISION").is_some() {
        // A packager's value wins over git's; nothing to compare with.
        return;
    }
    let out = leakwarden(&["--version"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let want = format!("leakwarden {} (rev {})\n", env!("CARGO_PKG_VERSION"), expected_revision());
    assert_eq!(text, want);
}

/// Each shell parses its script; bash also loads it and completes a
/// subcommand and a `completions` argument.
#[test]
fn completions_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef leakwarden"),
        ("fish", "complete -c leakwarden"),
    ] {
        let out = leakwarden(&["completions", shell]);
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("check-config") && script.contains("healthcheck"), "{shell}");
        let path = dir.path().join(format!("leakwarden.{shell}"));
        std::fs::write(&path, &script).unwrap();
        if shell == "bash" || which(shell) {
            let st = Command::new(shell).arg("-n").arg(&path).status().unwrap();
            assert!(st.success(), "{shell} -n rejects the script");
        }
    }
    // Load the bash script and ask it what follows `leakwarden completions `.
    let probe = format!(
        "source {}; COMP_WORDS=(leakwarden completions ''); COMP_CWORD=2; \
         COMP_LINE='leakwarden completions '; COMP_POINT=${{#COMP_LINE}}; \
         _leakwarden leakwarden '' completions; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        dir.path().join("leakwarden.bash").display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let words = String::from_utf8(out.stdout).unwrap();
    for s in ["bash", "zsh", "fish"] {
        assert!(words.lines().any(|w| w == s), "bash completes {s}: {words:?}");
    }
}

fn which(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn man_page_to_stdout_and_one_per_command() {
    let out = leakwarden(&["man"]);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH leakwarden 1"), "{page}");
    for s in ["run", "check\\-config", "scan", "healthcheck", "completions"] {
        assert!(page.contains(s), "man page names {s}");
    }
    let dir = tempfile::tempdir().unwrap();
    leakwarden(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    for page in
        ["leakwarden.1", "leakwarden-run.1", "leakwarden-scan.1", "leakwarden-check-config.1"]
    {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".SH OPTIONS") || text.contains(".SH SYNOPSIS"), "{page}");
    }
    // man(1) renders it without warnings when it is installed.
    if which("man") && Path::new("/usr/bin/groff").exists() {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(dir.path().join("leakwarden-run.1"))
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("--upstream"), "{text}");
    }
}
