"""Object storage with etcd-like resourceVersions and watch fan-out.

* One global, monotonically increasing resourceVersion, as etcd's revision.
* A bounded history of changes serves watches that start from a given
  resourceVersion; a watch from before the oldest kept change gets 410 Gone
  (``compact()`` drops the history on purpose, for tests).
* Objects are never mutated in place: an update stores a new dict, so history
  entries and watch queues can share them safely.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Callable

from .clock import rfc3339
from .errors import ApiError, already_exists, gone, not_found


@dataclass(frozen=True)
class ResourceType:
    plural: str
    kind: str
    namespaced: bool
    short: str  # the resource used in messages ("pods" -> 'pods "x" not found')
    api_version: str = "v1"  # the group/version that serves it


RESOURCES = {
    r.plural: r
    for r in [
        ResourceType("namespaces", "Namespace", False, "namespaces"),
        ResourceType("nodes", "Node", False, "nodes"),
        ResourceType("pods", "Pod", True, "pods"),
        ResourceType("persistentvolumeclaims", "PersistentVolumeClaim", True, "persistentvolumeclaims"),
        ResourceType("services", "Service", True, "services"),
        ResourceType("secrets", "Secret", True, "secrets"),
        ResourceType("configmaps", "ConfigMap", True, "configmaps"),
        ResourceType("events", "Event", True, "events"),
        ResourceType("priorityclasses", "PriorityClass", False, "priorityclasses.scheduling.k8s.io",
                     "scheduling.k8s.io/v1"),
        ResourceType("daemonsets", "DaemonSet", True, "daemonsets.apps", "apps/v1"),
    ]
}


@dataclass(frozen=True)
class Change:
    rv: int
    plural: str
    type: str  # ADDED / MODIFIED / DELETED
    obj: dict
    old: dict | None


class Watcher:
    """A subscription; the API server turns its queue into a watch stream."""

    def __init__(self, store: "Store", plural: str, namespace: str | None):
        self.store = store
        self.plural = plural
        self.namespace = namespace
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue()  # None: end the stream

    def close(self) -> None:
        self.store._watchers.discard(self)


class Store:
    def __init__(self, clock, history: int = 10_000):
        self.clock = clock
        self.rv = 0
        self._objects: dict[tuple[str, str, str], dict] = {}
        self._history: deque[Change] = deque(maxlen=history)
        self._oldest_rv = 0  # watches from rv >= this can be served
        self._watchers: set[Watcher] = set()
        self.on_delete: list[Callable[[dict], None]] = []  # controllers (garbage collector)

    # ------------------------------------------------------------------ helpers
    def _key(self, plural: str, namespace: str | None, name: str):
        return (plural, namespace or "", name)

    def _commit(self, plural: str, type_: str, obj: dict, old: dict | None) -> None:
        change = Change(self.rv, plural, type_, obj, old)
        if len(self._history) == self._history.maxlen:
            self._oldest_rv = self._history[0].rv
        self._history.append(change)
        ns = obj["metadata"].get("namespace")
        for w in list(self._watchers):
            if w.plural == plural and (w.namespace is None or w.namespace == ns):
                w.queue.put_nowait(change)

    def _next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    # ------------------------------------------------------------------ reads
    def get(self, plural: str, namespace: str | None, name: str) -> dict:
        obj = self._objects.get(self._key(plural, namespace, name))
        if obj is None:
            raise not_found(RESOURCES[plural].short, name)
        return obj

    def find(self, plural: str, namespace: str | None, name: str) -> dict | None:
        return self._objects.get(self._key(plural, namespace, name))

    def list(self, plural: str, namespace: str | None = None,
             predicate: Callable[[dict], bool] | None = None) -> list[dict]:
        out = []
        for (p, ns, _), obj in self._objects.items():
            if p != plural or (namespace is not None and ns != namespace):
                continue
            if predicate is None or predicate(obj):
                out.append(obj)
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    # ------------------------------------------------------------------ writes
    def create(self, plural: str, namespace: str | None, obj: dict) -> dict:
        rtype = RESOURCES[plural]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if rtype.namespaced:
            if meta.get("namespace") not in (None, namespace):
                raise ApiError(400, "BadRequest",
                               "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
            if self.find("namespaces", None, namespace) is None:
                raise not_found("namespaces", namespace)
            ns_obj = self.get("namespaces", None, namespace)
            if ns_obj.get("status", {}).get("phase") == "Terminating":
                raise ApiError(403, "Forbidden",
                               f'{rtype.short} "{meta.get("name", "")}" is forbidden: unable to create new content '
                               f'in namespace {namespace} because it is being terminated')
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise ApiError(422, "Invalid", f"{rtype.kind} \"\" is invalid: metadata.name: "
                               "Required value: name or generateName is required")
            meta["name"] = prefix + secrets.token_hex(3)[:5]
        key = self._key(plural, namespace if rtype.namespaced else None, meta["name"])
        if key in self._objects:
            raise already_exists(rtype.short, meta["name"])
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        meta["resourceVersion"] = self._next_rv()
        obj["apiVersion"] = rtype.api_version
        obj["kind"] = rtype.kind
        self._objects[key] = obj
        self._commit(plural, "ADDED", obj, None)
        return obj

    def replace(self, plural: str, namespace: str | None, name: str, new: dict) -> dict:
        """Store ``new`` as the next version of an object (server-owned metadata kept)."""
        old = self.get(plural, namespace, name)
        new = copy.deepcopy(new)
        meta = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "name", "namespace"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
        if "deletionTimestamp" in old["metadata"]:
            meta["deletionTimestamp"] = old["metadata"]["deletionTimestamp"]
            meta["deletionGracePeriodSeconds"] = old["metadata"].get("deletionGracePeriodSeconds")
        meta["resourceVersion"] = self._next_rv()
        new["apiVersion"] = old["apiVersion"]
        new["kind"] = old["kind"]
        self._objects[self._key(plural, namespace, name)] = new
        self._commit(plural, "MODIFIED", new, old)
        return new

    def update(self, plural: str, namespace: str | None, name: str,
               mutate: Callable[[dict], None]) -> dict:
        """Internal (cluster model) update: ``mutate`` edits a private copy."""
        old = self.get(plural, namespace, name)
        new = copy.deepcopy(old)
        mutate(new)
        new["metadata"]["resourceVersion"] = self._next_rv()
        self._objects[self._key(plural, namespace, name)] = new
        self._commit(plural, "MODIFIED", new, old)
        return new

    def delete(self, plural: str, namespace: str | None, name: str) -> dict:
        old = self.get(plural, namespace, name)
        del self._objects[self._key(plural, namespace, name)]
        gone_obj = copy.deepcopy(old)
        gone_obj["metadata"]["resourceVersion"] = self._next_rv()
        self._commit(plural, "DELETED", gone_obj, old)
        for hook in self.on_delete:
            hook(gone_obj)
        return gone_obj

    # ------------------------------------------------------------------ watch
    def watch(self, plural: str, namespace: str | None, since_rv: int | None) -> tuple[Watcher, list[Change]]:
        """Subscribe; returns the watcher and the history after ``since_rv``.

        ``since_rv=None`` means "from now" (the caller sends synthetic ADDED
        events for the current state).  Raises 410 Gone when history that old
        has been compacted away.
        """
        backlog: list[Change] = []
        if since_rv is not None:
            if since_rv < self._oldest_rv:
                raise gone(f"too old resource version: {since_rv} ({self._oldest_rv + 1})")
            backlog = [c for c in self._history if c.rv > since_rv and c.plural == plural
                       and (namespace is None or c.obj["metadata"].get("namespace") == namespace)]
        w = Watcher(self, plural, namespace)
        self._watchers.add(w)
        return w, backlog

    def compact(self) -> None:
        """Forget all history, as etcd compaction does: older watches get 410."""
        self._history.clear()
        self._oldest_rv = self.rv

    def close_watches(self) -> None:
        """Tell every open watch to end (server shutdown)."""
        for w in list(self._watchers):
            w.queue.put_nowait(None)

    def watcher_count(self) -> int:
        return len(self._watchers)
