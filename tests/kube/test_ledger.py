"""The ledger's T_n (time with n nodes per pool) for a scripted day, exactly.

A VM is billed from the scale-up until Azure has deleted it: the autoscaler taints an unneeded node,
deletes the VMSS instance 5 s later (--node-delete-delay-after-taint) and the VM goes the pool's
``deletion_seconds`` (60 by default) after that (cluster-autoscaler core/scaledown/actuation/actuator.go,
cloudprovider/azure/azure_scale_set.go DeleteInstances); see tests/kube/test_scaledown.py.
"""

from __future__ import annotations

import pytest

from tests.kube_standin.ledger import Ledger

from .conftest import pod_manifest

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"


async def test_scripted_scenario_exact_node_time(http, standin):
    clock, ledger = standin.clock, standin.cluster.ledger
    t0 = clock.now()

    async def at(t):
        await clock.advance(t0 + t - clock.now())

    big = dict(cpu="1500m", selector={"agentpool": "cpu"})  # one per cpu node
    await http.post(PODS, json=pod_manifest("a", **big))     # t=0: scale-up 0->1 (ready at 100)
    await at(50)
    await http.post(PODS, json=pod_manifest("b", **big))     # t=50: scale-up 1->2 (ready at 150)
    await at(1000)
    await http.delete(PODS + "/a", params={"gracePeriodSeconds": "0"})   # node of a unneeded from 1000
    await at(2000)
    await http.delete(PODS + "/b", params={"gracePeriodSeconds": "0"})   # node of b unneeded from 2000
    await at(3600)

    # tainted at 1600 / 2600, VM deleted 5 + 60 s later
    assert [(t - t0, n) for t, pool, n in ledger.changes if pool == "cpu"] == [
        (0, 0), (0, 1), (50, 2), (1665, 1), (2665, 0)]
    assert ledger.seconds("cpu", clock.now()) == {0: 935.0, 1: 1050.0, 2: 1615.0}
    assert ledger.node_seconds("cpu", clock.now()) == 1050 + 2 * 1615
    assert ledger.seconds("system", clock.now()) == {1: 3600.0}
    assert ledger.seconds("gpu", clock.now()) == {0: 3600.0}

    report = (await http.get("/_standin/ledger")).json()
    assert report["pools"]["cpu"]["T_n_hours"] == {"0": 935 / 3600, "1": 1050 / 3600, "2": 1615 / 3600}
    assert report["pools"]["cpu"]["node_hours"] == 4280 / 3600


async def test_gpu_day_with_graceful_stops(http, standin):
    """Two users on the GPU pool; graceful deletes take the kubelet's 1 s to finish."""
    clock, ledger = standin.clock, standin.cluster.ledger
    t0 = clock.now()

    async def at(t):
        await clock.advance(t0 + t - clock.now())

    gpu = dict(gpu=1, tolerate_gpu=True, selector={"agentpool": "gpu"}, image="example.com/gpu-notebook:1")
    await at(3600)
    await http.post(PODS, json=pod_manifest("u1", **gpu))    # 1->... node 1 from 3600
    await at(7200)
    await http.post(PODS, json=pod_manifest("u2", **gpu))    # node 2 from 7200
    await at(10800)
    await http.delete(PODS + "/u1")                          # gone at 10801, tainted 11401, VM gone 11466
    await at(14400)
    await http.delete(PODS + "/u2")                          # gone at 14401, tainted 15001, VM gone 15066
    await at(8 * 3600)

    assert ledger.seconds("gpu", clock.now()) == {
        0: 3600.0 + (8 * 3600 - 15066),
        1: (7200 - 3600) + (15066 - 11466),
        2: 11466 - 7200,
    }


def test_ledger_integrates_and_never_goes_backwards():
    ledger = Ledger(start=0)
    ledger.add_pool("p", 0)
    ledger.set_count("p", 2, 10)
    ledger.set_count("p", 1, 5)        # a late timer: clamped to t=10
    ledger.set_count("p", 0, 40)
    assert ledger.seconds("p", 100) == {0: 70.0, 1: 30.0}
    with pytest.raises(ValueError):
        ledger.set_count("p", -1, 50)
