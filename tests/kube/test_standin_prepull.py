"""The stand-in's DaemonSets, serialized image pulls and the chart's continuous image puller.

Sources (github.com/kubernetes/kubernetes unless noted):
pkg/controller/daemon/daemon_controller.go (NodeShouldRunDaemonPod: node affinity and NoSchedule/NoExecute
taints; a pod per node on DaemonSet creation, on node add and after a pod's deletion),
pkg/controller/daemon/util/daemonset_util.go (ReplaceDaemonSetPodNodeNameNodeAffinity,
AddOrUpdateDaemonPodTolerations), pkg/kubelet/images/puller.go (serialImagePuller: one queue, one pull at
a time; KubeletConfiguration serializeImagePulls defaults to true), pkg/kubelet/images/image_manager.go
(EnsureImageExists: "already present on machine" without a pull for IfNotPresent; "Successfully pulled image
… in … (… including waiting)"), cluster-autoscaler simulator/drainability/rules/daemonset/rule.go
(DaemonSet pods do not keep a node from scale-down), zero-to-jupyterhub 4.4.0
templates/image-puller/_helpers-daemonset.tpl (the continuous-image-puller: one init container per image,
``echo "Pulling complete"``, then pause; tolerations from scheduling.userPods, singleuser.extraTolerations
and prePuller.extraTolerations).
"""

from __future__ import annotations

import pytest

from .conftest import _start, cluster_config, events_for, pod_manifest

pytestmark = [pytest.mark.kube, pytest.mark.warmup]

PODS = "/api/v1/namespaces/default/pods"
DSS = "/apis/apps/v1/namespaces/default/daemonsets"
PAUSE = "registry.k8s.io/pause:3.10.1"
NOTEBOOK = "example.com/notebook:1"       # 100Mi: 10 s at the test cluster's 10Mi/s
GPU_NOTEBOOK = "example.com/gpu-notebook:1"  # 1Gi: 102.4 s
GPU_TOLERATION = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
USER_TOLERATIONS = [  # the chart's scheduling.userPods.tolerations
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
]


def puller(name="continuous-image-puller", images=(NOTEBOOK, GPU_NOTEBOOK), extra_tolerations=(GPU_TOLERATION,)):
    """The chart's continuous-image-puller DaemonSet (prePuller.resources {} : no requests)."""
    init = [{"name": f"image-pull-{i}", "image": image, "command": ["/bin/sh", "-c", 'echo "Pulling complete"']}
            for i, image in enumerate(images)]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "labels": {"app": "jupyterhub", "component": name}},
            "spec": {"selector": {"matchLabels": {"component": name}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%"}},
                     "template": {
                         "metadata": {"labels": {"component": name}},
                         "spec": {"tolerations": USER_TOLERATIONS + list(extra_tolerations),
                                  "nodeSelector": {},
                                  "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                                      "nodeSelectorTerms": [{"matchExpressions": [
                                          {"key": "agentpool", "operator": "In", "values": ["gpu", "cpu"]}]}]}}},
                                  "terminationGracePeriodSeconds": 0, "automountServiceAccountToken": False,
                                  "initContainers": init,
                                  "containers": [{"name": "pause", "image": PAUSE}]}}}}


@pytest.fixture
async def standin(tmp_path):
    s = await _start(tmp_path, cluster_config(images={NOTEBOOK: "100Mi", GPU_NOTEBOOK: "1Gi", PAUSE: "1Mi",
                                                      "busybox:1.36": "4Mi"}), manual_clock=True)
    yield s
    await s.stop()


def gpu_nodes(standin):
    return sorted(n for n, s in standin.cluster.nodes.items() if s.pool.name == "gpu")


def pods_of(standin, ds_name):
    return standin.store.list("pods", "default", lambda p: p["metadata"].get("generateName") == ds_name + "-")


