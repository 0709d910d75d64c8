"""Scheduler and cluster-autoscaler model, on a manual clock (exact simulated times).

Test cluster (conftest.TEST_CLUSTER): system (1 fixed node, 1900m, not autoscaled), cpu (0..2,
1900m, provisioned in 100 s), gpu (0..3, tainted, 1 GPU, 300 s), gpularge (0..1, tainted, 1 GPU,
18 vCPU); the gpuFamily vCPU quota is 12 (two NV6 = 12; an NV18 never fits).

Each test names the cluster-autoscaler source (github.com/kubernetes/autoscaler, cluster-autoscaler/)
whose behaviour it checks.  Failures, backoff, fan-out and scale-down: test_autoscaler_failures.py and
test_scaledown.py.
"""

from __future__ import annotations

import pytest

from .conftest import events_for, pod_manifest, reasons_for

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"


def nodes_of(standin, pool):
    return [n["metadata"]["name"] for n in standin.store.list("nodes")
            if n["metadata"]["labels"]["agentpool"] == pool]


def pod(standin, name):
    return standin.store.get("pods", "default", name)


async def create(http, standin, body):
    r = await http.post(PODS, json=body)
    assert r.status_code == 201, r.text
    await standin.clock.advance(0)
    return r.json()


async def test_pod_waits_for_scale_up_then_runs(http, standin):
    await create(http, standin, pod_manifest("nb", selector={"agentpool": "cpu"}))
    assert pod(standin, "nb")["spec"].get("nodeName") is None
    cond = pod(standin, "nb")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "Unschedulable")
    evs = events_for(standin, "nb")
    assert evs[0] == ("FailedScheduling", "0/1 nodes are available: 1 node(s) didn't match Pod's node "
                      "affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful "
                      "for scheduling.")
    assert evs[1][0] == "TriggeredScaleUp"
    assert evs[1][1].startswith("pod triggered scale-up: [{aks-cpu-") and evs[1][1].endswith("-vmss 0->1 (max: 2)}]")
    assert standin.cluster.ledger.count("cpu") == 1 and nodes_of(standin, "cpu") == []

    await standin.clock.advance(99.9)
    assert nodes_of(standin, "cpu") == []            # still provisioning
    await standin.clock.advance(0.1)
    [node] = nodes_of(standin, "cpu")
    assert pod(standin, "nb")["spec"]["nodeName"] == node
    assert ("Scheduled", f"Successfully assigned default/nb to {node}") in events_for(standin, "nb")


async def test_node_selector_and_required_affinity_choose_the_pool(http, standin):
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "agentpool", "operator": "In", "values": ["gpu"]}]}]}}}
    await create(http, standin, pod_manifest("g", tolerate_gpu=True, gpu=1, affinity=affinity))
    await standin.clock.advance(300)
    assert pod(standin, "g")["spec"]["nodeName"] in nodes_of(standin, "gpu")
    # NotIn keeps a pod off the system pool; with no other match it triggers the cpu pool
    not_system = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.azure.com/mode", "operator": "NotIn", "values": ["system"]}]}]}}}
    await create(http, standin, pod_manifest("c", affinity=not_system))
    assert "TriggeredScaleUp" in reasons_for(standin, "c")
    assert standin.cluster.ledger.count("cpu") == 1


async def test_pod_without_selector_lands_on_a_node_that_fits(http, standin):
    await create(http, standin, pod_manifest("small", cpu="100m"))
    assert pod(standin, "small")["spec"]["nodeName"] in nodes_of(standin, "system")
    assert "TriggeredScaleUp" not in reasons_for(standin, "small")


async def test_taint_without_toleration_is_not_triggered(http, standin):
    # processors/status/eventing_scale_up_processor.go ReasonsMessage: one count per node group; the
    # fixed system pool is no node group of the autoscaler (AKS: autoscaling not enabled on it)
    await create(http, standin, pod_manifest("g", gpu=1))
    [(_, message)] = [e for e in events_for(standin, "g") if e[0] == "NotTriggerScaleUp"]
    assert message == "pod didn't trigger scale-up: 2 node(s) had untolerated taint {sku: gpu}, 1 Insufficient nvidia.com/gpu"
    assert standin.cluster.ledger.count("gpu") == 0


async def test_max_node_group_size_reached(http, standin):
    for i in range(3):  # each takes a whole cpu node (1500m of 1900m); the pool's max is 2
        await create(http, standin, pod_manifest(f"p{i}", cpu="1500m", selector={"agentpool": "cpu"}))
    assert standin.cluster.ledger.count("cpu") == 2
    assert "TriggeredScaleUp" in reasons_for(standin, "p0") and "TriggeredScaleUp" in reasons_for(standin, "p1")
    [(_, message)] = [e for e in events_for(standin, "p2") if e[0] == "NotTriggerScaleUp"]
    assert "1 max node group size reached" in message
    await standin.clock.advance(100)
    assert pod(standin, "p2")["spec"].get("nodeName") is None


async def test_insufficient_resources_everywhere(http, standin):
    await create(http, standin, pod_manifest("huge", cpu="64"))
    [(_, message)] = [e for e in events_for(standin, "huge") if e[0] == "NotTriggerScaleUp"]
    assert "Insufficient cpu" in message
    failed = [m for r, m in events_for(standin, "huge") if r == "FailedScheduling"][0]
    assert failed.startswith("0/1 nodes are available: 1 Insufficient cpu.")


async def test_pods_share_an_upcoming_node(http, standin):
    for i in range(3):
        await create(http, standin, pod_manifest(f"s{i}", cpu="500m", selector={"agentpool": "cpu"}))
    assert standin.cluster.ledger.count("cpu") == 1   # 3 x 500m fit on one 1900m node
    assert reasons_for(standin, "s1").count("TriggeredScaleUp") == 0
    await standin.clock.advance(100)
    assert len({pod(standin, f"s{i}")["spec"]["nodeName"] for i in range(3)}) == 1


async def test_new_pod_cancels_scale_down(http, standin):
    await create(http, standin, pod_manifest("a", selector={"agentpool": "cpu"}))
    await standin.clock.advance(200)
    await http.delete(PODS + "/a", params={"gracePeriodSeconds": "0"})
    await standin.clock.advance(300)
    await create(http, standin, pod_manifest("b", selector={"agentpool": "cpu"}))
    await standin.clock.advance(600)
    assert len(nodes_of(standin, "cpu")) == 1
    assert pod(standin, "b")["spec"]["nodeName"] == nodes_of(standin, "cpu")[0]
