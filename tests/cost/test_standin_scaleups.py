"""The cost service's node time against the Kubernetes stand-in's ledger (the ground truth), for what the
cluster autoscaler really does: TriggeredScaleUp on every pod of one scale-up, an asynchronous VMSS
allocation failure (TriggeredScaleUp, no VM, ScaleUpTimedOut, backoff, NotTriggerScaleUp, retry), and a
scale-down that taints the node before the VM goes.

Stand-in behaviours reproduced from cluster-autoscaler (github.com/kubernetes/autoscaler):
processors/status/eventing_scale_up_processor.go (fan-out), clusterstate/clusterstate.go
(updateScaleRequests: timeout, backoff, revert), core/scaledown/actuation/actuator.go (taint first).
"""

from __future__ import annotations

import pytest

from hybridhub.hub_ext.cost.ledger import micros_at_node_count
from tests.kube.test_autoscaler_failures import post_all, standin_with

from .conftest import RunningService

pytestmark = pytest.mark.cost

CPU = dict(cpu="500m", selector={"agentpool": "cpu"})
GPU = dict(gpu=1, tolerate_gpu=True, selector={"agentpool": "gpu"})


async def running(tmp_path, **pool_changes):
    standin = await standin_with(tmp_path, **pool_changes)
    service = await RunningService(standin, tmp_path / "cost.json").start()
    return standin, service


async def create_pods(standin, service, names, **kw):
    """Pods created in the same instant: one autoscaler loop sees them all."""
    await post_all(standin, names, **kw)
    await service.caught_up()


async def advance(standin, service, seconds):
    await standin.clock.advance(seconds)
    await service.caught_up()


def measured(service, pool, start, end):
    us = micros_at_node_count(service.svc.recorder.ledger.intervals(), int(start * 1e6), int(end * 1e6), [pool])
    return {n: v / 1_000_000 for n, v in us[pool].items() if v}


async def stop(standin, service):
    await service.stop()
    await standin.stop()


async def test_three_pods_of_one_scale_up_bill_one_node(tmp_path):
    standin, service = await running(tmp_path)
    try:
        start = standin.clock.now()
        await create_pods(standin, service, ["a", "b", "c"], **CPU)
        triggered = [e for e in standin.store.list("events", "default") if e["reason"] == "TriggeredScaleUp"]
        assert len(triggered) == 3 and len({e["message"] for e in triggered}) == 1
        assert len(service.svc.recorder.provisioning()) == 1      # one placeholder, not three
        await advance(standin, service, 1000)
        end = standin.clock.now()
        assert measured(service, "cpu", start, end) == standin.cluster.ledger.seconds("cpu", end) == {1: 1000.0}
    finally:
        await stop(standin, service)


async def test_a_scale_up_whose_vm_never_comes_bills_nothing(tmp_path):
    standin, service = await running(tmp_path, gpu={"fail_scale_up": "allocation"})
    try:
        start = standin.clock.now()
        await create_pods(standin, service, ["g"], **GPU)
        assert len(service.svc.recorder.provisioning()) == 1      # the decision, billed while it may come
        await advance(standin, service, 900)                      # ScaleUpTimedOut, backoff
        await advance(standin, service, 10)                       # NotTriggerScaleUp: no VM is coming
        assert service.svc.recorder.provisioning() == {}
        await advance(standin, service, 300)                      # backoff over: the same resize again
        [event] = [e for e in standin.store.list("events", "default") if e["reason"] == "TriggeredScaleUp"]
        assert event["count"] == 2
        assert len(service.svc.recorder.provisioning()) == 1
        await advance(standin, service, 1000)                     # fails again
        end = standin.clock.now()
        assert service.svc.recorder.provisioning() == {}
        assert standin.cluster.ledger.seconds("gpu", end) == {0: end - start}
        assert measured(service, "gpu", start, end) == {0: end - start}
    finally:
        await stop(standin, service)


async def test_a_tainted_node_is_billed_until_its_vm_is_deleted(tmp_path):
    standin, service = await running(tmp_path)
    try:
        start = standin.clock.now()
        await create_pods(standin, service, ["nb"], **CPU)
        await advance(standin, service, 200)
        standin.cluster.delete_pod("default", "nb", 0)
        await advance(standin, service, 600)                      # tainted now: still billed
        [node] = standin.store.list("nodes", None, lambda n: n["metadata"]["labels"]["agentpool"] == "cpu")
        assert node["spec"]["taints"][0]["key"] == "ToBeDeletedByClusterAutoscaler"
        assert node["metadata"]["name"] in service.svc.recorder.ledger.up_nodes()
        await advance(standin, service, 1000)
        end = standin.clock.now()
        truth = standin.cluster.ledger.seconds("cpu", end)
        assert truth == {0: 1800 - 865, 1: 865.0}                  # tainted at 800, VM gone 5 + 60 s later
        assert measured(service, "cpu", start, end) == truth
    finally:
        await stop(standin, service)