async def until(standin, check, limit=1200, step=1.0):
    """Advance the manual clock in steps until ``check()``; returns the time it became true."""
    for _ in range(int(limit / step)):
        if check():
            return standin.clock.now()
        await standin.clock.advance(step)
    raise AssertionError("condition never met")


async def gpu_node_up(http, standin, name="first", image="busybox:1.36"):
    """A GPU pod brings a GPU node up (scale from zero) and runs there."""
    body = pod_manifest(name, image=image, gpu=1, tolerate_gpu=True, selector={"agentpool": "gpu"})
    assert (await http.post(PODS, json=body)).status_code == 201
    await until(standin, lambda: standin.store.get("pods", "default", name)["status"].get("phase") == "Running")
    [node] = gpu_nodes(standin)
    return node


def pulled_lines(standin, pod):
    return [m for r, m in events_for(standin, pod) if r in ("Pulling", "Pulled")]


async def test_daemonset_api_and_pod_on_a_joining_tainted_node_only_when_tolerated(http, standin):
    # daemon_controller.go: a pod for each node that should run it, created when the node joins
    assert "apps" in [g["name"] for g in (await http.get("/apis")).json()["groups"]]
    r = await http.post(DSS, json=puller())
    assert r.status_code == 201, r.text
    ds = r.json()
    blind = puller("no-gpu-toleration", extra_tolerations=())  # the chart's default: userPods tolerations only
    assert (await http.post(DSS, json=blind)).status_code == 201
    assert pods_of(standin, "continuous-image-puller") == []  # no GPU node yet
    node = await gpu_node_up(http, standin)
    [pod] = pods_of(standin, "continuous-image-puller")
    # fitsTaints: sku=gpu:NoSchedule is not tolerated by the chart's default puller
    assert pods_of(standin, "no-gpu-toleration") == []
    assert pod["spec"]["nodeName"] == node
    # ReplaceDaemonSetPodNodeNameNodeAffinity: the required terms are replaced by the node's name
    assert pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"), ("sku", "NoSchedule")} <= keys
    [owner] = pod["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "DaemonSet", "continuous-image-puller", ds["metadata"]["uid"], True)
    status = (await http.get(DSS + "/continuous-image-puller")).json()["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"]) == (1, 1)
    # a deleted pod is created again while its node should run it; the DaemonSet's deletion ends them
    assert (await http.delete(PODS + "/" + pod["metadata"]["name"])).status_code == 200
    await until(standin, lambda: len(pods_of(standin, "continuous-image-puller")) == 1
                and pods_of(standin, "continuous-image-puller")[0]["metadata"]["uid"] != pod["metadata"]["uid"])
    assert (await http.delete(DSS + "/continuous-image-puller")).status_code == 200
    await until(standin, lambda: pods_of(standin, "continuous-image-puller") == [])


