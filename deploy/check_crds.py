#!/usr/bin/env python3
"""Structural check of the Prometheus Operator objects (PodMonitor,
PrometheusRule) in rendered manifests. kubernetes-validate has no schema
for CRDs, so this checks the fields leakwarden uses against the operator's
v1 API: required fields, types, durations, and no unknown keys (a typo such
as `podMetricEndpoints` would otherwise be ignored by the API server's
pruning and silently scrape nothing). With --promtool DIR it also writes
each PrometheusRule's groups to DIR for `promtool check rules`.

    python3 deploy/check_crds.py rendered.yaml [more.yaml ...] [--promtool DIR]
"""
import pathlib
import re
import sys

import yaml

DURATION = re.compile(r"^(([0-9]+)(y|w|d|h|m|s|ms))+$")
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ALERT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def keys(where, obj, required, optional):
    if not isinstance(obj, dict):
        err(where, f"must be a mapping, got {type(obj).__name__}")
        return False
    for k in required:
        if k not in obj:
            err(where, f"missing required field {k!r}")
    for k in obj:
        if k not in required and k not in optional:
            err(where, f"unknown field {k!r}")
    return True


def str_map(where, obj):
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in obj.items()
    ):
        err(where, "must map strings to strings")


def duration(where, v):
    if not isinstance(v, str) or not DURATION.match(v):
        err(where, f"not a Prometheus duration: {v!r}")


def label_selector(where, sel):
    if keys(where, sel, [], ["matchLabels", "matchExpressions"]):
        if "matchLabels" in sel:
            str_map(where + ".matchLabels", sel["matchLabels"])
        if not sel:
            err(where, "an empty selector matches every pod")


def metadata(where, md):
    if keys(where, md, ["name"], ["namespace", "labels", "annotations"]):
        if not NAME.match(str(md.get("name", ""))):
            err(where + ".name", "not a DNS-1123 name")
        for f in ("labels", "annotations"):
            if f in md:
                str_map(f"{where}.{f}", md[f])


def pod_monitor(where, doc):
    spec = doc.get("spec")
    if not keys(where + ".spec", spec, ["selector", "podMetricsEndpoints"],
                ["jobLabel", "namespaceSelector", "podTargetLabels", "sampleLimit"]):
        return
    label_selector(where + ".spec.selector", spec["selector"])
    eps = spec.get("podMetricsEndpoints")
    if not isinstance(eps, list) or not eps:
        err(where + ".spec.podMetricsEndpoints", "must be a non-empty list")
        return
    for i, ep in enumerate(eps):
        w = f"{where}.spec.podMetricsEndpoints[{i}]"
        if not keys(w, ep, ["port"], ["path", "interval", "scrapeTimeout", "scheme",
                                      "honorLabels", "relabelings", "metricRelabelings"]):
            continue
        if not isinstance(ep["port"], str):
            err(w + ".port", "must be a container port name")
        if not str(ep.get("path", "/metrics")).startswith("/"):
            err(w + ".path", "must start with /")
        for f in ("interval", "scrapeTimeout"):
            if f in ep:
                duration(f"{w}.{f}", ep[f])


def prometheus_rule(where, doc, promtool_dir):
    spec = doc.get("spec")
    if not keys(where + ".spec", spec, ["groups"], []):
        return
    groups = spec["groups"]
    if not isinstance(groups, list) or not groups:
        err(where + ".spec.groups", "must be a non-empty list")
        return
    seen = set()
    for i, g in enumerate(groups):
        w = f"{where}.spec.groups[{i}]"
        if not keys(w, g, ["name", "rules"], ["interval", "limit", "partial_response_strategy"]):
            continue
        if g["name"] in seen:
            err(w + ".name", f"duplicate group {g['name']!r}")
        seen.add(g["name"])
        for j, r in enumerate(g.get("rules") or []):
            rw = f"{w}.rules[{j}]"
            if not keys(rw, r, ["expr"], ["alert", "record", "for", "keep_firing_for",
                                          "labels", "annotations"]):
                continue
            if ("alert" in r) == ("record" in r):
                err(rw, "needs exactly one of alert and record")
            if "alert" in r and not ALERT_NAME.match(str(r["alert"])):
                err(rw + ".alert", "not a valid alert name")
            if not isinstance(r["expr"], (str, int)) or not str(r["expr"]).strip():
                err(rw + ".expr", "must be a non-empty PromQL expression")
            for f in ("for", "keep_firing_for"):
                if f in r:
                    duration(f"{rw}.{f}", r[f])
            for f in ("labels", "annotations"):
                if f in r:
                    str_map(f"{rw}.{f}", r[f])
    if promtool_dir is not None:
        out = pathlib.Path(promtool_dir) / f"{doc['metadata']['name']}-{len(list(pathlib.Path(promtool_dir).iterdir()))}.yml"
        out.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))


CHECKS = {
    ("monitoring.coreos.com/v1", "PodMonitor"): pod_monitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): prometheus_rule,
}


def main(argv):
    promtool_dir = None
    if "--promtool" in argv:
        i = argv.index("--promtool")
        promtool_dir = argv[i + 1]
        del argv[i:i + 2]
    found = 0
    for path in argv:
        for n, doc in enumerate(yaml.safe_load_all(open(path, encoding="utf-8"))):
            if not doc:
                continue
            key = (doc.get("apiVersion"), doc.get("kind"))
            if key[0] != "monitoring.coreos.com/v1":
                continue
            where = f"{path}[{n}] {key[1]}"
            check = CHECKS.get(key)
            if check is None:
                err(where, "no structural check for this kind")
                continue
            found += 1
            if keys(where, doc, ["apiVersion", "kind", "metadata", "spec"], []):
                metadata(where + ".metadata", doc["metadata"])
                if key[1] == "PrometheusRule":
                    check(where, doc, promtool_dir)
                else:
                    check(where, doc)
    for e in errors:
        print(f"check_crds: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"check_crds: {found} Prometheus Operator object(s) ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
