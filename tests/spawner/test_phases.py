"""phases.observe and scaleup.read_not_triggered on event lists whose texts are the real components'.

Kubelet texts: kubernetes pkg/kubelet/images/image_manager.go (Pulling/Pulled/Failed/BackOff),
pkg/kubelet/kuberuntime/kuberuntime_container.go ("Created container: x", "Started container x"),
pkg/kubelet/container/ref.go (involvedObject.fieldPath), pkg/kubelet/kubelet_pods.go (waiting reasons).
Autoscaler texts: kubernetes/autoscaler cluster-autoscaler processors/status/eventing_scale_up_processor.go
("pod didn't trigger scale-up: " + "<count> <reason>" joined by ", "; "pod triggered scale-up: [...]"),
core/scaleup/orchestrator/skippedreasons.go (releases 1.31-1.34 and 1.35-1.36 differ on resource limits).
"""

from __future__ import annotations

import pytest

from hybridhub.spawner.messages import message, resource_names
from hybridhub.spawner.phases import Phase, container_of, observe
from hybridhub.spawner.scaleup import read_not_triggered

pytestmark = pytest.mark.spawner

TOOLS = "quay.io/jupyterhub/k8s-network-tools:4.4.0"
GPU_IMAGE = "registry.example.com/hybridhub/singleuser-gpu:latest"
INIT = "spec.initContainers{block-cloud-metadata}"
MAIN = "spec.containers{notebook}"
NOT_TRIGGERED = "pod didn't trigger scale-up: "
TRIGGERED = "pod triggered scale-up: [{aks-gpua10-12345678-vmss 0->1 (max: 3)}]"


def ev(reason, message, path=""):
    obj = {"kind": "Pod", "name": "jupyter-alice", **({"fieldPath": path} if path else {})}
    return {"reason": reason, "message": message, "involvedObject": obj}


def pod(init_status=None, main_state=None, phase="Pending", node="aks-gpua10-12345678-vmss000000"):
    status = {"phase": phase,
              "containerStatuses": [{"name": "notebook", "image": GPU_IMAGE, "ready": False,
                                     "state": main_state or {"waiting": {"reason": "PodInitializing"}}}]}
    if init_status is not None:
        status["initContainerStatuses"] = [{"name": "block-cloud-metadata", "image": TOOLS, "ready": False,
                                            **init_status}]
    return {"spec": {"nodeName": node, "initContainers": [{"name": "block-cloud-metadata", "image": TOOLS}],
                     "containers": [{"name": "notebook", "image": GPU_IMAGE}]},
            "status": status}


SCHEDULED = [ev("TriggeredScaleUp", TRIGGERED),
             ev("Scheduled", "Successfully assigned default/jupyter-alice to aks-gpua10-12345678-vmss000000")]
INIT_RAN = [ev("Pulling", f'Pulling image "{TOOLS}"', INIT),
            ev("Pulled", f'Successfully pulled image "{TOOLS}" in 1.2s (1.2s including waiting). Image size: '
               "10485760 bytes.", INIT),
            ev("Created", "Created container: block-cloud-metadata", INIT),
            ev("Started", "Started container block-cloud-metadata", INIT)]


