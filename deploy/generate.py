#!/usr/bin/env python3
"""Generates the deployment files that restate a file in config/:

- kubernetes/base/prometheusrule.yaml, a Prometheus Operator PrometheusRule,
  from config/alerts.yml (the rule groups copied as text under `spec:`, so
  comments, block scalars and runbooks stay exactly as written);
- compose/grafana/dashboards/leakwarden.json, config/grafana-dashboard.json
  with its `${DS_PROMETHEUS}` import placeholder bound to the provisioned
  data source (file provisioning does not resolve `__inputs`).

    python3 deploy/generate.py          # rewrite them
    python3 deploy/generate.py --check  # exit 1 if one is stale (CI)
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

RULE_HEADER = """\
# GENERATED from config/alerts.yml by deploy/generate.py: edit the source
# and rerun the script (CI checks that they match).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: leakwarden
  labels:
    # The label a default kube-prometheus-stack rule selector looks for;
    # change it to what your Prometheus's ruleSelector matches.
    release: kube-prometheus-stack
spec:
"""

# The data source uid in deploy/compose/grafana/provisioning/datasources.
DATASOURCE_UID = "prometheus"


def prometheus_rule() -> str:
    lines = (ROOT / "config/alerts.yml").read_text(encoding="utf-8").splitlines()
    # The leading comment explains loading the file into Prometheus by
    # hand; the operator object starts at `groups:`.
    start = next(i for i, l in enumerate(lines) if l.startswith("groups:"))
    body = ["  " + l if l.strip() else "" for l in lines[start:]]
    return RULE_HEADER + "\n".join(body) + "\n"


def dashboard() -> str:
    d = json.loads((ROOT / "config/grafana-dashboard.json").read_text(encoding="utf-8"))
    d.pop("__inputs", None)
    d.pop("__requires", None)
    text = json.dumps(d, indent=2, ensure_ascii=False) + "\n"
    return text.replace("${DS_PROMETHEUS}", DATASOURCE_UID)


TARGETS = {
    "deploy/kubernetes/base/prometheusrule.yaml": prometheus_rule,
    "deploy/compose/grafana/dashboards/leakwarden.json": dashboard,
}


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = 0
    for rel, make in TARGETS.items():
        path = ROOT / rel
        want = make()
        if check:
            have = path.read_text(encoding="utf-8") if path.exists() else ""
            if have != want:
                print(f"{rel} is stale: run python3 deploy/generate.py", file=sys.stderr)
                stale += 1
            else:
                print(f"{rel} is up to date")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(want, encoding="utf-8")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
