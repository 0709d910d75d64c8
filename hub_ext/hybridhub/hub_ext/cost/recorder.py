"""The seam for the cost service: node and server events in, figures out — pure state.

A hub service (to be written: it watches the Kubernetes nodes and polls the hub's servers) feeds a
:class:`CostRecorder`:

* ``node_up(at, pool, node)`` / ``node_down(at, pool, node)`` — from the node watch (pool from the
  ``agentpool`` label; ``at`` = creationTimestamp for ADDED, the deletion time for DELETED);
  after a reconnect, ``resync_nodes(at, {node: pool})`` with the full listing;
* ``server_started(at, user, server_name, profile, node)`` / ``server_stopped(at, user, server_name)``
  — from the hub's server list (the pod's ``spec.nodeName`` tells the node);

and asks :meth:`CostRecorder.report` for month-to-date cost, the projection, the budget status and
the split per pool, profile and user.  :meth:`to_dict` / :meth:`from_dict` plus :mod:`.store` make
it survive a hub restart.  Nothing here does I/O or knows JupyterHub or Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Mapping

from .attribution import Attribution, ServerSession, attribute
from .budget import FixedCosts, check_budget, month_to_date, project
from .ledger import HOUR, NodeLedger, NodeObservation, reconcile
from .money import exact_str

MESSAGES = {
    "bad_state": "not a cost recorder state: {reason}",
}

# Nodes being provisioned are kept in the ledger under a placeholder name that no Kubernetes node
# can have ("~" is not allowed in a node name) until the VM joins and the placeholder is renamed.
PROVISIONING = "~provisioning~"


def is_placeholder(node: str) -> bool:
    return node.startswith(PROVISIONING)


def _key(user: str, server_name: str) -> tuple[str, str]:
    return (user, server_name)


@dataclass
class CostRecorder:
    prices: dict[str, Fraction]  # pool -> price per node-hour (also fixes the pools' order)
    fixed: FixedCosts = field(default_factory=FixedCosts)
    ledger: NodeLedger = field(default_factory=NodeLedger)
    running: dict[tuple[str, str], ServerSession] = field(default_factory=dict)
    finished: list[ServerSession] = field(default_factory=list)

    # -- node events
    def node_up(self, at: int, pool: str, node: str) -> None:
        self.ledger.observe(NodeObservation(at, pool, node, True))

    def node_down(self, at: int, pool: str, node: str) -> None:
        self.ledger.observe(NodeObservation(at, pool, node, False))

    def resync_nodes(self, at: int, listing: Mapping[str, str]) -> None:
        """Bring the nodes in line with a full listing at ``at``; provisioning placeholders stay."""
        keep = {node: pool for node, pool in self.ledger.up_nodes().items() if is_placeholder(node)}
        self.ledger.observe_all(reconcile(self.ledger, at, {**listing, **keep}))

    # -- what a service sees on a live cluster (times may lag: they are clamped, never rejected)
    def clamp(self, at: int) -> int:
        """``at``, or the last observation's time if that is later (the ledger never goes back)."""
        last = self.ledger.last_at
        return at if last is None else max(at, last)

    def scale_up(self, at: int, pool: str, count: int = 1) -> list[str]:
        """The autoscaler asked for ``count`` more VMs of ``pool``: they are billed from now."""
        at = self.clamp(at)
        names = []
        for _ in range(count):
            k = 0
            while f"{PROVISIONING}{pool}~{at}~{k}" in self.ledger.up_nodes():
                k += 1
            names.append(f"{PROVISIONING}{pool}~{at}~{k}")
            self.node_up(at, pool, names[-1])
        return names

    def provisioning(self) -> dict[str, tuple[str, int]]:
        """``{placeholder: (pool, since)}`` for the VMs asked for that have not joined yet."""
        return {node: (pool, self.ledger.since(node)) for node, pool in self.ledger.up_nodes().items()
                if is_placeholder(node)}

    def node_joined(self, created: int, pool: str, node: str) -> str:
        """A node object appeared (``created`` = its creationTimestamp).  It takes over the oldest
        placeholder of its pool asked for no later than ``created`` (returns "placeholder");
        without one it counts from ``created``, clamped ("new"); "known" if it is already up."""
        if node in self.ledger.up_nodes():
            return "known"
        waiting = sorted((since, name) for name, (p, since) in self.provisioning().items()
                         if p == pool and since <= created)
        if waiting:
            self.ledger.rename(waiting[0][1], node)
            return "placeholder"
        self.node_up(self.clamp(created), pool, node)
        return "new"

    def node_left(self, at: int, pool: str, node: str) -> None:
        self.node_down(self.clamp(at), pool, node)

    def expire_provisioning(self, now: int, max_age: int) -> list[str]:
        """Forget placeholders older than ``max_age`` µs: a scale-up that never got a VM costs nothing."""
        old = [name for name, (_, since) in self.provisioning().items() if since <= now - max_age]
        for name in old:
            self.ledger.cancel(name)
        return old

    def resync(self, at: int, listing: Mapping[str, tuple[str, int]], left_at: Mapping[str, int] | None = None) -> None:
        """A full listing ``{node: (pool, created)}`` at ``at``: nodes gone went down at
        ``left_at[node]`` (e.g. the autoscaler's ScaleDown event) or at ``at``; new nodes joined,
        in time order."""
        left_at = left_at or {}
        steps = [(min(left_at.get(node, at), at), 0, node, pool)
                 for node, pool in self.ledger.up_nodes().items()
                 if node not in listing and not is_placeholder(node)]
        steps += [(created, 1, node, pool) for node, (pool, created) in listing.items()
                  if node not in self.ledger.up_nodes()]
        for t, joined, node, pool in sorted(steps):
            if joined:
                self.node_joined(t, pool, node)
            else:
                self.node_left(t, pool, node)

    def prune(self, before: int) -> None:
        """Forget node intervals and server sessions that ended at or before ``before``."""
        self.ledger.prune(before)
        self.finished = [s for s in self.finished if s.stop is None or s.stop > before]

    # -- server events
    def server_started(self, at: int, user: str, server_name: str, profile: str, node: str,
                       weight: Fraction = Fraction(1)) -> None:
        """Idempotent for a server already running on the same node; a move closes the old session."""
        key = _key(user, server_name)
        current = self.running.get(key)
        if current is not None:
            if current.node == node and current.profile == profile:
                return
            self.server_stopped(at, user, server_name)
        self.running[key] = ServerSession(user, profile, node, at, None, Fraction(weight), server_name)

    def server_stopped(self, at: int, user: str, server_name: str) -> None:
        session = self.running.pop(_key(user, server_name), None)
        if session is not None:
            self.finished.append(replace(session, stop=max(at, session.start)))

    def sessions(self) -> list[ServerSession]:
        return [*self.finished, *self.running.values()]

    # -- figures
    def attribution(self, start: int, end: int) -> Attribution:
        prices = dict(self.prices)
        for iv in self.ledger.intervals():
            prices.setdefault(iv.pool, Fraction(0))
        return attribute(self.ledger.intervals(), self.sessions(), prices, start, end)

    def report(self, month_start: int, month_end: int, now: int, budget: Fraction,
               warn_percent: Fraction = Fraction(80)) -> dict:
        """JSON-ready figures for the month ``[month_start, month_end)`` as of ``now``."""
        mtd = month_to_date(self.ledger.intervals(), self.prices, self.fixed, month_start, month_end, now)
        projection = project(mtd, Fraction(month_end - month_start, HOUR), self.fixed)
        status = check_budget(projection.total, budget, warn_percent, spent=mtd.total)
        split = self.attribution(month_start, now)

        def amounts(mapping: Mapping) -> dict[str, str]:
            return {("(idle)" if k is None else k): exact_str(v, 6) for k, v in mapping.items()}

        return {
            "currency": self.fixed.currency,
            "month_to_date": {"total": exact_str(mtd.total, 6),
                              "terms": {t.key if t.kind != "node_pools" else t.label: exact_str(t.amount, 6)
                                        for t in mtd.terms},
                              "hours_at_node_count": {p.name: [exact_str(t, 6) for t in p.hours_at_node_count]
                                                      for p in mtd.input.pools}},
            "projection": {"total": exact_str(projection.total, 6)},
            "budget": {"amount": exact_str(status.budget, 6), "level": status.level,
                       "projected_percent": exact_str(status.projected_percent, 2)},
            "by_pool": amounts(split.by_pool()),
            "by_profile": amounts(split.by_profile()),
            "by_user": amounts(split.by_user()),
        }

    # -- persistence (plain JSON types; exact numbers as "n/d" strings)
    def to_dict(self) -> dict:
        def session(s: ServerSession) -> list:
            return [s.user, s.server_name, s.profile, s.node, s.start, s.stop, str(s.weight)]

        return {
            "prices": {pool: str(price) for pool, price in self.prices.items()},
            "fixed": {"lb_price_per_hour": str(self.fixed.lb_price_per_hour),
                      "public_ip_price_per_hour": str(self.fixed.public_ip_price_per_hour),
                      "public_ips": self.fixed.public_ips,
                      "other_per_month": str(self.fixed.other_per_month),
                      "currency": self.fixed.currency},
            "ledger": self.ledger.to_dict(),
            "running": [session(s) for s in self.running.values()],
            "finished": [session(s) for s in self.finished],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> CostRecorder:
        def session(row: list) -> ServerSession:
            user, server_name, profile, node, start, stop, weight = row
            return ServerSession(user, profile, node, int(start), None if stop is None else int(stop),
                                 Fraction(weight), server_name)

        try:
            fixed = data["fixed"]
            running = [session(r) for r in data["running"]]
            return cls(
                prices={pool: Fraction(price) for pool, price in data["prices"].items()},
                fixed=FixedCosts(Fraction(fixed["lb_price_per_hour"]), Fraction(fixed["public_ip_price_per_hour"]),
                                 int(fixed["public_ips"]), Fraction(fixed["other_per_month"]), fixed["currency"]),
                ledger=NodeLedger.from_dict(data["ledger"]),
                running={_key(s.user, s.server_name): s for s in running},
                finished=[session(r) for r in data["finished"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(MESSAGES["bad_state"].format(reason=exc)) from None
