"""Benchmark: the cost ledger over a simulated month of node events vs a naive reference.

A month (720 h) of node observations over three pools — scale-ups, scale-downs and the duplicate
"up" events a Kubernetes watch replays after a reconnect — is fed to

* the ledger (:mod:`hybridhub.hub_ext.cost.ledger`): intervals, then one sweep per pool for
  ``T_n`` and node-hours; and
* a naive reference in the same run: replay the series, recount the nodes up per pool from
  scratch at every observation and add the elapsed time to ``T_n`` (exact Fractions, no sweep).

Both must agree exactly (the run fails otherwise).  Also timed: attribution of the month to user
servers (checked to sum back to the node cost exactly) and a save/load of the recorder state.

    .venv/bin/python benchmarks/cost.py            # 100,000 observations
    .venv/bin/python benchmarks/cost.py --quick    # 20,000 observations, well under a minute

The last line printed is one JSON object with the timings and ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

from hybridhub.hub_ext.cost.attribution import ServerSession, attribute
from hybridhub.hub_ext.cost.budget import FixedCosts
from hybridhub.hub_ext.cost.ledger import HOUR, NodeLedger, NodeObservation, hours_at_node_count, node_hours
from hybridhub.hub_ext.cost.recorder import CostRecorder
from hybridhub.hub_ext.cost.page import render_page
from hybridhub.hub_ext.cost.store import JsonStore
from hybridhub.hub_ext.cost.summary import amount, build_summary

POOLS = {"B2s": (Fraction("11.52"), 12, 0.55), "NV6ads_A10_v5": (Fraction("74.7"), 6, 0.42),
         "NV18ads_A10_v5": (Fraction("263.61"), 3, 0.32)}  # price, max nodes, chance an event is a scale-up
START = 1_793_491_200 * 1_000_000  # 2026-11-01T00:00Z in microseconds
END = START + 720 * HOUR


def simulate(n_obs: int, seed: int = 9) -> tuple[list[NodeObservation], list[ServerSession]]:
    """Observations sorted by time, and server sessions on the nodes while they are up."""
    rng = random.Random(seed)
    times = sorted(rng.randrange(START, END) for _ in range(n_obs))
    up: dict[str, dict[str, int]] = {pool: {} for pool in POOLS}  # pool -> node -> since
    serial = Counter()
    observations, sessions = [], []
    for at in times:
        pool = rng.choice(list(POOLS))
        nodes = up[pool]
        roll = rng.random()
        if roll < 0.1 and nodes:  # a watch replay: "up" again for a node already up
            node = rng.choice(list(nodes))
            observations.append(NodeObservation(at, pool, node, True))
        elif (roll < POOLS[pool][2] and len(nodes) < POOLS[pool][1]) or not nodes:
            serial[pool] += 1
            node = f"aks-{pool.lower()}-{serial[pool]:06d}"
            nodes[node] = at
            observations.append(NodeObservation(at, pool, node, True))
        else:
            node = rng.choice(list(nodes))
            since = nodes.pop(node)
            observations.append(NodeObservation(at, pool, node, False))
            # one or two servers lived on this node for part of its life
            for user in rng.sample(range(40), rng.choice((0, 1, 2))):
                a = rng.randrange(since, at + 1)
                b = rng.randrange(a, at + 1)
                sessions.append(ServerSession(f"user{user}", f"{pool}-profile", node, a, b))
    return observations, sessions


def ledger_figures(observations):
    ledger = NodeLedger()
    ledger.observe_all(observations)
    intervals = ledger.intervals()
    return intervals, hours_at_node_count(intervals, START, END, POOLS), node_hours(intervals, START, END, POOLS)


def naive_figures(observations):
    """Recount every pool's nodes at every observation; exact Fractions throughout."""
    up: dict[str, str] = {}
    t_n = {pool: defaultdict(Fraction) for pool in POOLS}
    prev = START
    for obs in observations:
        counts = Counter(up.values())
        elapsed = Fraction(obs.at - prev, HOUR)
        for pool in POOLS:
            t_n[pool][counts[pool]] += elapsed
        prev = obs.at
        if obs.up:
            up[obs.node] = obs.pool
        else:
            up.pop(obs.node, None)
    counts = Counter(up.values())
    for pool in POOLS:
        t_n[pool][counts[pool]] += Fraction(END - prev, HOUR)
    out = {}
    for pool, by_n in t_n.items():
        k = max((n for n, t in by_n.items() if t), default=0)
        out[pool] = [by_n.get(n, Fraction(0)) for n in range(k + 1)]
    return out, {pool: sum(n * t for n, t in enumerate(ts)) for pool, ts in out.items()}