def test_init_container_events_are_preparing_not_the_server_image():
    seen = observe(pod({"state": {"waiting": {"reason": "PodInitializing"}}}), SCHEDULED + INIT_RAN)
    assert seen.phase == Phase.PREPARING and seen.step == "block-cloud-metadata"
    assert seen.steps == ("block-cloud-metadata",)
    assert seen.image_size is None and seen.failure is None and seen.scale_up

    # the server image's pull begins only now: its phase, its deadline
    pulling = SCHEDULED + INIT_RAN + [ev("Pulling", f'Pulling image "{GPU_IMAGE}"', MAIN)]
    seen = observe(pod({"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}, "ready": True}), pulling)
    assert seen.phase == Phase.PULLING and seen.step == "" and seen.steps == ("block-cloud-metadata",)
    pulled = pulling + [ev("Pulled", f'Successfully pulled image "{GPU_IMAGE}" in 3m0.5s (3m0.5s including waiting). '
                           "Image size: 7516192768 bytes.", MAIN)]
    assert observe(pod(), pulled).image_size == 7516192768
    assert observe(pod(), pulled).phase == Phase.STARTING


def test_events_without_field_path_are_placed_by_container_name_or_image():
    p = pod()
    assert container_of(ev("Pulling", f'Pulling image "{TOOLS}"'), p) == ("init", "block-cloud-metadata")
    assert container_of(ev("Started", "Started container block-cloud-metadata"), p) == ("init", "block-cloud-metadata")
    assert container_of(ev("Pulling", f'Pulling image "{GPU_IMAGE}"'), p) == ("main", "notebook")
    assert container_of(ev("Scheduled", "Successfully assigned default/x to n"), p) == ("", "")
    legacy = [ev(e["reason"], e["message"]) for e in SCHEDULED + INIT_RAN]
    assert observe(p, legacy).phase == Phase.PREPARING


def test_sidecar_events_do_not_move_the_server_phase():
    p = pod()
    p["spec"]["containers"].append({"name": "proxy", "image": "example.com/proxy:1"})
    seen = observe(p, SCHEDULED + [ev("Pulled", 'Container image "example.com/proxy:1" already present on machine',
                                      "spec.containers{proxy}")])
    assert seen.phase == Phase.SCHEDULED


@pytest.mark.parametrize("waiting, kind, reason", [
    ({"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{TOOLS}"'}, "init_image_pull_failed",
     f'Back-off pulling image "{TOOLS}"'),
    ({"reason": "ErrImagePull", "message": f'failed to pull image "{TOOLS}": not found'}, "init_image_pull_failed",
     f'failed to pull image "{TOOLS}": not found'),
])
def test_init_image_failure_names_the_step_and_its_image(waiting, kind, reason):
    seen = observe(pod({"state": {"waiting": waiting}}), SCHEDULED + INIT_RAN[:1])
    assert (seen.failure.kind, seen.failure.step, seen.failure.image, seen.failure.reason) == (
        kind, "block-cloud-metadata", TOOLS, reason)
    text = message("init_image_pull_failed", "en", step=seen.failure.step, image=TOOLS, reason=reason)
    assert text.startswith(f"The start-up step block-cloud-metadata could not download its image {TOOLS} (")
    assert "singleuser" not in text
    assert "起動準備のステップ block-cloud-metadata がイメージ" in message(
        "init_image_pull_failed", "ja", step="block-cloud-metadata", image=TOOLS, reason=reason)


def test_a_first_err_image_pull_that_may_heal_is_not_yet_a_failure():
    waiting = {"reason": "ErrImagePull", "message": "rpc error: code = Unavailable desc = connection reset"}
    assert observe(pod({"state": {"waiting": waiting}}), SCHEDULED).failure is None


def test_crash_looping_init_container():
    status = {"state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed "
                                    "container=block-cloud-metadata pod=jupyter-alice_default(u)"}},
              "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}, "restartCount": 1}
    seen = observe(pod(status), SCHEDULED + INIT_RAN)
    assert (seen.failure.kind, seen.failure.step, seen.failure.reason) == ("init_crash_loop", "block-cloud-metadata",
                                                                           "exit code 2")


def test_the_server_waiting_pod_initializing_is_not_a_failure_and_its_own_failures_still_are():
    assert observe(pod({"state": {"waiting": {"reason": "PodInitializing"}}}), SCHEDULED).failure is None
    crashed = {"waiting": {"reason": "CrashLoopBackOff"}}
    p = pod({"state": {"terminated": {"exitCode": 0}}, "ready": True}, crashed)
    p["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 1}}
    assert observe(p, SCHEDULED).failure.kind == "crash_loop"


UNFIT = "3 node(s) didn't match Pod's node affinity/selector"


@pytest.mark.parametrize("reasons, kind, reason", [
    # skippedreasons.go, all releases
    (f"1 in backoff after failed scale-up, {UNFIT}", "scale_backoff",
     "the pool's last scale-up failed, so the autoscaler is backing off"),
    (f"{UNFIT}, 1 not ready for scale-up", "transient", "the pool is not ready for scale-up"),
    (f"1 max node group size reached, {UNFIT}", "pool_at_max", "the pool is at its maximum number of nodes"),
    # 1.31-1.34: MaxResourceLimitReached "max cluster %s limit reached"
    (f"1 max cluster cpu, memory limit reached, {UNFIT}", "autoscaler_limit", "cpu, memory"),
    # 1.35+: "exceeded quota: %q, resources: %s" with the cluster-wide limiter's ID
    (f'1 exceeded quota: "cluster-wide", resources: cpu, nvidia.com/gpu, {UNFIT}', "autoscaler_limit",
     "cpu, nvidia.com/gpu"),
    (f'{UNFIT}, 1 exceeded quota: "cluster-wide", resources: memory', "autoscaler_limit", "memory"),
    # eventing_scale_up_processor.go ReasonsMessage under --max-nodes-total
    ("max total nodes in cluster reached", "autoscaler_limit", "nodes"),
    # a pool at max elsewhere is no reason to wait; the own limits bind every pool
    (f'1 max node group size reached, 1 exceeded quota: "cluster-wide", resources: nvidia.com/gpu',
     "autoscaler_limit", "nvidia.com/gpu"),
    ("1 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint {sku: gpu}", "cannot_scale",
     "1 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint {sku: gpu}"),
])
def test_not_triggered_reasons(reasons, kind, reason):
    verdict = read_not_triggered(NOT_TRIGGERED + reasons)
    assert (verdict.kind, verdict.reason) == (kind, reason)


def test_transient_reason_keeps_waiting_then_a_scale_up_clears_it():
    waiting = [ev("FailedScheduling", "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."),
               ev("NotTriggerScaleUp", NOT_TRIGGERED + f"1 not ready for scale-up, {UNFIT}")]
    seen = observe({"spec": {"containers": [{"name": "notebook"}]}}, waiting)
    assert seen.phase == Phase.WAITING_FOR_NODE and seen.failure is None
    assert seen.autoscaler_note == "the pool is not ready for scale-up"
    seen = observe(None, waiting + [ev("TriggeredScaleUp", TRIGGERED)])
    assert seen.scale_up and seen.autoscaler_note == "" and seen.failure is None


def test_asynchronous_scale_up_failure_shows_as_back_off_after_the_trigger():
    # TriggeredScaleUp, no node ever; the group then in back-off (a different reason: not rate-limited)
    events = [ev("FailedScheduling", "0/2 nodes are available"), ev("TriggeredScaleUp", TRIGGERED),
              ev("NotTriggerScaleUp", NOT_TRIGGERED + f"1 in backoff after failed scale-up, {UNFIT}")]
    seen = observe(None, events)
    assert seen.scale_up and seen.failure.kind == "scale_backoff"


def test_an_autoscaler_refusal_after_the_pod_was_scheduled_is_stale():
    events = [ev("NotTriggerScaleUp", NOT_TRIGGERED + f"1 max node group size reached, {UNFIT}")]
    assert observe(pod(), events).failure is None


def test_limit_messages_name_the_resources_in_both_languages():
    assert resource_names("cpu, nvidia.com/gpu", "en") == "CPU cores and GPUs"
    assert resource_names("cpu, memory", "ja") == "CPU コア数・メモリ"
    assert resource_names("nvidia-tesla-t4, nodes", "en") == "GPUs and the total number of nodes"
    en = message("autoscaler_limit", "en", kind="GPU", resources=resource_names("nvidia.com/gpu", "en"))
    assert en.startswith("No GPU node can be added: the cluster autoscaler's own limit on GPUs is reached")
    assert "not the Azure quota" in en
    ja = message("autoscaler_limit", "ja", kind="GPU", resources=resource_names("nvidia.com/gpu", "ja"))
    assert ja.startswith("GPU ノードを追加できません。クラスターのオートスケーラー自身のGPU 数の上限")
    assert "Azure のクォータではなく" in ja
