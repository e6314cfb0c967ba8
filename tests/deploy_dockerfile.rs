//! Static checks of the Dockerfile (no container engine runs in CI, and
//! hadolint is not packaged for Debian): a multi-stage build into a
//! shell-less base, non-root, OCI labels, a HEALTHCHECK and an entry point
//! in exec form, and every file the build needs inside the build context.

use std::path::Path;

struct Instr {
    op: String,
    args: String,
}

/// Instructions with continuation lines joined and comments dropped.
fn parse(text: &str) -> Vec<Instr> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
            continue;
        }
        cur.push_str(t);
        let (op, args) = cur.split_once(char::is_whitespace).unwrap_or((&cur, ""));
        out.push(Instr { op: op.to_ascii_uppercase(), args: args.trim().to_owned() });
        cur.clear();
    }
    out
}

fn dockerfile() -> Vec<Instr> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    parse(&std::fs::read_to_string(root.join("Dockerfile")).unwrap())
}

/// The instructions of the last stage (the image that ships).
fn final_stage(all: &[Instr]) -> &[Instr] {
    let last_from = all.iter().rposition(|i| i.op == "FROM").expect("a FROM");
    &all[last_from..]
}

#[test]
fn multi_stage_into_a_base_without_a_shell() {
    let all = dockerfile();
    let froms: Vec<&Instr> = all.iter().filter(|i| i.op == "FROM").collect();
    assert!(froms.len() >= 2, "a build stage and a runtime stage");
    assert!(froms[0].args.contains(" AS build"), "{}", froms[0].args);
    let base = &final_stage(&all)[0].args;
    assert!(
        base.starts_with("gcr.io/distroless/") || base == "scratch",
        "runtime base must have no shell: {base}"
    );
    // With no shell, a RUN or a shell-form command cannot work there.
    for i in final_stage(&all) {
        assert_ne!(i.op, "RUN", "RUN in the shell-less stage");
        if matches!(i.op.as_str(), "CMD" | "ENTRYPOINT") {
            assert!(i.args.starts_with('['), "{} must be in exec form: {}", i.op, i.args);
        }
    }
    let from_build = final_stage(&all).iter().any(|i| {
        i.op == "COPY" && i.args.starts_with("--from=build ") && i.args.contains("leakwarden")
    });
    assert!(from_build, "the binary comes from the build stage");
}

#[test]
fn runs_as_a_numeric_non_root_user() {
    let all = dockerfile();
    let user = final_stage(&all).iter().rfind(|i| i.op == "USER").expect("USER");
    let uid = user.args.split(':').next().unwrap();
    let uid: u32 = uid.parse().expect("numeric uid (Kubernetes runAsNonRoot checks it)");
    assert_ne!(uid, 0);
}

#[test]
fn healthcheck_in_exec_form_uses_the_binary() {
    let all = dockerfile();
    let hc = final_stage(&all).iter().find(|i| i.op == "HEALTHCHECK").expect("HEALTHCHECK");
    let cmd = hc.args.split_once("CMD ").expect("HEALTHCHECK ... CMD").1.trim();
    let argv: Vec<String> = serde_json::from_str(cmd).expect("exec form: a JSON array");
    assert_eq!(argv, ["leakwarden", "healthcheck"]);
}

#[test]
fn oci_labels() {
    let all = dockerfile();
    let labels: String =
        final_stage(&all).iter().filter(|i| i.op == "LABEL").map(|i| i.args.as_str()).collect();
    for key in ["title", "description", "version", "revision", "licenses", "source"] {
        assert!(labels.contains(&format!("org.opencontainers.image.{key}=")), "label {key}");
    }
    assert!(labels.contains("org.opencontainers.image.licenses=\"Apache-2.0\""));
}

/// Every file the build stage copies exists and is not excluded by
/// .dockerignore, and build.rs (which Cargo runs) is among them.
#[test]
fn build_context_has_what_cargo_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    let ignored: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    let all = dockerfile();
    let mut copied = Vec::new();
    for i in all.iter().filter(|i| i.op == "COPY" && !i.args.starts_with("--from")) {
        let parts: Vec<&str> = i.args.split_whitespace().collect();
        copied.extend(parts[..parts.len() - 1].iter().map(|s| s.to_string()));
    }
    for need in ["Cargo.toml", "Cargo.lock", "build.rs", "src", "benches"] {
        assert!(copied.iter().any(|c| c == need), "COPY {need}");
    }
    for c in &copied {
        assert!(root.join(c).exists(), "COPY {c}: no such file");
        assert!(!ignored.contains(&c.as_str()), "COPY {c}, but .dockerignore excludes it");
    }
}
