"""The stand-in's PriorityClasses, Priority admission, scheduler preemption and the autoscaler's cutoff.

Each test names the source it follows (github.com/kubernetes/kubernetes unless noted):
pkg/apis/scheduling/v1/helpers.go, pkg/apis/scheduling/validation/validation.go,
pkg/registry/scheduling/priorityclass/storage/storage.go, plugin/pkg/admission/priority/admission.go,
pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go,
pkg/scheduler/framework/preemption/preemption.go; cluster-autoscaler FAQ.md ("How does Cluster
Autoscaler work with Pod Priority and Preemption?") and core/utils FilterOutExpendableAndSplit;
zero-to-jupyterhub 4.4.0 (templates/scheduling/priorityclass.yaml, user-placeholder/priorityclass.yaml,
image-pull/priorityclass.yaml, user-placeholder/statefulset.yaml, values.yaml scheduling.podPriority).
"""

from __future__ import annotations

import pytest

from .conftest import _start, cluster_config, events_for, pod_manifest

pytestmark = [pytest.mark.kube, pytest.mark.warmup]

PODS = "/api/v1/namespaces/default/pods"
PCS = "/apis/scheduling.k8s.io/v1/priorityclasses"
PAUSE = "registry.k8s.io/pause:3.10.1"
GPU_TOLERATION = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}


def pc(name, value, **extra):
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **extra}


# zero-to-jupyterhub 4.4.0 with scheduling.podPriority.enabled and release "jhub": values.yaml
# defaultPriority 0, imagePullerPriority -5, userPlaceholderPriority -10, globalDefault false.
CHART_CLASSES = [  # (descriptions left out: not what the tests are about)
    pc("jhub-default-priority", 0, globalDefault=False),
    pc("jhub-image-puller-priority", -5, globalDefault=False),
    pc("jhub-user-placeholder-priority", -10, globalDefault=False),
]


def placeholder(name, gpu=1, cpu="500m"):
    """The chart's user-placeholder pod template (statefulset.yaml): pause, the users' resources,
    terminationGracePeriodSeconds 0, priorityClassName <release>-user-placeholder-priority."""
    resources = {"requests": {"cpu": cpu, "memory": "256Mi"}}
    if gpu:
        resources["limits"] = {"nvidia.com/gpu": str(gpu)}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"component": "user-placeholder", "app": "jupyterhub",
                                                  "release": "jhub"}},
            "spec": {"priorityClassName": "jhub-user-placeholder-priority",
                     "tolerations": [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
                                      "effect": "NoSchedule"}, GPU_TOLERATION],
                     "nodeSelector": {"agentpool": "gpu"}, "terminationGracePeriodSeconds": 0,
                     "automountServiceAccountToken": False,
                     "containers": [{"name": "pause", "image": PAUSE, "resources": resources}]}}


def user_pod(name, cls="jhub-default-priority", gpu=1, cpu="500m"):
    """A user pod as KubeSpawner makes it with c.KubeSpawner.priority_class_name (the chart's jupyterhub_config.py)."""
    body = pod_manifest(name, cpu=cpu, gpu=gpu, tolerate_gpu=True, selector={"agentpool": "gpu"})
    if cls:
        body["spec"]["priorityClassName"] = cls
    return body


@pytest.fixture
async def standin(tmp_path):
    """conftest's manual-clock stand-in (and so its ``http`` client), with the placeholders' pause image."""
    s = await _start(tmp_path, cluster_config(images={"example.com/notebook:1": "100Mi", PAUSE: "1Mi"}),
                     manual_clock=True)
    yield s
    await s.stop()


async def chart_classes(http):
    for body in CHART_CLASSES:
        r = await http.post(PCS, json=body)
        assert r.status_code == 201, r.text


def gpu_nodes(standin):
    return sorted(n for n, s in standin.cluster.nodes.items() if s.pool.name == "gpu")


def pod_of(standin, name):
    return standin.store.find("pods", "default", name)


