"""The cost service against the Kubernetes stand-in: a simulated week of user servers.

The stand-in's own ledger (what the autoscaler did, at each simulated instant) is the ground truth;
the service only sees the API (list + watch of nodes, autoscaler events and pods).  The service is
restarted half-way (while the cluster keeps scaling) and its watches are cut after an etcd
compaction (410 Gone), and the measured T_n still match.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from kubernetes_asyncio import client

from hybridhub.hub_ext.cost.ledger import micros_at_node_count, node_hours
from tests.kube.conftest import api_client_for, pod_manifest

from .conftest import POOLS, SYSTEM_PRICE, RunningService

pytestmark = pytest.mark.cost

DAY = 86400
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
POOL_OF = {"cpu": "cpu", "gpu-a10": "gpu", "gpu-a10-large": "gpularge"}
PRICES = {p["name"]: Fraction(str(p["vm_price_per_hour"])) for p in POOLS} | {"system": Fraction(str(SYSTEM_PRICE))}


def week_plan(start: int) -> list[tuple[int, str, str, str, str]]:
    """``(time, start|stop, user, profile, pod)`` — everyone works some hours most days."""
    rng = random.Random(20261122)
    plan = []
    for day in range(7):
        base = start + day * DAY
        for user in USERS:
            if rng.random() < 0.7:
                profile = rng.choice(["cpu", "cpu", "gpu-a10", "gpu-a10-large"])
                t0 = base + rng.randrange(1 * 3600, 8 * 3600, 60)
                t1 = t0 + rng.randrange(1800, 7 * 3600, 60)
                pod = f"jupyter-{user}-d{day}"
                plan += [(t0, "start", user, profile, pod), (t1, "stop", user, profile, pod)]
    return sorted(plan)


def server_pod(user: str, profile: str, name: str) -> dict:
    gpu = profile != "cpu"
    labels = {"component": "singleuser-server", "hub.jupyter.org/username": user, "hybridhub/profile": profile}
    return pod_manifest(name, image="example.com/gpu-notebook:1" if gpu else "example.com/notebook:1",
                        cpu="1", gpu=1 if gpu else 0, tolerate_gpu=gpu, labels=labels,
                        selector={"agentpool": POOL_OF[profile]})


async def run_until(standin, service, core, plan, until):
    """Play the plan's actions due before ``until`` (the service, if any, catching up after each)."""
    while plan and plan[0][0] < until:
        t, action, user, profile, pod = plan.pop(0)
        await standin.clock.advance(t - standin.clock.now())
        if service:
            await service.caught_up()
        if action == "start":
            await core.create_namespaced_pod("default", server_pod(user, profile, pod))
        else:
            await core.delete_namespaced_pod(pod, "default")
    await standin.clock.advance(until - standin.clock.now())
    if service:
        await service.caught_up()


def measured_seconds(rec, pool, start, end):
    us = micros_at_node_count(rec.ledger.intervals(), start * 1_000_000, end * 1_000_000, [pool])[pool]
    return {n: v / 1_000_000 for n, v in us.items() if v}


async def test_a_week_measured_like_the_standin_ledger_through_restart_and_410(standin, tmp_path):
    start = int(standin.clock.now())
    plan = week_plan(start)
    state = tmp_path / "cost.json"
    api = api_client_for(standin)  # the test's own client: it plays the users
    try:
        await play_week(standin, api, plan, start, state)
    finally:
        await api.close()


async def play_week(standin, api, plan, start, state):
    core = client.CoreV1Api(api)
    services = []
    try:
        service = await _play_week(standin, core, services, plan, start, state)
    finally:
        for s in services:
            await s.stop()
    summary = service.svc.summary()
    assert [p["name"] for p in summary["pools"]] == ["cpu", "gpu", "gpularge", "system"]


async def _play_week(standin, core, services, plan, start, state):
    service = RunningService(standin, state)
    services.append(service)
    await service.start()
    await run_until(standin, service, core, plan, start + 3 * DAY + 2 * 3600)
    # a restart: what was measured survives, to the microsecond
    before = service.svc.summary()
    await service.stop()
    again = RunningService(standin, state)
    services.append(again)
    assert again.svc.summary() == before
    again.stopped = True
    await again.api.close()
    # the cluster keeps scaling while the service is down (servers start and stop, nodes come and go);
    # the outage stays under the API server's event TTL (kube-apiserver --event-ttl, default 1h): the
    # autoscaler's events of the gap are still there to be listed when the service comes back
    await run_until(standin, None, core, plan, start + 3 * DAY + 2 * 3600 + 50 * 60)
    service = RunningService(standin, state)
    services.append(service)
    await service.start()
    await run_until(standin, service, core, plan, start + 5 * DAY + 5 * 3600)
    nodes_watch = next(w for w in service.watchers if w.name == "nodes")
    lists = nodes_watch.lists
    # another resource changes (the global resourceVersion moves on), then etcd compacts: the node
    # watch's resourceVersion is now too old
    await core.create_namespaced_config_map("default", {"metadata": {"name": "unrelated"}, "data": {"a": "b"}})
    standin.store.compact()
    standin.store.close_watches()  # and the watches drop: resuming gets 410 Gone, then a relist
    await run_until(standin, service, core, plan, start + 7 * DAY)
    assert nodes_watch.lists > lists

    end = int(standin.clock.now())
    rec = service.svc.recorder
    truth = standin.cluster.ledger
    moved = 0
    for pool in PRICES:
        expected, got = truth.seconds(pool, end), measured_seconds(rec, pool, start, end)
        assert set(got) == set(expected), pool
        for n, seconds in expected.items():
            assert got[n] == pytest.approx(seconds, rel=0.01, abs=60), (pool, n)
        assert sum(got.values()) == 7 * DAY
        want_node_h = Fraction(truth.node_seconds(pool, end)) / 3600
        assert node_hours(rec.ledger.intervals(), start * 1_000_000, end * 1_000_000, [pool])[pool] == \
            pytest.approx(want_node_h, rel=0.001)
        moved += len(expected) > 1
    assert moved >= 2  # the cpu and gpu pools did scale up and down
    assert any(len(truth.seconds(pool, end)) > 2 for pool in PRICES)  # and some had two nodes at once

    # every yen of node time is on a user line or an idle line
    split = rec.attribution(start * 1_000_000, end * 1_000_000)
    nh = node_hours(rec.ledger.intervals(), start * 1_000_000, end * 1_000_000, PRICES)
    assert split.total == sum(PRICES[p] * h for p, h in nh.items())
    users = split.by_user()
    assert {u for u in users if u} <= set(USERS) and len([u for u in users if u]) >= 4
    assert users[None] > 0  # idle node time (provisioning, scale-down delay, the system node)
    assert set(split.by_profile()) - {None} <= {"cpu", "gpu-a10"}  # large GPU never got a node (quota)
    print({pool: {"standin": truth.seconds(pool, end), "measured": measured_seconds(rec, pool, start, end)}
           for pool in PRICES})
    return service
