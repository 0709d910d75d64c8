"""Read where a starting pod is from its events and status: a pure function, tested directly.

Phases, in order: submitted → waiting for a node (the pool must scale up) → scheduled →
preparing (the pod's init containers, e.g. the chart's ``block-cloud-metadata``) → pulling the
server's image → starting → running. Pull and start phases follow the server's own container
only: the kubelet names the container an event is about in ``involvedObject.fieldPath``
(``spec.initContainers{name}`` / ``spec.containers{name}``), so an init container's pull never
counts as the server image's. A fatal cause (the pool cannot scale, an image cannot be pulled,
a container crash-loops) is reported as soon as it is visible, named for what failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from .scaleup import ScaleUpVerdict, read_not_triggered


class Phase(IntEnum):
    SUBMITTED = 0
    WAITING_FOR_NODE = 1
    SCHEDULED = 2
    PREPARING = 3
    PULLING = 4
    STARTING = 5
    RUNNING = 6


@dataclass(frozen=True)
class Failure:
    # "cannot_scale", "pool_at_max", "scale_backoff", "autoscaler_limit" (see scaleup.py),
    # "image_pull_failed", "crash_loop" (the server's container),
    # "init_image_pull_failed", "init_crash_loop" (an init container: ``step`` names it)
    kind: str
    reason: str  # short human reason, English, from the cluster
    step: str = ""  # the init container that failed
    image: str = ""  # the image that could not be pulled


@dataclass(frozen=True)
class Observation:
    phase: Phase
    scale_up: bool  # a node had to be added for this pod
    node: str = ""
    image_size: int | None = None  # bytes, when the cluster reports it
    failure: Failure | None = None
    step: str = ""  # the init container being run while PREPARING
    steps: tuple[str, ...] = ()  # the init containers seen starting, in order
    autoscaler_note: str = ""  # the autoscaler's last transient reason for not adding a node
    image_present: bool = False  # the server's image was already on the node: nothing downloaded


_IMAGE_PULL_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
_SIZE = re.compile(r"[Ii]mage size: (\d+) bytes")
# kubernetes pkg/kubelet/images/image_manager.go EnsureImageExists: "Container image %q already present on machine"
_PRESENT = "already present on machine"
_FIELD_PATH = re.compile(r"^spec\.(initContainers|containers)\{(.+)\}$")
_NAMED = re.compile(r"^(?:Created container:?|Started container|Stopping container) (\S+)$")
_QUOTED = re.compile(r'"([^"]+)"')
_CONTAINER_REASONS = {"Pulling", "Pulled", "Created", "Started", "Failed", "BackOff", "Killing"}


def _spec(pod: dict | None) -> dict:
    return (pod or {}).get("spec") or {}


def server_container(pod: dict | None) -> str:
    """The server's container: KubeSpawner's ``notebook``, else the first."""
    names = [c.get("name") for c in _spec(pod).get("containers") or []]
    return "notebook" if "notebook" in names or not names else names[0]


def container_of(event: dict, pod: dict | None) -> tuple[str, str]:
    """``("init" | "main" | "", container name)`` for a kubelet event, ``("", "")`` for a pod event."""
    match = _FIELD_PATH.match((event.get("involvedObject") or {}).get("fieldPath") or "")
    if match:
        return ("init" if match.group(1) == "initContainers" else "main"), match.group(2)
    if event.get("reason") not in _CONTAINER_REASONS:
        return "", ""
    # no fieldPath (not from a kubelet): name or image in the message, against the spec
    message = event.get("message") or ""
    named = _NAMED.match(message)
    init = {c.get("name"): c.get("image") for c in _spec(pod).get("initContainers") or []}
    if named:
        return ("init" if named.group(1) in init else "main"), named.group(1)
    quoted = _QUOTED.search(message)
    main_images = {c.get("image") for c in _spec(pod).get("containers") or []}
    for name, image in init.items():
        if quoted and quoted.group(1) == image and image not in main_images:
            return "init", name
    return "main", server_container(pod)


def _statuses(pod: dict | None, key: str) -> list[dict]:
    return list(((pod or {}).get("status") or {}).get(key) or [])


def _status_failure(status: dict) -> tuple[str, str] | None:
    """``("image", detail)`` or ``("crash", detail)`` when a container status shows a fatal cause."""
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    detail = waiting.get("message") or reason
    # a first ErrImagePull can be a network blip; "not found" / "denied" never heals
    permanent = any(word in detail.lower() for word in ("not found", "notfound", "manifest unknown", "denied", "unauthorized"))
    if reason in _IMAGE_PULL_WAITING and (reason != "ErrImagePull" or permanent):
        return "image", detail
    if reason == "CrashLoopBackOff":
        last = (status.get("lastState") or {}).get("terminated") or {}
        code = last.get("exitCode")
        return "crash", f"exit code {code}" if code is not None else reason
    return None


def _failure_from_pod(pod: dict | None) -> Failure | None:
    for status in _statuses(pod, "initContainerStatuses"):
        found = _status_failure(status)
        if found:
            kind = "init_image_pull_failed" if found[0] == "image" else "init_crash_loop"
            return Failure(kind, found[1], step=status.get("name", ""), image=status.get("image", ""))
    for status in _statuses(pod, "containerStatuses"):
        found = _status_failure(status)
        if found:
            kind = "image_pull_failed" if found[0] == "image" else "crash_loop"
            return Failure(kind, found[1], image=status.get("image", ""))
    return None


def _scale_failure(verdict: ScaleUpVerdict) -> Failure | None:
    return None if verdict.transient else Failure(verdict.kind, verdict.reason)


def observe(pod: dict | None, events: list[dict]) -> Observation:
    """Summarise a starting pod. ``events`` are this pod's events, oldest first."""
    phase = Phase.SUBMITTED
    scale_up = False
    node = ""
    size = None
    failure = None
    steps: list[str] = []
    note = ""
    present = downloaded = False
    server = server_container(pod)
    for event in events:
        reason = event.get("reason", "")
        message = event.get("message") or ""
        which, name = container_of(event, pod)
        if which == "init":
            if reason in ("Pulling", "Pulled", "Created", "Started"):
                phase = max(phase, Phase.PREPARING)
                steps += [] if name in steps else [name]
            continue
        if which == "main" and name != server:
            continue  # another container of the pod (a sidecar): not the server's progress
        if reason == "FailedScheduling":
            phase = max(phase, Phase.WAITING_FOR_NODE)
        elif reason == "TriggeredScaleUp":
            phase, scale_up, note = max(phase, Phase.WAITING_FOR_NODE), True, ""
            if failure and failure.kind in _SCALE_KINDS:
                failure = None  # the autoscaler changed its mind: a node is coming after all
        elif reason == "NotTriggerScaleUp" and phase <= Phase.WAITING_FOR_NODE:
            verdict = read_not_triggered(message)
            failure = _scale_failure(verdict)
            note = verdict.reason if verdict.transient else ""
        elif reason == "Scheduled":
            phase = max(phase, Phase.SCHEDULED)
            match = re.search(r" to (\S+)$", message)
            node = match.group(1) if match else node
        elif reason == "Pulling":
            phase, downloaded = max(phase, Phase.PULLING), True
        elif reason == "Pulled":
            phase = max(phase, Phase.STARTING)
            present = present or _PRESENT in message
            match = _SIZE.search(message)
            size = int(match.group(1)) if match else size
        elif reason in ("Created", "Started"):
            phase = max(phase, Phase.STARTING)
    if pod:
        node = _spec(pod).get("nodeName") or node
        if node:
            phase = max(phase, Phase.SCHEDULED)
        if (pod.get("status") or {}).get("phase") == "Running":
            phase = max(phase, Phase.RUNNING)
        failure = _failure_from_pod(pod) or failure
    if failure and failure.kind in _SCALE_KINDS and phase >= Phase.SCHEDULED:
        failure = None
    if phase >= Phase.SCHEDULED:
        note = ""
    return Observation(phase=phase, scale_up=scale_up, node=node, image_size=size, failure=failure,
                       step=steps[-1] if steps and phase == Phase.PREPARING else "", steps=tuple(steps),
                       autoscaler_note=note, image_present=present and not downloaded)


_SCALE_KINDS = {"cannot_scale", "pool_at_max", "scale_backoff", "autoscaler_limit"}

# Progress percentages follow the phases; waiting for a node moves with elapsed time vs the ETA.
PHASE_PERCENT = {
    Phase.SUBMITTED: 5,
    Phase.WAITING_FOR_NODE: 10,
    Phase.SCHEDULED: 60,
    Phase.PREPARING: 62,
    Phase.PULLING: 65,
    Phase.STARTING: 85,
    Phase.RUNNING: 95,
}


def percent(observation: Observation, waited: float, eta: float) -> int:
    base = PHASE_PERCENT[observation.phase]
    if observation.phase == Phase.WAITING_FOR_NODE and eta > 0:
        return int(base + min(waited / eta, 0.95) * (PHASE_PERCENT[Phase.SCHEDULED] - base - 1))
    return base