def timed(fn, *args):
    t0 = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 observations instead of 100,000")
    parser.add_argument("--observations", type=int, help="number of node observations")
    args = parser.parse_args(argv)
    n_obs = args.observations or (20_000 if args.quick else 100_000)

    (observations, sessions), t_sim = timed(simulate, n_obs)
    print(f"simulated {len(observations):,} node observations and {len(sessions):,} server sessions "
          f"over 720 h in {t_sim:.2f} s")

    (intervals, t_n, nh), t_ledger = timed(ledger_figures, observations)
    (ref_t_n, ref_nh), t_naive = timed(naive_figures, observations)
    if t_n != ref_t_n or nh != ref_nh:
        print("MISMATCH between the ledger and the naive reference", file=sys.stderr)
        return 1
    print(f"T_n and node-hours: ledger {t_ledger:.3f} s, naive recount {t_naive:.3f} s "
          f"(×{t_naive / t_ledger:.1f}), identical")
    for pool in POOLS:
        print(f"  {pool}: {float(nh[pool]):,.1f} node-h, T_n = {[round(float(t), 2) for t in t_n[pool]]}")

    prices = {pool: spec[0] for pool, spec in POOLS.items()}
    attribution, t_attr = timed(attribute, intervals, sessions, prices, START, END)
    expected = sum(prices[p] * nh[p] for p in POOLS)
    if attribution.total != expected:
        print("MISMATCH: attribution does not sum back to the node cost", file=sys.stderr)
        return 1
    idle = sum(attribution.idle_by_pool().values())
    print(f"attribution: {len(attribution.lines)} lines in {t_attr:.3f} s, sums back exactly to "
          f"{float(expected):,.2f} yen (idle {float(idle / expected):.0%})")

    recorder = CostRecorder(prices, FixedCosts(Fraction("3.36"), Fraction("0.67"), 2, Fraction(200)))
    recorder.ledger.observe_all(observations)
    recorder.finished.extend(sessions)
    with tempfile.TemporaryDirectory() as tmp:
        store = JsonStore(Path(tmp) / "cost.json")
        _, t_save = timed(store.save, recorder.to_dict())
        size = store.path.stat().st_size
        loaded, t_load = timed(lambda: CostRecorder.from_dict(store.load()))
    if loaded.to_dict() != recorder.to_dict():
        print("MISMATCH: state did not round-trip", file=sys.stderr)
        return 1
    print(f"state: {size / 1e6:.1f} MB saved in {t_save:.3f} s, loaded in {t_load:.3f} s")

    # what the service does for each page view or API call (cached for a second): the whole month
    summary, t_summary = timed(build_summary, recorder, END - 1, Fraction(100000))
    page, t_page = timed(render_page, summary, "en", {"csv": "c", "json": "j"})
    if summary["nodes_cost"] != amount(expected):
        print("MISMATCH: the summary's node cost differs from the ledger's", file=sys.stderr)
        return 1
    print(f"summary of the month: {t_summary:.3f} s, page rendered in {t_page:.3f} s ({len(page) / 1e3:.0f} kB)")

    print(json.dumps({
        "benchmark": "cost", "observations": len(observations), "sessions": len(sessions),
        "ledger_s": round(t_ledger, 4), "naive_s": round(t_naive, 4),
        "naive_over_ledger": round(t_naive / t_ledger, 2),
        "per_observation_us": round(t_ledger / len(observations) * 1e6, 3),
        "attribution_s": round(t_attr, 4), "save_s": round(t_save, 4), "load_s": round(t_load, 4),
        "state_bytes": size, "summary_s": round(t_summary, 4), "page_s": round(t_page, 4), "exact_match": True,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
