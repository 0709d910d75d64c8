"""T_n and node-hours from a scripted series of node observations, exactly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction as F

import pytest

from hybridhub.hub_ext.cost.ledger import (
    HOUR, LedgerError, NodeLedger, NodeObservation, hours_at_node_count, micros_at_node_count, node_hours,
    reconcile, to_micros,
)

pytestmark = pytest.mark.cost

T0 = 1_000 * HOUR  # an arbitrary whole hour


def at(h) -> int:
    """``h`` hours (int or "x.y" string) after T0, in microseconds."""
    return T0 + int(F(h) * HOUR)


def obs(h, pool, node, up=True) -> NodeObservation:
    return NodeObservation(at(h), pool, node, up)


# gpu: 0 nodes until 2 h, 1 node 2–5 h, 2 nodes 5–5.5 h, 1 node 5.5–9 h, 0 after 9 h (window 0–10 h)
# cpu: 1 node all along (up before the window), a 2nd node 3–4 h, re-observed (idempotent) at 6 h
SERIES = [
    NodeObservation(T0 - HOUR, "cpu", "cpu-0", True),
    obs(2, "gpu", "gpu-a"),
    obs(3, "cpu", "cpu-1"),
    obs(4, "cpu", "cpu-1", False),
    obs(5, "gpu", "gpu-b"),
    obs("5.5", "gpu", "gpu-a", False),
    obs(6, "cpu", "cpu-0"),
    obs(7, "gpu", "gpu-zzz", False),  # down for a node never seen: ignored
    obs(9, "gpu", "gpu-b", False),
]


def ledger_of(series) -> NodeLedger:
    ledger = NodeLedger()
    ledger.observe_all(series)
    return ledger


def test_t_n_exact():
    ivs = ledger_of(SERIES).intervals()
    t = hours_at_node_count(ivs, at(0), at(10), pools=["cpu", "gpu", "big"])
    assert t == {"cpu": [0, 9, 1], "gpu": [F(3), F("6.5"), F("0.5")], "big": [10]}
    assert micros_at_node_count(ivs, at(0), at(10))["gpu"] == {0: 3 * HOUR, 1: 13 * HOUR // 2, 2: HOUR // 2}


def test_node_hours_equal_sum_n_t_n():
    ivs = ledger_of(SERIES).intervals()
    nh = node_hours(ivs, at(0), at(10))
    assert nh == {"cpu": 11, "gpu": F("7.5")}  # gpu-a 3.5 h + gpu-b 4 h
    for pool, t in hours_at_node_count(ivs, at(0), at(10)).items():
        assert sum(n * tn for n, tn in enumerate(t)) == nh[pool]


def test_window_clips_and_open_nodes_run_to_window_end():
    ledger = ledger_of(SERIES[:5])  # gpu-a still up
    ivs = ledger.intervals()
    assert hours_at_node_count(ivs, at("2.5"), at("3.25"))["gpu"] == [0, F("0.75")]
    assert node_hours(ivs, at(0), at(100))["gpu"] == 98 + 95  # gpu-a from 2 h, gpu-b from 5 h
    assert ledger.up_nodes() == {"cpu-0": "cpu", "gpu-a": "gpu", "gpu-b": "gpu"}


def test_observations_must_not_go_back_in_time():
    ledger = ledger_of(SERIES[:3])
    with pytest.raises(LedgerError, match="earlier than the previous one"):
        ledger.observe(obs(1, "gpu", "gpu-x"))


def test_a_node_cannot_change_pool():
    ledger = ledger_of([obs(0, "gpu", "n1")])
    with pytest.raises(LedgerError, match="'n1' is up in pool 'gpu'"):
        ledger.observe(obs(1, "cpu", "n1"))


def test_reconcile_with_a_full_listing():
    ledger = ledger_of(SERIES[:5])  # up: cpu-0, gpu-a, gpu-b
    fixes = reconcile(ledger, at(6), {"cpu-0": "cpu", "gpu-b": "gpu", "gpu-c": "gpu"})
    assert fixes == [obs(6, "gpu", "gpu-a", False), obs(6, "gpu", "gpu-c")]
    ledger.observe_all(fixes)
    assert ledger.up_nodes() == {"cpu-0": "cpu", "gpu-b": "gpu", "gpu-c": "gpu"}
    assert reconcile(ledger, at(7), ledger.up_nodes()) == []


def test_state_round_trip_and_prune():
    ledger = ledger_of(SERIES)
    again = NodeLedger.from_dict(ledger.to_dict())
    assert again.intervals() == ledger.intervals() and again.last_at == ledger.last_at
    assert again.prune(at(5)) == 1  # cpu-1 ended at 4 h
    assert [iv.node for iv in again.intervals()] == ["gpu-a", "gpu-b", "cpu-0"]
    with pytest.raises(LedgerError):
        NodeLedger.from_dict({"open": []})


def test_bad_window():
    with pytest.raises(LedgerError, match="before its start"):
        node_hours([], at(2), at(1))


def test_to_micros():
    jst = timezone(timedelta(hours=9))
    assert to_micros(datetime(1970, 1, 1, 9, tzinfo=jst)) == 0
    assert to_micros(datetime(2026, 11, 1, 0, 0, 0, 1, tzinfo=timezone.utc)) == 1_793_491_200_000_001
    assert to_micros(5) == 5
    with pytest.raises(ValueError, match="no time zone"):
        to_micros(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        to_micros(1.5)
