"""cluster-autoscaler: fan-out of TriggeredScaleUp, the recorder's rate limit, failed resizes and backoff,
asynchronous allocation failures, its own resource limits (manual clock, exact simulated times).

Sources (github.com/kubernetes/autoscaler, cluster-autoscaler/, releases 1.31-1.37) named per test.
"""

from __future__ import annotations

import pytest
import yaml

from tests.kube_standin import KubeStandIn, admission

from .conftest import cluster_config, events_for, pod_manifest

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"
CPU = dict(cpu="500m", selector={"agentpool": "cpu"})
GPU = dict(gpu=1, tolerate_gpu=True, selector={"agentpool": "gpu"})


async def standin_with(tmp_path, **pool_changes):
    config = cluster_config()
    for name, changes in pool_changes.items():
        for key, value in changes.items():
            setattr(config.pool(name), key, value)
    s = KubeStandIn(config, manual_clock=True)
    await s.start(kubeconfig_dir=str(tmp_path))
    return s


def status_events(standin):
    evs = standin.store.list("events", "kube-system", lambda e: e["involvedObject"]["name"] == "cluster-autoscaler-status")
    evs.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [(e["reason"], e["message"]) for e in evs]


def group_status(standin, pool):
    cm = standin.store.get("configmaps", "kube-system", "cluster-autoscaler-status")
    status = yaml.safe_load(cm["data"]["status"])
    vmss = standin.cluster.autoscaler.vmss(standin.config.pool(pool))
    return next(g for g in status["nodeGroups"] if g["name"] == vmss)


async def post_all(standin, names, **kw):
    """Create pods without letting the clock turn between them: one autoscaler loop sees them all."""
    for name in names:
        body = pod_manifest(name, labels={"component": "singleuser-server", "hub.jupyter.org/username": name}, **kw)
        admission.on_create("Pod", body)
        standin.cluster.pod_created(standin.store.create("pods", "default", body))
    await standin.clock.advance(0)


async def test_every_pod_helped_by_a_scale_up_gets_the_same_triggered_event(standin):
    # processors/status/eventing_scale_up_processor.go: TriggeredScaleUp on each of PodsTriggeredScaleUp,
    # message "pod triggered scale-up: %v" of ScaleUpInfos (processors/nodegroupset ScaleUpInfo.String)
    await post_all(standin, ["a", "b", "c"], **CPU)
    vmss = standin.cluster.autoscaler.vmss(standin.config.pool("cpu"))
    for name in "abc":
        triggered = [m for r, m in events_for(standin, name) if r == "TriggeredScaleUp"]
        assert triggered == [f"pod triggered scale-up: [{{{vmss} 0->1 (max: 2)}}]"]
    assert standin.cluster.ledger.count("cpu") == 1       # one VM for three 500m pods
    # core/scaleup/orchestrator/executor.go: the resize itself is told on the status ConfigMap
    assert status_events(standin) == [
        ("ScaledUpGroup", f"Scale-up: setting group {vmss} size to 1 instead of 0 (max: 2)"),
        ("ScaledUpGroup", f"Scale-up: group {vmss} size set to 1 instead of 0 (max: 2)")]
    assert group_status(standin, "cpu")["scaleUp"]["status"] == "InProgress"
    await standin.clock.advance(100)
    assert group_status(standin, "cpu")["scaleUp"]["status"] == "NoActivity"


async def test_recorder_lets_one_event_per_pod_and_reason_through_per_five_minutes(standin, http):
    # utils/kubernetes/factory.go: spam filter QPS 1/300, burst 1, key reason+source+object; client-go
    # tools/record/events_cache.go: identical events that pass are counted on one Event (count++)
    await http.post(PODS, json=pod_manifest("huge", cpu="64"))
    await standin.clock.advance(0)

    def not_triggered():
        return [e for e in standin.store.list("events", "default") if e["reason"] == "NotTriggerScaleUp"]
    [event] = not_triggered()
    assert event["count"] == 1
    await standin.clock.advance(299)                        # the loop ran every 10 s: all filtered
    assert not_triggered()[0]["count"] == 1
    await standin.clock.advance(10)                         # the first loop after 300 s gets through
    [event] = not_triggered()
    assert event["count"] == 2 and event["firstTimestamp"] != event["lastTimestamp"]


