"""The chart's continuous-image-puller DaemonSet, rendered from merged values as the chart renders it
(and, at the end, our GPU pools' own puller as shipped).

A Python reading of zero-to-jupyterhub 4.4.0 ``templates/image-puller/_helpers-daemonset.tpl``
(``jupyterhub.imagePuller.daemonset`` with hook=false) and ``templates/_helpers.tpl``
(``jupyterhub.userNodeAffinityRequired``), for the parts that decide where it runs and what it pulls:
nodeSelector (singleuser.nodeSelector), tolerations (scheduling.userPods.tolerations +
singleuser.extraTolerations + prePuller.extraTolerations), the required node affinity (node-purpose=user
when scheduling.userPods.nodeAffinity.matchNodePurpose is "require", then
singleuser.extraNodeAffinity.required), the priority class (only with scheduling.podPriority.enabled),
and the init containers in the template's order: the network-tools image when the cloud metadata block is
on, singleuser.image, singleuser.initContainers/extraContainers, the profileList images
(prePuller.pullProfileListImages), prePuller.extraImages (in key order, as Go's range over a map), then
the pause container. Labels, annotations, securityContext and pull secrets are left out (no effect on
placement or pulls). The chart's files are not in the repository (tests/deploy/z2jh.py finds them); the
template was read from github.com/jupyterhub/zero-to-jupyterhub-k8s at 4.4.0.
"""

from __future__ import annotations

from pathlib import Path

import yaml

GPU_PULLER_FILE = Path(__file__).resolve().parents[2] / "helm-values" / "gpu-image-puller.yaml"
PULL_COMMAND = ["/bin/sh", "-c", 'echo "Pulling complete"']
NAME = "continuous-image-puller"  # jupyterhub.continuous-image-puller.fullname with fullnameOverride ""


def image_of(spec: dict) -> str:
    """jupyterhub.image.fullname: name:tag (name alone without a tag)."""
    return f"{spec['name']}:{spec['tag']}" if spec.get("tag") else spec["name"]


def _init(name: str, image: str, values: dict) -> dict:
    container = {"name": name, "image": image, "command": list(PULL_COMMAND)}
    if values["prePuller"].get("resources"):
        container["resources"] = values["prePuller"]["resources"]
    return container


def continuous_puller(values: dict, release: str = "hybridhub") -> dict | None:
    """The DaemonSet, or None when prePuller.continuous.enabled is false."""
    pre, single, scheduling = values["prePuller"], values["singleuser"], values["scheduling"]
    if not pre["continuous"]["enabled"]:
        return None
    init = []
    cloud = single.get("cloudMetadata") or {}
    block = (not cloud["enabled"]) if "enabled" in cloud else cloud.get("blockWithIptables", True)
    if block:
        init.append(_init("image-pull-metadata-block", image_of(single["networkTools"]["image"]), values))
    init.append(_init("image-pull-singleuser", image_of(single["image"]), values))
    for k, container in enumerate((single.get("initContainers") or []) + (single.get("extraContainers") or [])):
        init.append(_init(f"image-pull-singleuser-init-and-extra-containers-{k}", container["image"], values))
    if pre.get("pullProfileListImages"):
        for k, profile in enumerate(single.get("profileList") or []):
            image = (profile.get("kubespawner_override") or {}).get("image")
            if image:
                init.append(_init(f"image-pull-singleuser-profilelist-{k}", image, values))
    for key in sorted(pre.get("extraImages") or {}):
        extra = pre["extraImages"][key]
        init.append(_init(f"image-pull-{key}", f"{extra['name']}:{extra['tag']}", values))
    spec = {"nodeSelector": dict(single.get("nodeSelector") or {}),
            "terminationGracePeriodSeconds": 0, "automountServiceAccountToken": False,
            "initContainers": init,
            "containers": [{"name": "pause", "image": image_of(pre["pause"]["image"])}]}
    if scheduling["podPriority"]["enabled"]:
        spec["priorityClassName"] = f"{release}-user-placeholder-priority"
    tolerations = (list(scheduling["userPods"].get("tolerations") or []) + list(single.get("extraTolerations") or [])
                   + list(pre.get("extraTolerations") or []))
    if tolerations:
        spec["tolerations"] = tolerations
    required = []
    if scheduling["userPods"]["nodeAffinity"]["matchNodePurpose"] == "require":
        required.append({"matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In",
                                               "values": ["user"]}]})
    required += list((single.get("extraNodeAffinity") or {}).get("required") or [])
    if required:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": required}}}
    labels = {"app": "jupyterhub", "component": NAME, "release": release}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": NAME, "labels": labels},
            "spec": {"selector": {"matchLabels": labels},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%"}},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def gpu_image_puller(namespace: str = "default") -> dict:
    """helm-values/gpu-image-puller.yaml (the GPU pools' own puller), in ``namespace``."""
    with open(GPU_PULLER_FILE, encoding="utf-8") as f:
        (daemonset,) = [d for d in yaml.safe_load_all(f) if d]
    daemonset["metadata"]["namespace"] = namespace
    return daemonset
