#!/usr/bin/env python3
"""A small renderer for the Kustomize features deploy/kubernetes uses, for
CI machines without kubectl or kustomize (neither is a Debian package):
resources (files and directories), namespace, labels (metadata only),
configMapGenerator (files; behavior create or replace) with a content-hash
name suffix (sha256 of the data, like kustomize's but not the same value)
and the references to it in pod volumes, and images (newName/newTag). Anything else in a kustomization is refused, so a
new feature cannot be silently ignored. validate.sh compares its output
with `kubectl kustomize` wherever kubectl exists.

    python3 deploy/kustomize_lite.py deploy/kubernetes/overlays/sidecar
"""
import hashlib
import json
import pathlib
import sys

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels",
             "configMapGenerator", "images"}


def config_map_hash(name, data):
    """A 10-character suffix that changes with the content, so a changed
    configuration rolls the pods, as kustomize's does."""
    doc = json.dumps({"data": data, "kind": "ConfigMap", "name": name},
                     sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(doc.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


class Generated:
    """ConfigMaps generated so far, with the labels that apply to them."""

    def __init__(self):
        self.data = {}
        self.labels = {}
        self.namespace = None


def build(directory, generated):
    """The objects of the kustomization in `directory`; its ConfigMap
    generators are recorded in `generated`."""
    directory = pathlib.Path(directory)
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(k) - SUPPORTED
    if unknown:
        raise SystemExit(f"{directory}: kustomize_lite does not support {sorted(unknown)}")
    objects = []
    for res in k.get("resources", []):
        path = directory / res
        if path.is_dir():
            objects += build(path, generated)
        else:
            objects += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for gen in k.get("configMapGenerator", []):
        behavior = gen.get("behavior", "create")
        if set(gen) - {"name", "files", "behavior"} or behavior not in ("create", "replace"):
            raise SystemExit(f"{directory}: unsupported configMapGenerator {gen}")
        if (behavior == "replace") != (gen["name"] in generated.data):
            raise SystemExit(f"{directory}: configMapGenerator {gen['name']}: {behavior} "
                             "needs a base generator of that name (replace) or none (create)")
        data = {}
        for f in gen.get("files", []):
            key, src = f.split("=", 1) if "=" in f else (pathlib.Path(f).name, f)
            data[key] = (directory / src).read_text()
        generated.data[gen["name"]] = data
    for img in k.get("images", []):
        for obj in objects:
            for c in containers(obj):
                if c.get("image", "").split(":")[0] == img["name"]:
                    c["image"] = img.get("newName", img["name"]) + (
                        f":{img['newTag']}" if "newTag" in img else "")
    for lab in k.get("labels", []):
        if lab.get("includeSelectors", False) or lab.get("includeTemplates", False):
            raise SystemExit(f"{directory}: labels on selectors/templates unsupported")
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(lab["pairs"])
        generated.labels.update(lab["pairs"])
    if "namespace" in k:
        for obj in objects:
            obj.setdefault("metadata", {})["namespace"] = k["namespace"]
        generated.namespace = k["namespace"]
    return objects


def containers(obj):
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


ORDER = ["Namespace", "ServiceAccount", "Secret", "ConfigMap", "Service",
         "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler"]


def render(directory):
    generated = Generated()
    objects = build(directory, generated)
    renamed = {}
    for name, data in generated.data.items():
        full = f"{name}-{config_map_hash(name, data)}"
        renamed[name] = full
        md = {"name": full}
        if generated.labels:
            md["labels"] = dict(generated.labels)
        if generated.namespace:
            md["namespace"] = generated.namespace
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data})
    for obj in objects:
        for vol in obj.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", []):
            cm = vol.get("configMap")
            if cm and cm.get("name") in renamed:
                cm["name"] = renamed[cm["name"]]
    objects.sort(key=lambda o: (ORDER.index(o["kind"]) if o["kind"] in ORDER else len(ORDER),
                                o["kind"], o["metadata"]["name"]))
    return objects


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump_all(render(argv[0]), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
