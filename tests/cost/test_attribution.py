"""A node's time shared among the servers on it; idle time on its own line; sums back exactly."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from hybridhub.hub_ext.cost.attribution import AttributionError, ServerSession, attribute
from hybridhub.hub_ext.cost.ledger import HOUR, NodeInterval, node_hours

pytestmark = pytest.mark.cost

PRICES = {"cpu": F("11.52"), "gpu": F("74.7")}


def h(x) -> int:
    return int(F(x) * HOUR)


NODES = [
    NodeInterval("gpu", "g1", h(0), h(10)),
    NodeInterval("cpu", "c1", h(0), None),
]


def test_shares_and_idle_line():
    sessions = [
        ServerSession("alice", "gpu-small", "g1", h(1), h(5)),
        ServerSession("bob", "gpu-small", "g1", h(3), h(7)),
        ServerSession("carol", "cpu", "c1", h(0), None),
    ]
    result = attribute(NODES, sessions, PRICES, h(0), h(10))
    # g1: idle 0–1, alice 1–3, alice+bob 3–5 (half each), bob 5–7, idle 7–10
    lines = {(line.pool, line.user): line.node_hours for line in result.lines}
    assert lines == {("gpu", "alice"): 3, ("gpu", "bob"): 3, ("gpu", None): 4, ("cpu", "carol"): 10}
    assert result.by_user() == {"alice": 3 * PRICES["gpu"], "bob": 3 * PRICES["gpu"],
                                None: 4 * PRICES["gpu"], "carol": 10 * PRICES["cpu"]}
    assert result.by_profile() == {"gpu-small": 6 * PRICES["gpu"], None: 4 * PRICES["gpu"],
                                   "cpu": 10 * PRICES["cpu"]}
    assert result.idle_by_pool() == {"gpu": 4 * PRICES["gpu"]}
    assert [line.user for line in result.lines if line.pool == "gpu"] == ["alice", "bob", None]


def test_sums_back_to_node_cost_exactly():
    """Awkward thirds and sevenths: still exact."""
    sessions = [ServerSession(f"u{i}", f"p{i % 2}", "g1", h(F(i, 7)), h(F(i, 7) + F(10, 3))) for i in range(20)]
    sessions += [ServerSession("w", "heavy", "c1", h("0.3"), h("4.1"), weight=F(3))]
    sessions += [ServerSession("x", "light", "c1", h("1.9"), h("8.8"))]
    result = attribute(NODES, sessions, PRICES, h(0), h(9))
    hours = node_hours(NODES, h(0), h(9))
    assert result.by_pool() == {pool: PRICES[pool] * hours[pool] for pool in hours}
    assert result.node_hours == sum(hours.values())
    assert result.total == sum(PRICES[p] * hours[p] for p in hours)


def test_weights_split_in_proportion():
    sessions = [ServerSession("a", "big", "g1", h(0), h(10), weight=F(3)),
                ServerSession("b", "small", "g1", h(0), h(10))]
    result = attribute(NODES[:1], sessions, PRICES, h(0), h(10))
    assert {line.user: line.node_hours for line in result.lines} == {"a": F("7.5"), "b": F("2.5")}


def test_same_user_two_servers_one_line():
    sessions = [ServerSession("a", "p", "g1", h(0), h(4), server_name=""),
                ServerSession("a", "p", "g1", h(2), h(6), server_name="second"),
                ServerSession("b", "p", "g1", h(2), h(4))]
    result = attribute(NODES[:1], sessions, PRICES, h(0), h(10))
    # 0–2 a alone; 2–4 a (weight 2) and b (1); 4–6 a alone; 6–10 idle
    assert {line.user: line.node_hours for line in result.lines} == {"a": 2 + F(4, 3) + 2, "b": F(2, 3), None: 4}


def test_sessions_outside_node_life_and_window_cost_nothing():
    sessions = [ServerSession("early", "p", "g1", h(-5), h(1)),     # before the window: 0–1 counts
                ServerSession("ghost", "p", "nowhere", h(0), h(10)),  # its node is not in the ledger
                ServerSession("late", "p", "g1", h(12), None)]       # after g1 went down
    result = attribute(NODES[:1], sessions, PRICES, h(0), h(10))
    assert {line.user: line.node_hours for line in result.lines} == {"early": 1, None: 9}


def test_errors():
    with pytest.raises(AttributionError, match="no price per hour for pool 'gpu'"):
        attribute(NODES[:1], [], {"cpu": F(1)}, h(0), h(1))
    with pytest.raises(AttributionError, match="weight must be positive"):
        attribute(NODES, [ServerSession("a", "p", "g1", 0, 1, weight=F(0))], PRICES, h(0), h(1))
    with pytest.raises(AttributionError, match="stops"):
        attribute(NODES, [ServerSession("a", "p", "g1", 5, 1)], PRICES, h(0), h(1))
