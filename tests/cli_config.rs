//! The binary's configuration handling: bad files give file:line:col and
//! exit 2, the shipped example validates, --help and --version work.

use std::path::Path;
use std::process::Command;

fn leakwarden() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakwarden"));
    for var in ["LEAKWARDEN_CONFIG", "LEAKWARDEN_LISTEN", "LEAKWARDEN_UPSTREAM", "LEAKWARDEN_ADMIN"]
    {
        c.env_remove(var);
    }
    c
}

#[test]
fn bad_config_names_file_line_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // (file contents, expected location, expected words)
    let cases = [
        (
            "[server]\nlisten = [\"127.0.0.1:8080\"]\nlistne = 3\n",
            ":3:1:",
            "unknown field `listne`",
        ),
        ("[limits]\nconnect_timeout = \"soon\"\n", ":2:19:", "invalid duration"),
        ("[admin]\nlisten = \"nowhere\"\n", ":2:10:", "invalid socket address"),
        ("[[routes]]\nname = \"a\"\nupstream = 5\n", ":3:12:", "invalid type"),
        ("[server\n", ":1:8:", ""),
    ];
    for (i, (text, at, words)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        for args in [
            vec!["check-config", path.to_str().unwrap()],
            vec!["run", "--config", path.to_str().unwrap()],
        ] {
            let out = leakwarden().args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            let want = format!("bad{i}.toml{at}");
            assert!(stderr.contains(&want), "{args:?}: wanted {want} in {stderr}");
            assert!(stderr.contains(words), "{args:?}: wanted {words} in {stderr}");
        }
    }
}

#[test]
fn semantic_errors_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("routes.toml");
    std::fs::write(&path, "[[routes]]\nname = \"a\"\nupstream = \"missing\"\n").unwrap();
    let out = leakwarden().arg("check-config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("routes.toml") && stderr.contains("unknown upstream \"missing\""),
        "{stderr}"
    );

    let out = leakwarden().arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--upstream"));

    let out = leakwarden().args(["run", "--upstream", "ftp://x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = leakwarden().args(["run", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = leakwarden().args(["check-config", "/nonexistent/leakwarden.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/leakwarden.toml"));
}

#[test]
fn shipped_example_config_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/leakwarden.toml");
    let out = leakwarden().arg("check-config").arg(&example).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(": ok"), "{stdout}");
}

#[test]
fn help_and_version() {
    let out = leakwarden().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The revision after the version is checked in tests/ops_cli.rs.
    let version = String::from_utf8_lossy(&out.stdout);
    let want = format!("leakwarden {} (rev ", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&want), "{version}");
    let out = leakwarden().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "check-config", "demo", "scan", "Exit codes"] {
        assert!(help.contains(cmd), "--help lacks {cmd}");
    }
    let out = leakwarden().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--listen", "--upstream", "--admin", "--config", "--workers", "LEAKWARDEN_LISTEN"]
    {
        assert!(help.contains(flag), "run --help lacks {flag}");
    }
    let out = leakwarden().arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Every field of every configuration struct (the serde structs in
/// src/config/ that reject unknown keys) appears in the shipped example,
/// as a key (`name = ...`, possibly commented out) or as a table
/// (`[name]`, `[[x.name]]`): a new setting cannot ship undocumented.
#[test]
fn shipped_example_config_shows_every_setting() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("config/leakwarden.toml")).unwrap();
    let shown = |name: &str| {
        example.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            let key = line.split('=').next().unwrap_or("").trim();
            key == name
                || (line.starts_with('[')
                    && line.trim_matches(['[', ']']).split('.').any(|part| part == name))
        })
    };
    let mut fields = Vec::new();
    for file in ["file.rs", "detect.rs", "log.rs", "policy.rs", "tls.rs", "access_log.rs"] {
        let src = std::fs::read_to_string(root.join("src/config").join(file)).unwrap();
        let mut strict = false;
        let mut inside = false;
        for line in src.lines() {
            if line.contains("deny_unknown_fields") {
                strict = true;
            } else if strict && line.starts_with("pub struct") {
                inside = true;
            } else if inside && line == "}" {
                (strict, inside) = (false, false);
            } else if inside {
                if let Some(rest) = line.trim().strip_prefix("pub ") {
                    if let Some((name, _)) = rest.split_once(':') {
                        fields.push((file, name.to_string()));
                    }
                }
            }
        }
    }
    assert!(fields.len() > 60, "found only {} fields: the scan is broken", fields.len());
    let missing: Vec<_> = fields.iter().filter(|(_, name)| !shown(name)).collect();
    assert!(missing.is_empty(), "settings missing from config/leakwarden.toml: {missing:?}");
}
