//! The deployment files generated from config/ (the Kubernetes
//! PrometheusRule from config/alerts.yml, the Compose stack's Grafana
//! dashboard) match their sources: `python3 deploy/generate.py --check`.
//! deploy/validate.sh (in .ci/run) checks the rest of the kit.

use std::process::Command;

#[test]
fn generated_deploy_files_match_their_sources() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .args(["deploy/generate.py", "--check"])
        .current_dir(root)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("prometheusrule.yaml is up to date"), "{stdout}");
    assert!(stdout.contains("leakwarden.json is up to date"), "{stdout}");
}
