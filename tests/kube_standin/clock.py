"""Simulated time for the stand-in cluster model.

The cluster model (scheduler, autoscaler, kubelet, ledger) lives in *simulated*
seconds, so that a working day of autoscaling can be replayed in seconds.  The
HTTP side (watch timeouts, client request timeouts) stays in real time, like a
real API server.

Two clocks share one interface:

* ``FastClock(speed)`` - simulated time runs ``speed`` times faster than real
  time; timers fire on the asyncio loop.
* ``ManualClock()`` - time stands still until a test calls ``advance()``; timers
  then fire in order, each seeing its own due time.  This is what makes ledger
  figures exact in tests.

Timer callbacks receive the simulated time they were due at, so bookkeeping
uses exact due times even when the event loop fires a little late.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import datetime, timezone
from typing import Callable


def rfc3339(t: float) -> str:
    """Format simulated epoch seconds the way Kubernetes does (second precision)."""
    return datetime.fromtimestamp(int(t), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Timer:
    """A cancellable scheduled callback."""

    __slots__ = ("due", "fn", "cancelled", "_handle")

    def __init__(self, due: float, fn: Callable[[float], None]):
        self.due = due
        self.fn = fn
        self.cancelled = False
        self._handle = None

    def cancel(self) -> None:
        self.cancelled = True
        if self._handle is not None:
            self._handle.cancel()


class FastClock:
    """Simulated time running ``speed`` times faster than the event loop's clock."""

    def __init__(self, speed: float = 1.0, start: float | None = None):
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self.start = time.time() if start is None else start
        self._real0 = time.monotonic()

    def now(self) -> float:
        return self.start + (time.monotonic() - self._real0) * self.speed

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed

    def call_at(self, due: float, fn: Callable[[float], None]) -> Timer:
        timer = Timer(due, fn)
        loop = asyncio.get_running_loop()
        delay = max(0.0, (due - self.now()) / self.speed)

        def fire():
            if not timer.cancelled:
                timer.fn(timer.due)

        timer._handle = loop.call_later(delay, fire)
        return timer

    def call_later(self, seconds: float, fn: Callable[[float], None]) -> Timer:
        return self.call_at(self.now() + seconds, fn)

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(max(0.0, sim_seconds / self.speed))


class ManualClock:
    """Simulated time that only moves when told to (deterministic tests).

    Timers already due (e.g. "schedule this pod now") run on the next turn of the
    event loop, so API requests stay asynchronous as with a real cluster; later
    timers wait for ``advance()``.
    """

    speed = None

    def __init__(self, start: float = 1_800_000_000.0):
        self.start = start
        self._now = start
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._pump_scheduled = False

    def now(self) -> float:
        return self._now

    def real_seconds(self, sim_seconds: float) -> float:
        return 0.0

    def call_at(self, due: float, fn: Callable[[float], None]) -> Timer:
        timer = Timer(max(due, self._now), fn)
        heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
        if timer.due <= self._now and not self._pump_scheduled:
            self._pump_scheduled = True
            asyncio.get_running_loop().call_soon(self._pump)
        return timer

    def call_later(self, seconds: float, fn: Callable[[float], None]) -> Timer:
        return self.call_at(self._now + seconds, fn)

    def _pump(self, until: float | None = None) -> None:
        self._pump_scheduled = False
        limit = self._now if until is None else until
        while self._heap and self._heap[0][0] <= limit:
            due, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._now = max(self._now, due)
            timer.fn(due)
        self._now = max(self._now, limit)

    async def advance(self, seconds: float) -> None:
        """Move simulated time forward, firing every timer due on the way."""
        if seconds < 0:
            raise ValueError("time does not run backwards")
        await asyncio.sleep(0)
        self._pump(self._now + seconds)
        # let watchers and HTTP handlers see the results
        for _ in range(3):
            await asyncio.sleep(0)

    async def sleep(self, sim_seconds: float) -> None:
        """Wait (in real time) until simulated time has passed ``sim_seconds``."""
        target = self._now + sim_seconds
        while self._now < target:
            await asyncio.sleep(0.001)

    def pending(self) -> list[float]:
        """Due times of timers still waiting (for tests and debugging)."""
        return sorted(t.due for _, _, t in self._heap if not t.cancelled)
