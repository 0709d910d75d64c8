"""Scale-down taints first, the VM and the node go later (manual clock, exact times).

Sources (github.com/kubernetes/autoscaler, cluster-autoscaler/): core/scaledown/actuation/actuator.go
(taintNodesSync, deleteAsyncEmpty), core/scaledown/actuation/delete_in_batch.go
(RegisterAndRecordSuccessfulScaleDownEvent), utils/taints/taints.go (ToBeDeletedTaint),
utils/kubernetes/factory.go (the recorder's 5-minute spam filter), cloudprovider/azure/azure_scale_set.go
(DeleteInstances returns before the VM is gone), core/static_autoscaler.go (``isScaleDownInCooldown``:
no scale-down within --scale-down-delay-after-add of ``lastScaleUpTime``, which ``instrumentedScaleUp``
sets on a successful scale-up; the unneeded nodes are updated on every loop all the same).
"""

from __future__ import annotations

import pytest

from .conftest import pod_manifest

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"


def cpu_nodes(standin):
    return standin.store.list("nodes", None, lambda n: n["metadata"]["labels"]["agentpool"] == "cpu")


def node_events(standin, name):
    evs = standin.store.list("events", "default", lambda e: e["involvedObject"]["name"] == name)
    return [(e["reason"], e["message"], e["source"]["component"]) for e in evs]


async def test_unneeded_node_is_tainted_then_its_vm_and_node_go(http, standin):
    await http.post(PODS, json=pod_manifest("nb", selector={"agentpool": "cpu"}))
    await standin.clock.advance(200)
    [node] = cpu_nodes(standin)
    name = node["metadata"]["name"]
    await http.delete(PODS + "/nb", params={"gracePeriodSeconds": "0"})
    await standin.clock.advance(599)
    assert cpu_nodes(standin)[0].get("spec", {}).get("taints") is None       # unneeded for 599 s
    await standin.clock.advance(1)
    [node] = cpu_nodes(standin)
    assert node["spec"]["taints"] == [{"key": "ToBeDeletedByClusterAutoscaler",
                                       "value": str(int(standin.clock.now())), "effect": "NoSchedule"}]
    assert node_events(standin, name) == [("ScaleDown", "marked the node as toBeDeleted/unschedulable",
                                           "cluster-autoscaler")]
    assert standin.cluster.ledger.count("cpu") == 1                          # the VM is still billed
    # a new pod does not go to the tainted node: it triggers a new scale-up
    await http.post(PODS, json=pod_manifest("late", selector={"agentpool": "cpu"}))
    await standin.clock.advance(0)
    assert standin.store.get("pods", "default", "late")["spec"].get("nodeName") is None
    await standin.clock.advance(5 + 59)
    assert [n["metadata"]["name"] for n in cpu_nodes(standin)] == [name]     # deleting the VM
    await standin.clock.advance(1)                                           # 5 s + 60 s after the taint
    assert name not in [n["metadata"]["name"] for n in cpu_nodes(standin)]
    # "nodes removed by cluster autoscaler" came 5 s after the first ScaleDown: the spam filter dropped it
    assert node_events(standin, name) == [("ScaleDown", "marked the node as toBeDeleted/unschedulable",
                                           "cluster-autoscaler")]
    status = [(e["reason"], e["message"]) for e in standin.store.list("events", "kube-system")]
    assert ("ScaleDownEmpty", f'Scale-down: removing empty node "{name}"') in status
    assert ("ScaleDownEmpty", f"Scale-down: empty node {name} removed") in status
    t0 = standin.clock.now() - 200 - 600 - 65
    changes = [(t - t0, n) for t, pool, n in standin.cluster.ledger.changes if pool == "cpu"]
    assert changes[:3] == [(0, 0), (0, 1), (865 - 65, 2)] and changes[3] == (865, 1)


async def test_system_pool_is_never_scaled_down(http, standin):
    await standin.clock.advance(3600)
    assert len(standin.store.list("nodes", None, lambda n: n["metadata"]["labels"]["agentpool"] == "system")) == 1
    assert standin.cluster.ledger.seconds("system", standin.clock.now()) == {1: 3600.0}


async def idle_cpu_node_then_a_gpu_scale_up(http, standin) -> float:
    """A CPU node unneeded from t0 + 200, a GPU scale-up at t0 + 500 (cooldown until t0 + 1100); t0."""
    t0 = standin.clock.now()
    await http.post(PODS, json=pod_manifest("nb", selector={"agentpool": "cpu"}))
    await standin.clock.advance(200)
    await http.delete(PODS + "/nb", params={"gracePeriodSeconds": "0"})
    await standin.clock.advance(300)
    await http.post(PODS, json=pod_manifest("train", selector={"agentpool": "gpu"}, tolerate_gpu=True, gpu=1))
    await standin.clock.advance(0)
    return t0


async def test_a_scale_up_elsewhere_holds_back_the_scale_down_for_the_delay_after_add(http, standin):
    # core/static_autoscaler.go isScaleDownInCooldown (--scale-down-delay-after-add, flags.go default 10m,
    # AKS's default too: learn.microsoft.com ManagedClusterPropertiesAutoScalerProfile)
    assert standin.cluster.config.autoscaler.scale_down_delay_after_add_seconds == 600  # the flag's default
    t0 = await idle_cpu_node_then_a_gpu_scale_up(http, standin)
    await standin.clock.advance(t0 + 1099 - standin.clock.now())
    # unneeded for 899 s, past its 600 s, and still not tainted: scale-down is in cooldown
    assert cpu_nodes(standin)[0].get("spec", {}).get("taints") is None
    await standin.clock.advance(1)
    [node] = cpu_nodes(standin)
    assert node["spec"]["taints"] == [{"key": "ToBeDeletedByClusterAutoscaler", "value": str(int(t0 + 1100)),
                                       "effect": "NoSchedule"}]


async def test_a_node_used_again_during_the_cooldown_is_kept(http, standin):
    t0 = await idle_cpu_node_then_a_gpu_scale_up(http, standin)
    await standin.clock.advance(t0 + 900 - standin.clock.now())  # unneeded long enough, held by the cooldown
    await http.post(PODS, json=pod_manifest("back", selector={"agentpool": "cpu"}))
    await standin.clock.advance(600)
    [node] = cpu_nodes(standin)
    assert not node.get("spec", {}).get("taints")
    assert standin.store.get("pods", "default", "back")["spec"]["nodeName"] == node["metadata"]["name"]
