"""cluster-autoscaler's bookkeeping around scale-ups: its event recorder, node-group backoff and the
``cluster-autoscaler-status`` ConfigMap (a test double; sources named per part, releases 1.31-1.37).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import yaml

from .clock import rfc3339

COMPONENT = "cluster-autoscaler"
STATUS_NAMESPACE = "kube-system"
STATUS_NAME = "cluster-autoscaler-status"
LAST_UPDATED = "cluster-autoscaler.kubernetes.io/last-updated"

# utils/kubernetes/factory.go: the recorder's spam filter lets one event per key through per
# 5 minutes (token bucket, QPS 1/300, burst 1) unless --record-duplicated-events (default false).
SPAM_QPS = 1.0 / 300.0
SPAM_BURST = 1.0


class Recorder:
    """cluster-autoscaler's event recorder: client-go's EventCorrelator with the autoscaler's options.

    The spam key is reason + source + involved object (kind, namespace, name, uid, apiVersion); for the
    status ConfigMap it is the message alone (getCustomSpamKeyFunc).  What passes is recorded by the
    cluster, whose identical events are counted (client-go's eventLogger: count++ on the same Event).
    client-go's aggregation of >10 similar messages in 10 minutes is not modelled (the spam filter
    keeps the autoscaler well below it)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time)

    @staticmethod
    def spam_key(obj: dict, reason: str, message: str) -> str:
        meta = obj["metadata"]
        if (obj["kind"], meta.get("namespace"), meta["name"]) == ("ConfigMap", STATUS_NAMESPACE, STATUS_NAME):
            return message
        return "\0".join([reason, COMPONENT, "", obj["kind"], meta.get("namespace") or "", meta["name"],
                          meta["uid"], "v1"])

    def allow(self, key: str, t: float) -> bool:
        """Token bucket (client-go flowcontrol TryAccept); kept as (tokens, time) of the last pass,
        which is the same bucket without float drift from many refused calls."""
        tokens, last = self._buckets.get(key, (SPAM_BURST, t))
        tokens = min(SPAM_BURST, tokens + (t - last) * SPAM_QPS)
        if tokens < 1.0:
            return False
        self._buckets[key] = (tokens - 1.0, t)
        return True

    def event(self, obj: dict, reason: str, message: str, t: float, type_: str = "Normal") -> bool:
        if not self.allow(self.spam_key(obj, reason, message), t):
            return False
        self.cluster.event(obj, reason, message, type_, component=COMPONENT, t=t)
        return True

    def log_event(self, reason: str, message: str, t: float, type_: str = "Normal") -> bool:
        """An event on the status ConfigMap (clusterstate/utils/status.go LogEventRecorder)."""
        cm = self.cluster.store.find("configmaps", STATUS_NAMESPACE, STATUS_NAME)
        return cm is not None and self.event(cm, reason, message, t, type_)


@dataclass
class BackoffInfo:
    duration: float
    until: float
    last_failed: float
    error_code: str
    error_message: str


class Backoff:
    """utils/backoff/exponential_backoff.go: per node group, initial duration, doubled when the group
    fails again after its backoff ended (capped), forgotten ``reset`` seconds after the last failure."""

    def __init__(self, initial: float, maximum: float, reset: float):
        self.initial, self.maximum, self.reset = initial, maximum, reset
        self.info: dict[str, BackoffInfo] = {}

    def backoff(self, group: str, code: str, message: str, t: float) -> float:
        duration = self.initial
        old = self.info.get(group)
        if old is not None:
            duration = old.duration
            if old.until < t:
                duration = min(2 * old.duration, self.maximum)
        self.info[group] = BackoffInfo(duration, t + duration, t, code, message)
        return t + duration

    def status(self, group: str, t: float) -> BackoffInfo | None:
        info = self.info.get(group)
        return None if info is None or info.until < t else info

    def remove_stale(self, t: float) -> None:
        self.info = {g: i for g, i in self.info.items() if not i.last_failed + self.reset < t}