async def test_pulls_one_at_a_time_in_the_order_asked(http, standin):
    node = await gpu_node_up(http, standin)
    t0 = standin.clock.now()
    assert (await http.post(DSS, json=puller())).status_code == 201
    await standin.clock.advance(0)
    [pod] = pods_of(standin, "continuous-image-puller")
    name = pod["metadata"]["name"]
    # while the first init container's image is pulled, a user pod asks for the second image: its pull is
    # queued behind (serialImagePuller)
    await standin.clock.advance(5)
    assert standin.cluster.kubelet.puller.queued(node) == [NOTEBOOK]
    user = pod_manifest("bob", image=GPU_NOTEBOOK, cpu="100m", tolerate_gpu=True, selector={"agentpool": "gpu"})
    assert (await http.post(PODS, json=user)).status_code == 201
    await standin.clock.advance(0)
    assert standin.cluster.kubelet.puller.queued(node) == [NOTEBOOK, GPU_NOTEBOOK]
    ready = await until(standin, lambda: standin.store.get("pods", "default", "bob")["status"].get("phase")
                        == "Running", step=0.1)
    # bob's pull began when the puller's 10 s pull ended: 102.4 s, so ready 10 + 102.4 + 1 s (start) after t0
    assert ready - t0 == pytest.approx(113.4, abs=0.15)
    assert pulled_lines(standin, "bob") == [
        f'Pulling image "{GPU_NOTEBOOK}"',
        f'Successfully pulled image "{GPU_NOTEBOOK}" in 1m42.4s (1m47.4s including waiting). '
        f'Image size: 1073741824 bytes.']
    await until(standin, lambda: standin.store.get("pods", "default", name)["status"].get("phase") == "Running")
    assert pulled_lines(standin, name) == [
        f'Pulling image "{NOTEBOOK}"',
        f'Successfully pulled image "{NOTEBOOK}" in 10s (10s including waiting). Image size: 104857600 bytes.',
        # its second init container asked at 10 + 1 (start) + 1 (relist) s, behind bob's pull: no second
        # download, but it waited for bob's pull to end
        f'Pulling image "{GPU_NOTEBOOK}"',
        f'Successfully pulled image "{GPU_NOTEBOOK}" in 0s (1m40.4s including waiting). '
        f'Image size: 1073741824 bytes.',
        f'Pulling image "{PAUSE}"',
        f'Successfully pulled image "{PAUSE}" in 100ms (100ms including waiting). Image size: 1048576 bytes.']
    assert {NOTEBOOK, GPU_NOTEBOOK, PAUSE} <= standin.cluster.nodes[node].images


async def test_a_pod_asking_for_an_image_being_pulled_waits_for_that_pull_not_a_second_download(http, standin):
    node = await gpu_node_up(http, standin)
    assert (await http.post(DSS, json=puller(images=(GPU_NOTEBOOK,)))).status_code == 201
    await standin.clock.advance(0)
    t0 = standin.clock.now()
    await standin.clock.advance(50)  # halfway through the puller's 102.4 s pull
    user = pod_manifest("carol", image=GPU_NOTEBOOK, cpu="100m", tolerate_gpu=True, selector={"agentpool": "gpu"})
    assert (await http.post(PODS, json=user)).status_code == 201
    ready = await until(standin, lambda: standin.store.get("pods", "default", "carol")["status"].get("phase")
                        == "Running", step=0.1)
    # ready when the puller's pull ended, plus the container start: not 50 + 102.4 s
    assert ready - t0 == pytest.approx(103.4, abs=0.15)
    assert pulled_lines(standin, "carol")[-1] == (
        f'Successfully pulled image "{GPU_NOTEBOOK}" in 0s (52.4s including waiting). Image size: 1073741824 bytes.')
    # IfNotPresent: the next pod on the node pulls nothing
    later = pod_manifest("dave", image=GPU_NOTEBOOK, cpu="100m", tolerate_gpu=True, selector={"agentpool": "gpu"})
    assert (await http.post(PODS, json=later)).status_code == 201
    start = standin.clock.now()
    ready = await until(standin, lambda: standin.store.get("pods", "default", "dave")["status"].get("phase")
                        == "Running", step=0.1)
    assert ready - start == pytest.approx(1.0, abs=0.15)
    assert pulled_lines(standin, "dave") == [f'Container image "{GPU_NOTEBOOK}" already present on machine']
    assert node in standin.cluster.nodes


async def test_a_node_running_only_the_puller_scales_down(http, standin):
    # daemonset drainability rule: the puller's pod does not keep the node
    node = await gpu_node_up(http, standin)
    assert (await http.post(DSS, json=puller(images=(NOTEBOOK,)))).status_code == 201
    await until(standin, lambda: any(p["status"].get("phase") == "Running"
                                     for p in pods_of(standin, "continuous-image-puller")))
    assert (await http.delete(PODS + "/first")).status_code == 200
    # scale_down_unneeded_seconds 600 in the test cluster, then the taint, the 5 s delay and the VM's deletion
    await until(standin, lambda: node not in standin.cluster.nodes, limit=1500, step=10)
    assert pods_of(standin, "continuous-image-puller") == []  # went with the node, not created again
