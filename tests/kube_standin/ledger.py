"""Ground truth for the cost model: node time per pool and per node count.

The cost model bills a pool as ``C_vm * sum(n * T_n)`` where ``T_n`` is the time
during which the pool had exactly ``n`` nodes.  The ledger records every change
of a pool's node count at the simulated instant it happened and integrates.

A node counts from the moment the autoscaler asks Azure for the VM (billing
starts at allocation, not when the kubelet reports Ready) until it is deleted.
"""

from __future__ import annotations

from collections import defaultdict


class Ledger:
    def __init__(self, start: float):
        self.start = start
        self._count: dict[str, int] = {}
        self._since: dict[str, float] = {}
        self._totals: dict[str, defaultdict[int, float]] = {}
        self.changes: list[tuple[float, str, int]] = []

    def add_pool(self, pool: str, count: int, t: float | None = None) -> None:
        t = self.start if t is None else t
        self._count[pool] = count
        self._since[pool] = t
        self._totals[pool] = defaultdict(float)
        self.changes.append((t, pool, count))

    def count(self, pool: str) -> int:
        return self._count[pool]

    def set_count(self, pool: str, count: int, t: float) -> None:
        if count < 0:
            raise ValueError(f"negative node count for pool {pool}")
        # the fast clock can fire a timer slightly late: never integrate backwards
        t = max(t, self._since[pool])
        self._totals[pool][self._count[pool]] += t - self._since[pool]
        self._count[pool] = count
        self._since[pool] = t
        self.changes.append((t, pool, count))

    def seconds(self, pool: str, at: float) -> dict[int, float]:
        """``{n: seconds with n nodes}`` for ``pool`` up to simulated time ``at``."""
        out = dict(self._totals[pool])
        open_n = self._count[pool]
        out[open_n] = out.get(open_n, 0.0) + max(0.0, at - self._since[pool])
        return {n: s for n, s in sorted(out.items()) if s > 0}

    def node_seconds(self, pool: str, at: float) -> float:
        """``sum(n * T_n)`` in seconds."""
        return sum(n * s for n, s in self.seconds(pool, at).items())

    def report(self, at: float) -> dict:
        """JSON-ready summary: T_n in hours per pool, and node-hours."""
        pools = {}
        for pool in self._count:
            secs = self.seconds(pool, at)
            pools[pool] = {
                "nodes": self._count[pool],
                "T_n_hours": {str(n): s / 3600 for n, s in secs.items()},
                "node_hours": sum(n * s for n, s in secs.items()) / 3600,
            }
        return {"from": self.start, "to": at, "pools": pools}