def go_time(t: float) -> str:
    """Go's ``time.Time.Format("2006-01-02 15:04:05.999999999 -0700 MST")`` in UTC."""
    return datetime.fromtimestamp(int(t), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


class StatusWriter:
    """clusterstate.go GetStatus + clusterstate/utils/status.go WriteStatusConfigMap: the status as
    YAML (sigs.k8s.io/yaml: JSON field names, sorted keys) under ``data.status``.

    The real autoscaler rewrites it every loop (10 s); the stand-in writes it when something other
    than the probe times changed, so the watch history is not flooded."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.last: dict = {}  # condition path -> (status, lastTransitionTime)
        self._written = None

    def create(self, t: float) -> None:
        self.cluster.store.create("configmaps", STATUS_NAMESPACE, {
            "metadata": {"name": STATUS_NAME, "namespace": STATUS_NAMESPACE,
                         "annotations": {LAST_UPDATED: go_time(t)}},
            "data": {"status": yaml.safe_dump({"autoscalerStatus": "Initializing", "time": go_time(t)})}})

    def _cond(self, path: str, status: str, t: float, **extra) -> dict:
        prev = self.last.get(path)
        since = prev[1] if prev and prev[0] == status else rfc3339(t)
        self.last[path] = (status, since)
        return {"status": status, **extra, "lastProbeTime": rfc3339(t), "lastTransitionTime": since}

    def write(self, groups: list[dict], t: float) -> None:
        """``groups``: name, ready, target, min, max, scaling_up, backoff (BackoffInfo|None), candidates."""
        def counts(ready: int) -> dict:
            return {"registered": {"total": ready, "ready": ready, "notStarted": 0, "suspended": 0,
                                   "unready": {"total": 0, "resourceUnready": 0}},
                    "longUnregistered": 0, "unregistered": 0}

        node_groups = []
        for g in groups:
            name = g["name"]
            if g["scaling_up"]:
                up = self._cond(f"{name}/scaleUp", "InProgress", t)
            elif g["backoff"] is not None:
                up = self._cond(f"{name}/scaleUp", "Backoff", t, backoffInfo={
                    "errorCode": g["backoff"].error_code, "errorMessage": g["backoff"].error_message[:500]})
            else:
                up = self._cond(f"{name}/scaleUp", "NoActivity", t)
            down = self._cond(f"{name}/scaleDown", "CandidatesPresent" if g["candidates"] else "NoCandidates", t,
                              **({"candidates": g["candidates"]} if g["candidates"] else {}))
            node_groups.append({
                "name": name,
                "health": {**self._cond(f"{name}/health", "Healthy", t), "nodeCounts": counts(g["ready"]),
                           "cloudProviderTarget": g["target"], "minSize": g["min"], "maxSize": g["max"]},
                "scaleUp": up, "scaleDown": down})
        total = len(self.cluster.nodes)
        candidates = sum(g["candidates"] for g in groups)
        status = {
            "autoscalerStatus": "Running",
            "clusterWide": {
                "health": {**self._cond("health", "Healthy", t), "nodeCounts": counts(total)},
                "scaleUp": self._cond("scaleUp", "InProgress" if any(g["scaling_up"] for g in groups)
                                      else "NoActivity", t),
                "scaleDown": self._cond("scaleDown", "CandidatesPresent" if candidates else "NoCandidates", t,
                                        **({"candidates": candidates} if candidates else {}))},
            "nodeGroups": node_groups,
        }
        signature = _without_probe_times(status)  # compared as data: dumping YAML every loop cost 70 ms
        if signature == self._written:
            return
        self._written = signature
        status["time"] = go_time(t)
        text = yaml.safe_dump(status, sort_keys=True)

        def mutate(cm):
            cm.setdefault("data", {})["status"] = text
            cm["metadata"].setdefault("annotations", {})[LAST_UPDATED] = go_time(t)
        self.cluster.store.update("configmaps", STATUS_NAMESPACE, STATUS_NAME, mutate)


def _without_probe_times(value):
    if isinstance(value, dict):
        return {k: _without_probe_times(v) for k, v in value.items() if k != "lastProbeTime"}
    if isinstance(value, list):
        return [_without_probe_times(v) for v in value]
    return value
