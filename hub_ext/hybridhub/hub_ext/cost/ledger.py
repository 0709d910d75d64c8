"""Node time, measured: from a time-ordered series of node observations to T_n and node-hours.

A *node observation* says "node X of pool P is up (or down) at time t".  The ledger keeps one
interval per node lifetime (``start`` → ``end``, ``end`` None while the node is up).  Everything
else is derived from the intervals for any window — a month, a day — by a sweep:

* ``T_n`` (hours the pool spent with exactly ``n`` nodes up), the input of the reference model;
* node-hours per pool, which equal ``Σ n·T_n`` exactly.

Times are integers: microseconds since the Unix epoch (:func:`to_micros` converts aware datetimes),
so every sum is exact; hours are :class:`~fractions.Fraction` of ``HOUR`` microseconds.

Observations are idempotent (a second "up" for a node already up, or a "down" for a node not up,
changes nothing), which is what a Kubernetes list + watch produces after a reconnect; use
:func:`reconcile` to turn a fresh full listing into the observations that bring the ledger in
line with it.  Observations must not go back in time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Iterable, Iterator, Mapping

HOUR = 3_600_000_000  # microseconds
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)

MESSAGES = {
    "naive": "timestamp {value!r} has no time zone; use an aware datetime (UTC)",
    "bad_time": "a timestamp must be an int (microseconds since the epoch) or an aware datetime, got {type}",
    "out_of_order": "observation at {at} is earlier than the previous one at {last}; sort the series first",
    "moved": "node {node!r} is up in pool {old!r} and was observed up in pool {new!r}",
    "bad_window": "window end {end} is before its start {start}",
    "bad_state": "not a node ledger state: {reason}",
    "not_up": "node {node!r} is not up",
    "taken": "node {node!r} is already up",
}


class LedgerError(ValueError):
    pass


def to_micros(value: datetime | int) -> int:
    """Microseconds since the Unix epoch, from an int (as is) or an aware datetime."""
    if isinstance(value, bool):
        raise TypeError(MESSAGES["bad_time"].format(type="bool"))
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(MESSAGES["naive"].format(value=value))
        return (value - EPOCH) // MICROSECOND
    raise TypeError(MESSAGES["bad_time"].format(type=type(value).__name__))


def hours(micros: int | Fraction) -> Fraction:
    return Fraction(micros) / HOUR


@dataclass(frozen=True)
class NodeObservation:
    at: int  # microseconds since the epoch
    pool: str
    node: str
    up: bool


@dataclass(frozen=True)
class NodeInterval:
    pool: str
    node: str
    start: int
    end: int | None  # None: still up

    def clipped(self, start: int, end: int) -> tuple[int, int] | None:
        """The part of this interval inside ``[start, end)``, or None if empty."""
        s = max(self.start, start)
        e = end if self.end is None else min(self.end, end)
        return (s, e) if s < e else None


class NodeLedger:
    """Node lifetimes from observations.  Pure state; :meth:`to_dict` makes it JSON-ready."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[str, int]] = {}  # node -> (pool, since)
        self._closed: list[NodeInterval] = []
        self.last_at: int | None = None

    def observe(self, obs: NodeObservation) -> None:
        if self.last_at is not None and obs.at < self.last_at:
            raise LedgerError(MESSAGES["out_of_order"].format(at=obs.at, last=self.last_at))
        self.last_at = obs.at
        current = self._open.get(obs.node)
        if obs.up:
            if current is None:
                self._open[obs.node] = (obs.pool, obs.at)
            elif current[0] != obs.pool:
                raise LedgerError(MESSAGES["moved"].format(node=obs.node, old=current[0], new=obs.pool))
        elif current is not None:
            del self._open[obs.node]
            pool, since = current
            if obs.at > since:
                self._closed.append(NodeInterval(pool, obs.node, since, obs.at))

    def observe_all(self, observations: Iterable[NodeObservation]) -> None:
        for obs in observations:
            self.observe(obs)

    def up_nodes(self) -> dict[str, str]:
        """``{node: pool}`` for the nodes up now."""
        return {node: pool for node, (pool, _) in self._open.items()}

    def rename(self, old: str, new: str) -> None:
        """Give an open node a new name, keeping its pool and start (a provisioning VM that joined)."""
        if old not in self._open:
            raise LedgerError(MESSAGES["not_up"].format(node=old))
        if new in self._open:
            raise LedgerError(MESSAGES["taken"].format(node=new))
        self._open[new] = self._open.pop(old)

    def cancel(self, node: str) -> None:
        """Forget an open node as if it had never been up (a scale-up that never got its VM)."""
        if self._open.pop(node, None) is None:
            raise LedgerError(MESSAGES["not_up"].format(node=node))

    def backdate(self, node: str, start: int) -> None:
        """Move an open node's start earlier (its VM was asked for before the node was seen)."""
        if node not in self._open:
            raise LedgerError(MESSAGES["not_up"].format(node=node))
        pool, since = self._open[node]
        self._open[node] = (pool, min(since, start))

    def since(self, node: str) -> int | None:
        """When an open node came up, or None."""
        entry = self._open.get(node)
        return None if entry is None else entry[1]

    def intervals(self) -> list[NodeInterval]:
        """Closed intervals, then the open ones (``end`` None)."""
        return [*self._closed, *(NodeInterval(p, n, s, None) for n, (p, s) in self._open.items())]

    def prune(self, before: int) -> int:
        """Forget closed intervals that ended at or before ``before``; returns how many."""
        keep = [iv for iv in self._closed if iv.end > before]
        dropped = len(self._closed) - len(keep)
        self._closed = keep
        return dropped

    def to_dict(self) -> dict:
        return {
            "last_at": self.last_at,
            "open": [[node, pool, since] for node, (pool, since) in sorted(self._open.items())],
            "closed": [[iv.pool, iv.node, iv.start, iv.end] for iv in self._closed],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> NodeLedger:
        ledger = cls()
        try:
            ledger.last_at = None if data["last_at"] is None else int(data["last_at"])
            ledger._open = {str(node): (str(pool), int(since)) for node, pool, since in data["open"]}
            ledger._closed = [NodeInterval(str(p), str(n), int(s), int(e)) for p, n, s, e in data["closed"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerError(MESSAGES["bad_state"].format(reason=exc)) from None
        return ledger


def reconcile(ledger: NodeLedger, at: int, listing: Mapping[str, str]) -> list[NodeObservation]:
    """Observations at ``at`` that make the ledger match ``listing`` (``{node: pool}``, all nodes up)."""
    up = ledger.up_nodes()
    out = [NodeObservation(at, pool, node, False) for node, pool in sorted(up.items()) if node not in listing]
    out += [NodeObservation(at, pool, node, True) for node, pool in sorted(listing.items()) if node not in up]
    return out


def _check_window(start: int, end: int) -> None:
    if end < start:
        raise LedgerError(MESSAGES["bad_window"].format(start=start, end=end))


def clipped(intervals: Iterable[NodeInterval], start: int, end: int) -> Iterator[tuple[NodeInterval, int, int]]:
    """``(interval, s, e)`` for each interval's non-empty part inside ``[start, end)``."""
    _check_window(start, end)
    for iv in intervals:
        part = iv.clipped(start, end)
        if part is not None:
            yield iv, part[0], part[1]


def micros_at_node_count(intervals: Iterable[NodeInterval], start: int, end: int,
                         pools: Iterable[str] = ()) -> dict[str, dict[int, int]]:
    """``{pool: {n: microseconds with exactly n nodes up}}`` over ``[start, end)``.

    Each pool's values sum to ``end - start``; pools named in ``pools`` appear even when they had
    no node at all (all time at ``n = 0``).
    """
    deltas: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for pool in pools:
        deltas[pool]  # noqa: B018 - creates the entry
    for iv, s, e in clipped(intervals, start, end):
        d = deltas[iv.pool]
        d[s] += 1
        d[e] -= 1
    out: dict[str, dict[int, int]] = {}
    for pool, d in deltas.items():
        totals: dict[int, int] = defaultdict(int)
        count, prev = 0, start
        for t in sorted(d):
            totals[count] += t - prev
            count += d[t]
            prev = t
        totals[count] += end - prev
        out[pool] = {n: us for n, us in sorted(totals.items()) if us or n == 0}
    return out


def hours_at_node_count(intervals: Iterable[NodeInterval], start: int, end: int,
                        pools: Iterable[str] = ()) -> dict[str, list[Fraction]]:
    """``{pool: [T_0, T_1, ..., T_k]}`` in hours — the model's ``hours_at_node_count``."""
    out = {}
    for pool, by_n in micros_at_node_count(intervals, start, end, pools).items():
        k = max(by_n, default=0)
        out[pool] = [hours(by_n.get(n, 0)) for n in range(k + 1)]
    return out


def node_hours(intervals: Iterable[NodeInterval], start: int, end: int,
               pools: Iterable[str] = ()) -> dict[str, Fraction]:
    """``{pool: node-hours}`` over ``[start, end)`` (equals ``Σ n·T_n``)."""
    out: dict[str, int] = {pool: 0 for pool in pools}
    for iv, s, e in clipped(intervals, start, end):
        out[iv.pool] = out.get(iv.pool, 0) + (e - s)
    return {pool: hours(us) for pool, us in out.items()}
