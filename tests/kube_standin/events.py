"""Events as the real components record them and as the API server keeps them (a test double).

* core/v1 recorders (kubelet, cluster-autoscaler; client-go tools/record): an identical event
  (same source, object, type, reason, message) is counted on the Event already written
  (``count``, ``lastTimestamp``: events_cache.go eventLogger).
* the scheduler records events.k8s.io/v1 Events (client-go tools/events, event_recorder.go and
  event_broadcaster.go; kube-scheduler's reportingController "default-scheduler", action
  "Scheduling" for FailedScheduling and "Binding" for Scheduled): ``eventTime`` set, no
  first/last timestamp nor count; an isomorphic event (same type, action, reason, controller,
  instance and object reference - the note is not part of the key) within 6 minutes becomes a
  series: the second occurrence patches ``series: {count: 2, lastObservedTime}`` at once, later
  ones are counted in the recorder and written when the series has been quiet for 6 minutes
  (finishSeries) or every 30 minutes (refreshExistingEventSeries).  Read through core/v1 (all the
  stand-in serves), the API server's conversion (pkg/apis/events/v1/conversion.go) shows
  ``message`` = note, ``firstTimestamp``/``lastTimestamp`` null, no ``count``, ``source: {}``.
* the API server keeps an Event ``event_ttl_seconds`` (kube-apiserver --event-ttl, default 1h)
  after its last write (pkg/registry/core/event/storage/storage.go: TTLFunc on create and update,
  an etcd lease); it then disappears from lists and watches get DELETED, as etcd reports the
  expired key deleted.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from .clock import rfc3339

SCHEDULER = "default-scheduler"
SCHEDULER_INSTANCE = "default-scheduler-standin"
FINISH_SECONDS = 6 * 60  # event_broadcaster.go finishTime
REFRESH_SECONDS = 30 * 60  # event_broadcaster.go refreshTime


def micro_time(t: float) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds."""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reference(obj: dict, field_path: str | None = None) -> dict:
    meta = obj["metadata"]
    ref = {"kind": obj["kind"], "namespace": meta.get("namespace"), "name": meta["name"], "uid": meta["uid"],
           "apiVersion": "v1", "resourceVersion": meta["resourceVersion"]}
    return {**ref, "fieldPath": field_path} if field_path else ref


class Events:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.clock = cluster.clock
        self.ttl = cluster.config.event_ttl_seconds
        self._core: dict[tuple, str] = {}  # core/v1 recorders: (uid, reason, message) -> event name
        self._series: dict[tuple, dict] = {}  # scheduler: isomorphic key -> cache entry
        self._expiry: dict[tuple[str, str], object] = {}

    # ------------------------------------------------------------------ API server side
    def _written(self, namespace: str, name: str, t: float) -> None:
        """The Event was created or updated: its lease runs ``ttl`` from now."""
        old = self._expiry.pop((namespace, name), None)
        if old is not None:
            old.cancel()

        def expire(_due):
            self._expiry.pop((namespace, name), None)
            if self.store.find("events", namespace, name) is not None:
                self.store.delete("events", namespace, name)
        self._expiry[(namespace, name)] = self.clock.call_at(t + self.ttl, expire)

    # ------------------------------------------------------------------ core/v1 recorders
    def core(self, obj: dict, reason: str, message: str, type_: str, component: str, host: str | None,
             t: float, field_path: str | None = None) -> None:
        """``field_path``: the container an event is about (``spec.containers{notebook}``), as the kubelet sets it."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        when = rfc3339(t)
        key = (meta["uid"], component, field_path, type_, reason, message)
        existing = self._core.get(key)
        if existing is not None and self.store.find("events", namespace, existing) is not None:
            def bump(e):
                e["count"] = e.get("count", 1) + 1
                e["lastTimestamp"] = when
            self.store.update("events", namespace, existing, bump)
            self._written(namespace, existing, t)
            return
        source = {"component": component}
        if host:
            source["host"] = host
        name = f"{meta['name']}.{secrets.token_hex(8)}"
        self._core[key] = name
        self.store.create("events", namespace, {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": reference(obj, field_path),
            "reason": reason, "message": message, "type": type_, "source": source,
            "firstTimestamp": when, "lastTimestamp": when, "count": 1,
            "reportingComponent": component, "reportingInstance": host or "",
        })
        self._written(namespace, name, t)

    # ------------------------------------------------------------------ the scheduler (events.k8s.io/v1)
    def scheduler(self, pod: dict, type_: str, reason: str, action: str, note: str, t: float) -> None:
        ref = reference(pod)
        key = (type_, action, reason, SCHEDULER, SCHEDULER_INSTANCE, tuple(sorted(ref.items())))
        entry = self._series.get(key)
        if entry is not None and entry["series"] is None and t - entry["at"] >= FINISH_SECONDS:
            entry = None  # finishSeries dropped the singleton from the cache
        if entry is None:
            namespace = ref["namespace"] or "default"
            name = f"{ref['name']}.{secrets.token_hex(8)}"
            self.store.create("events", namespace, {
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": ref, "reason": reason, "message": note, "type": type_, "action": action,
                "source": {}, "firstTimestamp": None, "lastTimestamp": None, "eventTime": micro_time(t),
                "reportingComponent": SCHEDULER, "reportingInstance": SCHEDULER_INSTANCE,
            })
            self._written(namespace, name, t)
            self._series[key] = {"namespace": namespace, "name": name, "at": t, "series": None, "timer": None,
                                 "written": t}
            return
        if entry["series"] is None:
            entry["series"] = {"count": 2, "lastObservedTime": micro_time(t)}
            self._write_series(entry, t)
        else:
            entry["series"] = {"count": entry["series"]["count"] + 1, "lastObservedTime": micro_time(t)}
        entry["observed"] = t
        if entry["timer"] is not None:
            entry["timer"].cancel()
        due = min(t + FINISH_SECONDS, entry["written"] + REFRESH_SECONDS)
        entry["timer"] = self.clock.call_at(due, lambda d, k=key: self._flush(k, d))

    def _write_series(self, entry: dict, t: float) -> None:
        if self.store.find("events", entry["namespace"], entry["name"]) is None:
            return  # expired: the real recorder would create it again on its next write
        series = dict(entry["series"])
        self.store.update("events", entry["namespace"], entry["name"], lambda e: e.__setitem__("series", series))
        self._written(entry["namespace"], entry["name"], t)
        entry["written"] = t

    def _flush(self, key: tuple, t: float) -> None:
        entry = self._series.get(key)
        if entry is None:
            return
        entry["timer"] = None
        self._write_series(entry, t)
        if t - entry["observed"] >= FINISH_SECONDS:
            del self._series[key]  # the series is over
        else:
            entry["timer"] = self.clock.call_at(min(entry["observed"] + FINISH_SECONDS, t + REFRESH_SECONDS),
                                                lambda d, k=key: self._flush(k, d))


# pkg/apis/events/v1/conversion.go Convert_core_Event_To_v1_Event: the same stored Event, other field names
_TO_V1 = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
          "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
          "count": "deprecatedCount", "reportingComponent": "reportingController"}


def to_events_v1(event: dict) -> dict:
    """A stored (core/v1) Event as ``events.k8s.io/v1`` serves it; empty deprecated fields are omitted."""
    out = {}
    for key, value in event.items():
        name = _TO_V1.get(key, key)
        if name.startswith("deprecated") and not value:
            continue
        out[name] = value
    out.setdefault("eventTime", None)  # metav1.MicroTime zero: null (core/v1 recorders set none)
    if "kind" in out:
        out["apiVersion"] = "events.k8s.io/v1"
    return out
