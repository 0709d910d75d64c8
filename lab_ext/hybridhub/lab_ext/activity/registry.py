"""In-process registry of long-running work that is not a kernel or a terminal.

Other parts of the server extension (storage transfers, pipeline watches) announce their
work here so the culler does not stop a server in the middle of it::

    from hybridhub.lab_ext.activity import registry

    with registry.begin("storage-transfer", "s3://datasets/big.parquet"):
        copy_the_object()            # the server counts as busy until the block exits

    # async code uses the same context manager:
    async def watch(pipeline_id):
        with registry.begin("pipeline-watch", f"pipeline {pipeline_id}"):
            await follow_the_pipeline(pipeline_id)

For work that does not fit a ``with`` block, ``token = registry.start(kind, detail)`` and
``registry.finish(token)``. Kinds are free-form short names; use ``storage-transfer`` and
``pipeline-watch`` so reports stay comparable. Everything is in memory: a restarted server
starts with no work in progress, which is also true of the work itself.
"""

from __future__ import annotations

import itertools
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Work:
    token: int
    kind: str
    detail: str
    started: float  # time.time()


class WorkRegistry:
    """Thread-safe set of work items in progress (transfers may run in worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, Work] = {}
        self._tokens = itertools.count(1)

    def start(self, kind: str, detail: str = "") -> int:
        if not kind:
            raise ValueError("work kind must be a non-empty name such as 'storage-transfer'")
        with self._lock:
            token = next(self._tokens)
            self._items[token] = Work(token, kind, detail, time.time())
        return token

    def finish(self, token: int) -> None:
        with self._lock:
            self._items.pop(token, None)

    @contextmanager
    def begin(self, kind: str, detail: str = "") -> Iterator[int]:
        token = self.start(kind, detail)
        try:
            yield token
        finally:
            self.finish(token)

    def in_progress(self) -> list[Work]:
        with self._lock:
            return sorted(self._items.values(), key=lambda w: w.token)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for work in self.in_progress():
            counts[work.kind] = counts.get(work.kind, 0) + 1
        return counts


REGISTRY = WorkRegistry()
"""The server's one registry; the module-level functions below use it."""

begin = REGISTRY.begin
start = REGISTRY.start
finish = REGISTRY.finish
