"""What the API server does to an object between validation and storage.

Defaulting (a subset of the real defaults for pods), server-owned status on
create, and per-kind conversions such as a Secret's ``stringData``.
"""

from __future__ import annotations

import base64
import binascii
import itertools

from .errors import ApiError

_cluster_ips = itertools.count(10)


def _pod_defaults(pod: dict) -> None:
    spec = pod["spec"]
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("securityContext", {})
    for c in (spec.get("initContainers") or []) + spec["containers"]:
        image = c["image"]
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        res = c.setdefault("resources", {})
        for name, limit in (res.get("limits") or {}).items():
            res.setdefault("requests", {}).setdefault(name, limit)
    pod["status"] = {"phase": "Pending", "qosClass": _qos(spec)}


def _qos(spec: dict) -> str:
    containers = spec["containers"]
    reqs = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in reqs):
        return "BestEffort"
    guaranteed = all(
        {"cpu", "memory"} <= set(r.get("limits") or {}) and
        all((r.get("requests") or {}).get(k, v) == v for k, v in (r.get("limits") or {}).items())
        for r in reqs)
    return "Guaranteed" if guaranteed else "Burstable"


def _secret(secret: dict) -> None:
    data = secret.get("data") or {}
    name = secret["metadata"].get("name", "")
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ApiError(400, "BadRequest", f'Secret in version "v1" cannot be handled as a Secret: '
                           f'illegal base64 data in data[{key}] of secret "{name}"')
    for key, value in (secret.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(value.encode()).decode()
    if data:
        secret["data"] = data
    secret.setdefault("type", "Opaque")


def _service(svc: dict) -> None:
    spec = svc.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec.get("clusterIP") != "None":
        n = next(_cluster_ips)
        spec["clusterIP"] = f"10.0.{n // 250}.{n % 250 + 1}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    svc["status"] = {"loadBalancer": {}}


def _pvc(pvc: dict) -> None:
    spec = pvc.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    spec.setdefault("storageClassName", "default")
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        raise ApiError(422, "Invalid", f'PersistentVolumeClaim "{pvc["metadata"].get("name", "")}" is invalid: '
                       'spec.resources[storage]: Required value')
    pvc["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or [],
                     "capacity": {"storage": storage}}


def on_create(kind: str, obj: dict) -> None:
    if kind == "Pod":
        _pod_defaults(obj)
    elif kind == "Secret":
        _secret(obj)
    elif kind == "Service":
        _service(obj)
    elif kind == "PersistentVolumeClaim":
        _pvc(obj)
    elif kind == "Namespace":
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def on_update(kind: str, old: dict, new: dict) -> None:
    """Writes to the main resource cannot change status (it has its own subresource)."""
    if kind in ("Pod", "PersistentVolumeClaim", "Service", "Namespace", "Node"):
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    if kind == "Secret":
        _secret(new)
