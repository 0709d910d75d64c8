"""Our node ledger agrees exactly with the Kubernetes stand-in's ledger (the ground truth of T_n).

The stand-in counts nodes per pool as the autoscaler changes them; we see individual nodes come and
go.  Fed the same scripted week of scale events, both give the same seconds at every node count.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from hybridhub.hub_ext.cost.ledger import NodeLedger, NodeObservation, micros_at_node_count

pytestmark = pytest.mark.cost

_LEDGER_PY = Path(__file__).resolve().parents[1] / "kube_standin" / "ledger.py"


def standin_ledger_class():
    """Load only the stand-in's ledger module (it needs nothing else from the stand-in)."""
    spec = importlib.util.spec_from_file_location("kube_standin_ledger_for_cost_tests", _LEDGER_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Ledger


def test_same_t_n_as_the_standin_over_a_week():
    Ledger = standin_ledger_class()
    rng = random.Random(20261122)
    start, week = 1_793_491_200, 7 * 24 * 3600  # whole seconds: the float sums stay exact
    pools = {"cpu": 8, "gpu-small": 3, "gpu-large": 2}
    truth = Ledger(start)
    ours = NodeLedger()
    up: dict[str, list[str]] = {}
    serial = 0
    for pool in pools:
        truth.add_pool(pool, 0)
        up[pool] = []
    for t in sorted(rng.sample(range(start, start + week), 3000)):
        pool = rng.choice(list(pools))
        nodes = up[pool]
        target = max(0, min(pools[pool], len(nodes) + rng.choice((-2, -1, 1, 1, 2))))
        while len(nodes) < target:
            serial += 1
            nodes.append(f"{pool}-{serial}")
            ours.observe(NodeObservation(t * 1_000_000, pool, nodes[-1], True))
        while len(nodes) > target:
            ours.observe(NodeObservation(t * 1_000_000, pool, nodes.pop(rng.randrange(len(nodes))), False))
        truth.set_count(pool, target, t)

    end = start + week
    measured = micros_at_node_count(ours.intervals(), start * 1_000_000, end * 1_000_000, pools)
    for pool in pools:
        expected = truth.seconds(pool, end)
        got = {n: us / 1_000_000 for n, us in measured[pool].items() if us}
        assert got == expected, pool
        assert sum(got.values()) == week
    assert any(len(truth.seconds(pool, end)) > 2 for pool in pools)  # the script did move the pools
