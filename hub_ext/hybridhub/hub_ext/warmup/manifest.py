"""The placeholder pod that keeps a node warm, and the PriorityClass that makes it yield.

Modelled on zero-to-jupyterhub's user placeholders (chart 4.4.0,
templates/scheduling/user-placeholder/statefulset.yaml and priorityclass.yaml; values.yaml
``scheduling.userPlaceholder`` and ``scheduling.podPriority``): a ``pause`` container with the
user pod's resources, node selector and tolerations, ``terminationGracePeriodSeconds: 0``, no
service account token, the chart's container security context, and a priority class of
negative value (the chart's ``userPlaceholderPriority`` is -10) so a real user pod preempts it.
Pure functions: creating and deleting these objects is :class:`PlaceholderActuator`'s job.

Labels carry no user name: only the pool, the profile slug and a hash of the window.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from hybridhub.spawner.labels import POOL_LABEL, PROFILE_LABEL, WARMUP_LABEL
from hybridhub.spawner.pod import profile_overrides
from hybridhub.spawner.profiles import GPU_RESOURCE, Profile

PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1"  # the chart's scheduling.userPlaceholder.image
PRIORITY_CLASS = "hybridhub-warmup-placeholder"
PLACEHOLDER_PRIORITY = -10  # the chart's scheduling.podPriority.userPlaceholderPriority
COMPONENT = "warmup-placeholder"
WINDOW_LABEL = "hybridhub/warmup-window"
ORIGIN_LABEL = "hybridhub/warmup-origin"  # on placeholders made on intent (intent.py): "intent"
INTENT = "intent"  # that origin; a planned placeholder's is "plan" (no label)

# values.yaml scheduling.userPlaceholder.containerSecurityContext
SECURITY_CONTEXT = {
    "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
}

# KubeSpawner's annotation with the user's name as JupyterHub has it (kubespawner/spawner.py,
# _build_common_annotations); labels carry only an escaped form
USERNAME_ANNOTATION = "hub.jupyter.org/username"


def window_id(pool: str, start_iso: str, end_iso: str, index: int = 0) -> str:
    """A short stable id for one node of one window (a hash: no names in labels)."""
    return hashlib.sha256(f"{pool}|{start_iso}|{end_iso}|{index}".encode()).hexdigest()[:12]


def placeholder_pod(profile: Profile, window: str, namespace: str, priority_class: str = PRIORITY_CLASS,
                    image: str = PAUSE_IMAGE) -> dict:
    """The Pod manifest holding one node of ``profile``'s pool for window id ``window``."""
    o = profile_overrides(profile)
    requests = {"cpu": f"{o['cpu_guarantee']:g}", "memory": o["mem_guarantee"]}
    limits = {"cpu": f"{o['cpu_limit']:g}", "memory": o["mem_limit"]}
    if profile.gpus:  # an extended resource's request must equal its limit
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(profile.gpus)
    pool = profile.pool.name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"hybridhub-warmup-{pool}-{window}",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "hybridhub", "app.kubernetes.io/component": COMPONENT,
                       WARMUP_LABEL: "true", WINDOW_LABEL: window, POOL_LABEL: pool, PROFILE_LABEL: profile.slug},
        },
        "spec": {
            "priorityClassName": priority_class,
            "nodeSelector": dict(o["node_selector"]),
            "tolerations": [dict(t) for t in o["tolerations"]],
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "restartPolicy": "Always",
            "containers": [{
                "name": "pause",
                "image": image,
                "resources": {"requests": requests, "limits": limits},
                "securityContext": dict(SECURITY_CONTEXT),
            }],
        },
    }


def priority_class(name: str = PRIORITY_CLASS, value: int = PLACEHOLDER_PRIORITY) -> dict:
    """The PriorityClass of the placeholders (lower than user pods, which have the default 0)."""
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "hybridhub",
                                              "app.kubernetes.io/component": COMPONENT}},
        "value": value,
        "globalDefault": False,
        "description": "hybridhub warm-up placeholders: keep a GPU node up until a user pod preempts them.",
    }


class PlaceholderActuator(Protocol):
    """What the next slice implements against the cluster (kube stand-in in tests)."""

    async def ensure(self, manifest: dict) -> None:
        """Create the placeholder pod unless one with its name exists."""

    async def remove(self, name: str, namespace: str) -> None:
        """Delete it (its window ended, or its node never joined)."""

    async def existing(self, namespace: str) -> list[dict]:
        """Placeholder pods now present (label ``hybridhub/warmup=true``)."""