# ---------------------------------------------------------------------- PriorityClass API
async def test_system_classes_exist_and_cannot_be_deleted(http):
    # helpers.go systemPriorityClasses; storage.go Delete
    r = await http.get(PCS)
    assert r.json()["kind"] == "PriorityClassList" and r.json()["apiVersion"] == "scheduling.k8s.io/v1"
    got = {i["metadata"]["name"]: (i["value"], i["preemptionPolicy"]) for i in r.json()["items"]}
    assert got == {"system-cluster-critical": (2000000000, "PreemptLowerPriority"),
                   "system-node-critical": (2000001000, "PreemptLowerPriority")}
    r = await http.delete(PCS + "/system-node-critical")
    assert r.status_code == 403
    assert r.json()["message"] == ('priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: '
                                   "this is a system priority class and cannot be deleted")
    assert "scheduling.k8s.io" in [g["name"] for g in (await http.get("/apis")).json()["groups"]]
    assert (await http.get("/api/v1/priorityclasses")).status_code == 404  # not a core/v1 resource


async def test_priority_class_create_defaults_and_strict_validation(http):
    r = await http.post(PCS, json=pc("placeholder", -10))
    assert r.status_code == 201
    assert r.json()["preemptionPolicy"] == "PreemptLowerPriority"  # v1/defaults.go
    assert "globalDefault" not in r.json()  # omitempty
    # validation.go: user classes at most HighestUserDefinablePriority
    r = await http.post(PCS, json=pc("huge", 1_000_000_001))
    assert r.status_code == 422
    assert r.json()["message"] == ('PriorityClass.scheduling.k8s.io "huge" is invalid: value: Forbidden: maximum '
                                   "allowed value of a user defined priority is 1000000000")
    assert (await http.post(PCS, json=pc("ok-max", 1_000_000_000))).status_code == 201
    r = await http.post(PCS, json=pc("system-mine", 5))
    assert r.status_code == 422
    assert r.json()["message"].endswith("metadata.name: Forbidden: priority class names with 'system-' prefix are "
                                        "reserved for system use only. error: system-mine is not a known system "
                                        "priority class")
    assert (await http.post(PCS, json=pc("bad", 1, preemptionPolicy="Sometimes"))).status_code == 422
    r = await http.post(PCS, json=pc("typo", 1, globalDefualt=True))
    assert r.status_code == 400 and 'unknown field "globalDefualt"' in r.json()["message"]
    # admission.go validatePriorityClass: one globalDefault
    assert (await http.post(PCS, json=pc("default-a", 5, globalDefault=True))).status_code == 201
    r = await http.post(PCS, json=pc("default-b", 6, globalDefault=True))
    assert r.status_code == 403
    assert r.json()["message"] == ('priorityclasses.scheduling.k8s.io "default-b" is forbidden: PriorityClass '
                                   "default-a is already marked as default. Only one default can exist")
    # ValidatePriorityClassUpdate: value immutable
    r = await http.patch(PCS + "/placeholder", json={"value": -5},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 422 and "value: Forbidden: may not be changed in an update." in r.json()["message"]
    r = await http.get(PCS + "/nope")
    assert r.status_code == 404
    assert r.json()["message"] == 'priorityclasses.scheduling.k8s.io "nope" not found'
    assert (await http.delete(PCS + "/placeholder")).status_code == 200
    assert (await http.get(PCS + "/placeholder")).status_code == 404


# ---------------------------------------------------------------------- Priority admission
async def test_pod_priority_is_resolved_from_its_class(http, standin):
    # admission.go admitPod
    await chart_classes(http)
    r = await http.post(PODS, json=user_pod("plain", cls=None))
    assert r.status_code == 201
    spec = r.json()["spec"]
    assert (spec["priority"], spec["preemptionPolicy"], spec.get("priorityClassName")) == (
        0, "PreemptLowerPriority", None)
    r = await http.post(PODS, json=placeholder("ph"))
    assert (r.json()["spec"]["priority"], r.json()["spec"]["priorityClassName"]) == (
        -10, "jhub-user-placeholder-priority")
    r = await http.post(PODS, json=user_pod("typo", cls="jhub-defualt-priority"))
    assert r.status_code == 403
    assert r.json()["message"] == 'pods "typo" is forbidden: no PriorityClass with name jhub-defualt-priority was found'
    body = placeholder("cheat")
    body["spec"]["priority"] = 1000
    r = await http.post(PODS, json=body)
    assert r.status_code == 403
    assert r.json()["message"] == ('pods "cheat" is forbidden: the integer value of priority (1000) must not be '
                                   "provided in pod spec; priority admission controller computed -10 from the given "
                                   "PriorityClass name")
    body = placeholder("same")
    body["spec"]["priority"] = -10
    assert (await http.post(PODS, json=body)).status_code == 201
    # a globalDefault class names itself on pods without a class
    assert (await http.post(PCS, json=pc("everyone", 7, globalDefault=True, preemptionPolicy="Never"))).status_code == 201
    spec = (await http.post(PODS, json=user_pod("defaulted", cls=None))).json()["spec"]
    assert (spec["priorityClassName"], spec["priority"], spec["preemptionPolicy"]) == ("everyone", 7, "Never")


# ---------------------------------------------------------------------- preemption
async def warm_gpu_node(http, standin, name="ph-0", **kw):
    """A placeholder brings a GPU node up (priority -10 is not below the autoscaler's cutoff -10)."""
    assert (await http.post(PODS, json=placeholder(name, **kw))).status_code == 201
    await standin.clock.advance(310)  # the gpu pool's provisioning_seconds is 300, then pull and start
    ph = pod_of(standin, name)
    assert ph["status"]["phase"] == "Running", ph["status"]
    return ph


async def test_user_pod_preempts_a_placeholder_on_a_warm_node(http, standin):
    await chart_classes(http)
    ph = await warm_gpu_node(http, standin)
    [node] = gpu_nodes(standin)
    assert ph["spec"]["nodeName"] == node
    r = await http.post(PODS, json=user_pod("jupyter-alice"))
    user = r.json()
    await standin.clock.advance(0)
    await standin.clock.advance(0)
    # PreemptPod: the placeholder (grace 0, as the chart sets) is gone at once, with the event
    assert pod_of(standin, "ph-0") is None
    preempted = [e for e in standin.store.list("events", "default") if e["reason"] == "Preempted"]
    assert [(e["involvedObject"]["name"], e["message"], e["action"], e["reportingComponent"]) for e in preempted] == [
        ("ph-0", f"Preempted by pod {user['metadata']['uid']} on node {node}", "Preempting", "default-scheduler")]
    alice = pod_of(standin, "jupyter-alice")
    assert alice["status"]["nominatedNodeName"] == node
    assert alice["spec"]["nodeName"] == node
    # the events in order: the victim's Preempted, the preemptor's FailedScheduling (no preemption text when
    # preemption succeeded: PostFilter's status message is empty), then Scheduled on the freed node
    evs = sorted(standin.store.list("events", "default", lambda e: e["involvedObject"]["name"] in ("ph-0", "jupyter-alice")
                                    and e["reason"] in ("Preempted", "FailedScheduling", "Scheduled")
                                    and e["metadata"]["creationTimestamp"] >= alice["metadata"]["creationTimestamp"]),
                 key=lambda e: int(e["metadata"]["resourceVersion"]))
    assert [(e["involvedObject"]["name"], e["reason"]) for e in evs] == [
        ("ph-0", "Preempted"), ("jupyter-alice", "FailedScheduling"), ("jupyter-alice", "Scheduled")]
    assert evs[1]["message"] == ("0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match "
                                 "Pod's node affinity/selector.")
    assert evs[2]["message"] == f"Successfully assigned default/jupyter-alice to {node}"
    # the autoscaler leaves a pod waiting for preemption alone: no second GPU node
    await standin.clock.advance(30)
    assert standin.cluster.autoscaler.upcoming_count("gpu") == 0 and gpu_nodes(standin) == [node]
    assert "TriggeredScaleUp" not in [r for r, _ in events_for(standin, "jupyter-alice")]
    await standin.clock.advance(20)
    assert pod_of(standin, "jupyter-alice")["status"]["phase"] == "Running"


async def test_preemption_policy_never_does_not_preempt(http, standin):
    await chart_classes(http)
    await warm_gpu_node(http, standin)
    assert (await http.post(PCS, json=pc("polite", 1000, preemptionPolicy="Never"))).status_code == 201
    await http.post(PODS, json=user_pod("polite-user", cls="polite"))
    await standin.clock.advance(0)
    assert pod_of(standin, "ph-0") is not None
    [(reason, message)] = [e for e in events_for(standin, "polite-user") if e[0] == "FailedScheduling"]
    assert message == ("0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match Pod's node "
                       "affinity/selector. preemption: not eligible due to preemptionPolicy=Never.")
    assert "nominatedNodeName" not in pod_of(standin, "polite-user")["status"]


async def test_no_lower_priority_pods_no_victims(http, standin):
    # SelectVictimsOnNode: no potential victim -> "No preemption victims found for incoming pod"; node(s)
    # failing an unresolvable filter (taint) are "Preemption is not helpful for scheduling"
    await chart_classes(http)
    await http.post(PODS, json=user_pod("first"))
    await standin.clock.advance(301)
    assert pod_of(standin, "first")["spec"].get("nodeName")
    body = user_pod("second")
    body["spec"].pop("tolerations")
    body["spec"].pop("nodeSelector")
    await http.post(PODS, json=body)
    await standin.clock.advance(0)
    [message] = [m for r, m in events_for(standin, "second") if r == "FailedScheduling"]
    assert message == ("0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint "
                       "{sku: gpu}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming "
                       "pod, 1 Preemption is not helpful for scheduling.")


async def test_the_node_with_the_lowest_priority_victim_is_chosen(http, standin):
    # pickOneNodeForPreemption: minimum highest-priority victim first
    await chart_classes(http)
    await http.post(PODS, json=placeholder("ph-a"))
    await http.post(PODS, json=placeholder("ph-b"))
    await standin.clock.advance(301)
    node_a, node_b = pod_of(standin, "ph-a")["spec"]["nodeName"], pod_of(standin, "ph-b")["spec"]["nodeName"]
    assert node_a != node_b
    await http.delete(PODS + "/ph-b")
    puller = user_pod("puller", cls="jhub-image-puller-priority")  # -5: above the placeholders
    puller["spec"]["nodeSelector"] = {"kubernetes.io/hostname": node_b}
    assert (await http.post(PODS, json=puller)).status_code == 201
    await standin.clock.advance(20)
    assert pod_of(standin, "puller")["spec"]["nodeName"] == node_b
    await http.post(PODS, json=user_pod("jupyter-bob"))
    await standin.clock.advance(0)
    assert pod_of(standin, "ph-a") is None and pod_of(standin, "puller") is not None
    assert pod_of(standin, "jupyter-bob")["status"]["nominatedNodeName"] == node_a


async def test_fewest_victims_the_most_important_is_reprieved(http, standin):
    # SelectVictimsOnNode: all lower-priority pods removed, then reprieved by MoreImportantPod (same
    # priority: the one that started earlier) while the preemptor still fits
    await chart_classes(http)
    await warm_gpu_node(http, standin, name="ph-early", gpu=0, cpu="2")
    await http.post(PODS, json=placeholder("ph-late", gpu=0, cpu="2"))
    await standin.clock.advance(5)
    assert pod_of(standin, "ph-late")["spec"]["nodeName"] == pod_of(standin, "ph-early")["spec"]["nodeName"]
    await http.post(PODS, json=user_pod("jupyter-carol", gpu=0, cpu="3"))  # 6 CPUs: 2 free, one victim frees 2
    await standin.clock.advance(0)
    assert pod_of(standin, "ph-late") is None and pod_of(standin, "ph-early") is not None
    assert pod_of(standin, "jupyter-carol")["spec"].get("nodeName")


# ---------------------------------------------------------------------- cluster-autoscaler's cutoff
async def test_pods_below_the_cutoff_neither_scale_up_nor_keep_a_node(http, standin):
    # FAQ.md: priority below --expendable-pods-priority-cutoff (-10): no scale-up, no protection from scale-down
    assert (await http.post(PCS, json=pc("expendable", -11))).status_code == 201
    await http.post(PODS, json=user_pod("cheap", cls="expendable"))
    await standin.clock.advance(400)
    assert gpu_nodes(standin) == []
    assert [r for r, _ in events_for(standin, "cheap")] == ["FailedScheduling"]  # no autoscaler event
    # a real pod brings a node; the expendable one joins it; the node goes once only it is left
    await http.post(PODS, json=user_pod("real", cls=None))
    await standin.clock.advance(301)
    [node] = gpu_nodes(standin)
    await http.delete(PODS + "/real", params={"gracePeriodSeconds": "0"})
    await standin.clock.advance(0)
    assert pod_of(standin, "cheap")["spec"]["nodeName"] == node
    await standin.clock.advance(601)  # the pool's scale_down_unneeded_seconds is 600
    taints = standin.store.get("nodes", None, node)["spec"].get("taints") or []
    assert "ToBeDeletedByClusterAutoscaler" in [t["key"] for t in taints]


async def test_the_cutoff_is_a_flag(tmp_path):
    from tests.kube_standin import KubeStandIn, load_config
    from .conftest import TEST_CLUSTER
    config = load_config({**TEST_CLUSTER, "autoscaler": {"expendable_pods_priority_cutoff": -5}})
    assert config.autoscaler.expendable_pods_priority_cutoff == -5
    s = KubeStandIn(config, manual_clock=True)
    assert s.cluster.autoscaler.expendable({"spec": {"priority": -10}})
    assert not s.cluster.autoscaler.expendable({"spec": {"priority": -5}})


async def test_a_victim_with_a_grace_period_keeps_the_preemptor_waiting(http, standin):
    # PodEligibleToPreemptOthers: while a victim on the nominated node terminates, no new preemption;
    # the preemptor is bound when the kubelet has stopped the victim (graceful deletion)
    await chart_classes(http)
    await http.post(PODS, json=user_pod("puller", cls="jhub-image-puller-priority"))
    await standin.clock.advance(310)
    node = pod_of(standin, "puller")["spec"]["nodeName"]
    await http.post(PODS, json=user_pod("jupyter-dan"))
    await standin.clock.advance(0)
    victim = pod_of(standin, "puller")
    assert "deletionTimestamp" in victim["metadata"]
    assert [c["reason"] for c in victim["status"]["conditions"] if c["type"] == "DisruptionTarget"] == [
        "PreemptionByScheduler"]
    dan = pod_of(standin, "jupyter-dan")
    assert dan["status"]["nominatedNodeName"] == node and not dan["spec"].get("nodeName")
    await http.post(PODS, json=user_pod("nudge", cls=None, gpu=0, cpu="100m"))  # another scheduling pass
    await standin.clock.advance(0)
    conds = [c for c in pod_of(standin, "jupyter-dan")["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert conds[0]["message"].endswith("preemption: not eligible due to a terminating pod on the nominated node.")
    await standin.clock.advance(5)  # terminate_seconds is 1
    assert pod_of(standin, "puller") is None
    assert pod_of(standin, "jupyter-dan")["spec"]["nodeName"] == node
