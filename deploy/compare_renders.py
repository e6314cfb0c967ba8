#!/usr/bin/env python3
"""Exit 1 unless two renders of a kustomization hold the same objects
(order and the generated ConfigMap's hash suffix aside): keeps
kustomize_lite.py faithful to `kubectl kustomize`.

    python3 deploy/compare_renders.py kubectl.yaml lite.yaml
"""
import re
import sys

import yaml

SUFFIX = re.compile(r"^(leakwarden-config)-[a-z0-9]{10}$")


def normalise(node):
    if isinstance(node, dict):
        return {k: normalise(v) for k, v in node.items()}
    if isinstance(node, list):
        return [normalise(v) for v in node]
    if isinstance(node, str):
        return SUFFIX.sub(r"\1-HASH", node)
    return node


def load(path):
    docs = [normalise(d) for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


a, b = load(sys.argv[1]), load(sys.argv[2])
diff = sorted(set(a) ^ set(b)) + sorted(k for k in set(a) & set(b) if a[k] != b[k])
for k in diff:
    print(f"compare_renders: {k[0]}/{k[1]} differs between {sys.argv[1]} and {sys.argv[2]}",
          file=sys.stderr)
sys.exit(1 if diff else 0)