async def test_azure_quota_refuses_the_resize_and_backs_the_group_off(standin, http):
    # executor.go: IncreaseSize error -> FailedToScaleUpGroup on the ConfigMap, RegisterFailedScaleUp
    # (backoff, utils/backoff/exponential_backoff.go 5 min), no pod event in that loop
    # (eventing_scale_up_processor.go skips ScaleUpError); the next loop skips the group
    # "in backoff after failed scale-up" (orchestrator/skippedreasons.go)
    for i in range(2):                                      # gpuFamily quota 12 = two NV6 nodes
        await http.post(PODS, json=pod_manifest(f"g{i}", **GPU))
        await standin.clock.advance(0)
    await http.post(PODS, json=pod_manifest("g2", **GPU))
    await standin.clock.advance(0)
    vmss = standin.cluster.autoscaler.vmss(standin.config.pool("gpu"))
    assert [r for r, _ in events_for(standin, "g2") if r != "FailedScheduling"] == []
    failed = [m for r, m in status_events(standin) if r == "FailedToScaleUpGroup"]
    assert failed == [f'Scale-up failed for group {vmss}: Code="OperationNotAllowed" Message="Operation could not be '
                      "completed as it results in exceeding approved gpuFamily Cores quota. Additional details - "
                      "Deployment Model: Resource Manager, Location: japaneast, Current Limit: 12, Current Usage: 12, "
                      'Additional Required: 6, (Minimum) New Limit Required: 18."']
    assert standin.cluster.ledger.count("gpu") == 2 and standin.cluster.autoscaler.target["gpu"] == 2
    # clusterstate.go buildScaleUpStatusNodeGroup: InProgress (g1's node is coming) wins over Backoff
    assert group_status(standin, "gpu")["scaleUp"]["status"] == "InProgress"
    info = standin.cluster.autoscaler.backoff.status("gpu", standin.clock.now())
    assert info.error_code == "cloudProviderError" and info.until == standin.clock.now() + 300
    assert info.error_message.startswith("failed to increase node group size: Code=")
    await standin.clock.advance(10)                         # the next loop
    [(_, message)] = [e for e in events_for(standin, "g2") if e[0] == "NotTriggerScaleUp"]
    assert message == ("pod didn't trigger scale-up: 2 node(s) didn't match Pod's node affinity/selector, "
                       "1 in backoff after failed scale-up")     # cpu and gpularge do not match agentpool=gpu
    # after 5 min the group is tried again, fails again: backoff doubles (10 min)
    await standin.clock.advance(300)
    assert len([m for r, m in status_events(standin) if r == "FailedToScaleUpGroup"]) == 1  # same message: filtered
    info = standin.cluster.autoscaler.backoff.info["gpu"]
    assert info.duration == 600


async def test_allocation_failure_triggers_then_times_out_and_reverts(tmp_path):
    # An asynchronous VMSS failure (azure_scale_set.go waitForCreateOrUpdateInstances only logs):
    # TriggeredScaleUp, no node; clusterstate/clusterstate.go updateScaleRequests after
    # max-node-provision-time (15m): ScaleUpTimedOut, backoff "timeout", target size reverted (1.36+)
    standin = await standin_with(tmp_path, gpu={"fail_scale_up": "allocation"})
    try:
        await post_all(standin, ["a", "b"], **GPU, cpu="100m")
        vmss = standin.cluster.autoscaler.vmss(standin.config.pool("gpu"))
        for name in "ab":   # one GPU each: two nodes
            assert ("TriggeredScaleUp", f"pod triggered scale-up: [{{{vmss} 0->2 (max: 3)}}]") in events_for(standin, name)
        assert standin.cluster.ledger.count("gpu") == 0     # no VM: Azure bills nothing
        await standin.clock.advance(899)
        assert [r for r, _ in status_events(standin)].count("ScaleUpTimedOut") == 0
        await standin.clock.advance(1)
        assert ("ScaleUpTimedOut", f"Nodes added to group {vmss} failed to register within 15m0s") in status_events(standin)
        assert standin.cluster.autoscaler.target["gpu"] == 0
        scale_up = group_status(standin, "gpu")["scaleUp"]
        assert scale_up["status"] == "Backoff" and scale_up["backoffInfo"] == {
            "errorCode": "timeout", "errorMessage": f"Scale-up timed out for node group {vmss} after 15m0s"}
        await standin.clock.advance(10)
        assert any(r == "NotTriggerScaleUp" and "1 in backoff after failed scale-up" in m
                   for r, m in events_for(standin, "a"))
        # backoff over (5 min): the same scale-up again; the identical event is counted, not repeated
        await standin.clock.advance(300)
        [again] = [e for e in standin.store.list("events", "default")
                   if e["reason"] == "TriggeredScaleUp" and e["involvedObject"]["name"] == "a"]
        assert again["count"] == 2
        assert standin.store.list("nodes", None, lambda n: n["metadata"]["labels"]["agentpool"] == "gpu") == []
    finally:
        await standin.stop()


async def test_autoscaler_resource_limits_are_its_own_quota(tmp_path):
    # 1.35+: core/scaleup/orchestrator/skippedreasons.go NewMaxResourceLimitReached
    # 'exceeded quota: %q, resources: %s' with the cluster-wide limiter's ID "cluster-wide"
    # (cloudprovider/resource_limiter.go); before 1.35: "max cluster cpu limit reached"
    config = cluster_config(autoscaler={"cores_total": 4})   # the system node already has 2 cores
    standin = KubeStandIn(config, manual_clock=True)
    await standin.start(kubeconfig_dir=str(tmp_path))
    try:
        await post_all(standin, ["g"], **GPU)
        [(_, message)] = [e for e in events_for(standin, "g") if e[0] == "NotTriggerScaleUp"]
        assert 'exceeded quota: "cluster-wide", resources: cpu' in message
    finally:
        await standin.stop()


async def test_a_group_not_ready_for_scale_up_is_a_transient_reason(tmp_path):
    # orchestrator.go filterValidScaleUpNodeGroups: a node group whose TargetSize() fails (Azure API
    # errors) is skipped with NotReadyReason "not ready for scale-up" (skippedreasons.go); the next loops
    # try again
    standin = await standin_with(tmp_path, gpu={"not_ready_seconds": 60})
    try:
        await post_all(standin, ["g"], **GPU)
        [(_, message)] = [e for e in events_for(standin, "g") if e[0] == "NotTriggerScaleUp"]
        assert message == ("pod didn't trigger scale-up: 2 node(s) didn't match Pod's node affinity/selector, "
                           "1 not ready for scale-up")
        await standin.clock.advance(60)
        vmss = standin.cluster.autoscaler.vmss(standin.config.pool("gpu"))
        assert ("TriggeredScaleUp", f"pod triggered scale-up: [{{{vmss} 0->1 (max: 3)}}]") in events_for(standin, "g")
    finally:
        await standin.stop()
