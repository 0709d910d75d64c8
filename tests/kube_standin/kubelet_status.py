"""What the kubelet model writes: pod status fields, conditions, and its own events.

Sources reproduced (kubernetes/kubernetes):
* pkg/kubelet/kubelet_pods.go (convertToAPIContainerStatuses): a container with no
  runtime status yet is ``waiting`` with reason ``PodInitializing`` when the pod spec has
  init containers, ``ContainerCreating`` otherwise; a container that failed to start is
  ``waiting`` with the failure's reason (``ErrImagePull``, ``ImagePullBackOff``,
  ``CrashLoopBackOff``), for init containers too (``Init:`` prefixes are kubectl's display).
* pkg/kubelet/status/generate.go: ``Initialized`` is False with reason
  ``ContainersNotInitialized`` and "containers with incomplete status: [a b]" until every
  init container is ready; pkg/kubelet/prober/prober_manager.go: an init container is
  ready once it terminated with exit code 0.
* pkg/kubelet/container/ref.go: an event about a container names it in
  ``involvedObject.fieldPath`` (``spec.containers{name}``, ``spec.initContainers{name}``);
  client-go tools/record/events_cache.go (getEventKey): the kubelet's recorder counts
  repeats of an event whose key includes that fieldPath.
"""

from __future__ import annotations

from .clock import rfc3339

COMPONENT = "kubelet"


def field_path(name: str, init: bool) -> str:
    return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"


def statuses(pod: dict, init: bool) -> list[dict]:
    return pod["status"].get("initContainerStatuses" if init else "containerStatuses") or []


def initial_statuses(pod: dict, t: float) -> None:
    """The first status the kubelet writes for a pod bound to its node."""
    spec = pod["spec"]
    init = spec.get("initContainers") or []
    default = "PodInitializing" if init else "ContainerCreating"

    def waiting(c):
        return {"name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
                "started": False, "state": {"waiting": {"reason": default}}}
    if init:
        pod["status"]["initContainerStatuses"] = [waiting(c) for c in init]
    pod["status"]["containerStatuses"] = [waiting(c) for c in spec["containers"]]
    initialized_condition(pod, t)
    condition(pod, "Ready", "False", "ContainersNotReady", t)
    condition(pod, "ContainersReady", "False", "ContainersNotReady", t)


def initialized_condition(pod: dict, t: float) -> None:
    incomplete = [cs["name"] for cs in pod["status"].get("initContainerStatuses") or [] if not cs["ready"]]
    if incomplete:
        condition(pod, "Initialized", "False", "ContainersNotInitialized", t,
                  f"containers with incomplete status: [{' '.join(incomplete)}]")
    else:
        condition(pod, "Initialized", "True", None, t)


def condition(pod: dict, type_: str, status: str, reason: str | None, t: float, message: str | None = None) -> None:
    conds = pod["status"].setdefault("conditions", [])
    cond = next((c for c in conds if c["type"] == type_), None)
    if cond is None:
        cond = {"type": type_, "status": status, "lastTransitionTime": rfc3339(t)}
        conds.append(cond)
    elif cond["status"] != status:
        cond["lastTransitionTime"] = rfc3339(t)
    cond["status"] = status
    for field_name, value in (("reason", reason), ("message", message)):
        if value:
            cond[field_name] = value
        else:
            cond.pop(field_name, None)


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration (millisecond precision), as kubelet messages do: 2m33.6s."""
    ms = int(round(seconds * 1000))
    if ms == 0:
        return "0s"  # time.Duration.String: the zero duration
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    out = f"{hours}h" if hours else ""
    if hours or minutes:
        out += f"{minutes}m"
    return out + f"{secs}s"
