"""Read where a starting pod is from its events and status: a pure function, tested directly.

Phases, in order: submitted → waiting for a node (the pool must scale up) → scheduled →
pulling the image → starting → running. A fatal cause (the pool cannot scale, the image
cannot be pulled, the container crash-loops) is reported as soon as it is visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum


class Phase(IntEnum):
    SUBMITTED = 0
    WAITING_FOR_NODE = 1
    SCHEDULED = 2
    PULLING = 3
    STARTING = 4
    RUNNING = 5


@dataclass(frozen=True)
class Failure:
    kind: str  # "cannot_scale", "image_pull_failed", "crash_loop"
    reason: str  # short human reason, English, from the cluster


@dataclass(frozen=True)
class Observation:
    phase: Phase
    scale_up: bool  # a node had to be added for this pod
    node: str = ""
    image_size: int | None = None  # bytes, when the cluster reports it
    failure: Failure | None = None


_IMAGE_PULL_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
_SIZE = re.compile(r"[Ii]mage size: (\d+) bytes")


def _scale_reason(message: str) -> str:
    if "max node group size reached" in message or "max size" in message:
        return "the pool is at its maximum number of nodes"
    if "quota" in message:
        return "the cloud subscription's vCPU quota is used up"
    return message.removeprefix("pod didn't trigger scale-up: ")


def _container_statuses(pod: dict | None) -> list[dict]:
    if not pod:
        return []
    return list((pod.get("status") or {}).get("containerStatuses") or [])


def _failure_from_pod(pod: dict | None) -> Failure | None:
    for status in _container_statuses(pod):
        waiting = (status.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason", "")
        detail = waiting.get("message") or reason
        # a first ErrImagePull can be a network blip; "not found" / "denied" never heals
        permanent = any(word in detail.lower() for word in ("not found", "notfound", "manifest unknown", "denied", "unauthorized"))
        if reason in _IMAGE_PULL_WAITING and (reason != "ErrImagePull" or permanent):
            return Failure("image_pull_failed", detail)
        if reason == "CrashLoopBackOff":
            last = (status.get("lastState") or {}).get("terminated") or {}
            code = last.get("exitCode")
            return Failure("crash_loop", f"exit code {code}" if code is not None else reason)
    return None


def observe(pod: dict | None, events: list[dict]) -> Observation:
    """Summarise a starting pod. ``events`` are this pod's events, oldest first."""
    phase = Phase.SUBMITTED
    scale_up = False
    node = ""
    size = None
    failure = None
    for event in events:
        reason = event.get("reason", "")
        message = event.get("message") or ""
        if reason == "FailedScheduling":
            phase = max(phase, Phase.WAITING_FOR_NODE)
        elif reason == "TriggeredScaleUp":
            phase, scale_up = max(phase, Phase.WAITING_FOR_NODE), True
            if failure and failure.kind == "cannot_scale":
                failure = None  # the autoscaler changed its mind: a node is coming after all
        elif reason == "NotTriggerScaleUp" and phase <= Phase.WAITING_FOR_NODE:
            failure = Failure("cannot_scale", _scale_reason(message))
        elif reason == "Scheduled":
            phase = max(phase, Phase.SCHEDULED)
            match = re.search(r" to (\S+)$", message)
            node = match.group(1) if match else node
        elif reason == "Pulling":
            phase = max(phase, Phase.PULLING)
        elif reason == "Pulled":
            phase = max(phase, Phase.STARTING)
            match = _SIZE.search(message)
            size = int(match.group(1)) if match else size
        elif reason in ("Created", "Started"):
            phase = max(phase, Phase.STARTING)
    if pod:
        node = (pod.get("spec") or {}).get("nodeName") or node
        if node:
            phase = max(phase, Phase.SCHEDULED)
        if (pod.get("status") or {}).get("phase") == "Running":
            phase = max(phase, Phase.RUNNING)
        failure = _failure_from_pod(pod) or failure
    if failure and failure.kind == "cannot_scale" and phase >= Phase.SCHEDULED:
        failure = None
    return Observation(phase=phase, scale_up=scale_up, node=node, image_size=size, failure=failure)


# Progress percentages follow the phases; waiting for a node moves with elapsed time vs the ETA.
PHASE_PERCENT = {
    Phase.SUBMITTED: 5,
    Phase.WAITING_FOR_NODE: 10,
    Phase.SCHEDULED: 60,
    Phase.PULLING: 65,
    Phase.STARTING: 85,
    Phase.RUNNING: 95,
}


def percent(observation: Observation, waited: float, eta: float) -> int:
    base = PHASE_PERCENT[observation.phase]
    if observation.phase == Phase.WAITING_FOR_NODE and eta > 0:
        return int(base + min(waited / eta, 0.95) * (PHASE_PERCENT[Phase.SCHEDULED] - base - 1))
    return base
