"""Init containers in the kubelet model: one at a time, in order, before the main containers.

Reproduces kubernetes pkg/kubelet/kuberuntime/kuberuntime_manager.go (computePodActions: the next
init container starts only after the previous one exited 0; a failed one is restarted with back-off
unless restartPolicy is Never), kuberuntime_container.go (startContainer: pull, Created, Started for
each container), pkg/kubelet/images/image_manager.go (pull events), pkg/kubelet/kubelet_pods.go and
pkg/kubelet/status/generate.go (statuses and the Initialized condition) and pkg/kubelet/container/ref.go
(involvedObject.fieldPath of container events).
"""

from __future__ import annotations

import pytest

from .conftest import TEST_CLUSTER, _start, cluster_config, pod_manifest

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"
TOOLS = "quay.io/jupyterhub/k8s-network-tools:4.4.0"
# the chart's init container (zero-to-jupyterhub 4.4.0 files/hub/jupyterhub_config.py)
BLOCK = {"name": "block-cloud-metadata", "image": TOOLS,
         "command": ["iptables", "--append", "OUTPUT", "--protocol", "tcp", "--destination", "169.254.169.254",
                     "--destination-port", "80", "--jump", "DROP"],
         "securityContext": {"privileged": True, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}}


@pytest.fixture
async def standin(tmp_path):
    """The manual-clock stand-in (conftest's ``http`` uses this one), with the chart's tools image."""
    # 4 MiB at 10 MiB/s: the tools image pulls in 0.4 s
    s = await _start(tmp_path, cluster_config(images={**TEST_CLUSTER["images"], TOOLS: "4Mi"}), manual_clock=True)
    try:
        yield s
    finally:
        await s.stop()


def with_init(name, *init, **kwargs):
    body = pod_manifest(name, cpu="100m", **kwargs)
    body["spec"]["initContainers"] = [dict(c) for c in init]
    return body


async def create(http, standin, body):
    r = await http.post(PODS, json=body)
    assert r.status_code == 201, r.text
    await standin.clock.advance(0)


def pod(standin, name):
    return standin.store.get("pods", "default", name)


def events(standin, name):
    """``[(fieldPath, reason, message), ...]`` in creation order."""
    evs = standin.store.list("events", "default", lambda e: e["involvedObject"]["name"] == name)
    evs.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [(e["involvedObject"].get("fieldPath", ""), e["reason"], e["message"]) for e in evs]


def condition(p, type_):
    return next(c for c in p["status"]["conditions"] if c["type"] == type_)


async def test_init_containers_run_one_by_one_before_the_main_image_is_pulled(http, standin):
    # kuberuntime_manager.go computePodActions (next init container after the previous exited 0, then the
    # main containers); kuberuntime_container.go startContainer (pull, Created, Started per container);
    # kubelet_pods.go (PodInitializing), status/generate.go (Initialized), prober/prober_manager.go (ready)
    second = {**BLOCK, "name": "second"}
    await create(http, standin, with_init("p", BLOCK, second))
    init_path, second_path, main_path = ("spec.initContainers{block-cloud-metadata}", "spec.initContainers{second}",
                                         "spec.containers{notebook}")
    assert events(standin, "p")[-1] == (init_path, "Pulling", f'Pulling image "{TOOLS}"')
    p = pod(standin, "p")
    assert [cs["state"] for cs in p["status"]["initContainerStatuses"]] == [{"waiting": {"reason": "PodInitializing"}}] * 2
    assert p["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    initialized = condition(p, "Initialized")
    assert (initialized["status"], initialized["reason"]) == ("False", "ContainersNotInitialized")
    assert initialized["message"] == "containers with incomplete status: [block-cloud-metadata second]"

    await standin.clock.advance(0.4 + 1)           # pulled, then created and started
    assert [e[:2] for e in events(standin, "p")[-3:]] == [(init_path, "Pulled"), (init_path, "Created"),
                                                          (init_path, "Started")]
    assert events(standin, "p")[-1][2] == "Started container block-cloud-metadata"
    # the command exits within milliseconds: seen exited at the next relist, never running
    await standin.clock.advance(0.99)
    assert "running" not in pod(standin, "p")["status"]["initContainerStatuses"][0]["state"]
    await standin.clock.advance(0.01)
    p = pod(standin, "p")
    first = p["status"]["initContainerStatuses"][0]
    assert first["state"]["terminated"]["exitCode"] == 0 and first["state"]["terminated"]["reason"] == "Completed"
    assert first["ready"] is True
    assert condition(p, "Initialized")["message"] == "containers with incomplete status: [second]"
    # the next init container: same image, already there; a separate event (its fieldPath differs)
    assert events(standin, "p")[-1] == (second_path, "Pulled", f'Container image "{TOOLS}" already present on machine')
    assert not any(path == main_path for path, _, _ in events(standin, "p"))

    await standin.clock.advance(1 + 1)             # second: created, started, exited, relisted
    p = pod(standin, "p")
    assert condition(p, "Initialized")["status"] == "True" and "reason" not in condition(p, "Initialized")
    assert p["status"]["phase"] == "Pending" and p["status"]["podIP"].startswith("10.244.")
    # only now the main image: 100Mi at 10Mi/s, then start_seconds
    assert events(standin, "p")[-1] == (main_path, "Pulling", 'Pulling image "example.com/notebook:1"')
    assert p["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    await standin.clock.advance(10 + 1)
    p = pod(standin, "p")
    assert p["status"]["phase"] == "Running" and p["status"]["containerStatuses"][0]["ready"] is True
    assert [e[:2] for e in events(standin, "p")[-3:]] == [(main_path, "Pulled"), (main_path, "Created"),
                                                          (main_path, "Started")]
    assert [cs["ready"] for cs in p["status"]["initContainerStatuses"]] == [True, True]


async def test_missing_init_image_is_reported_on_the_init_container(http, standin):
    # images/image_manager.go (Failed, ErrImagePull, BackOff, ImagePullBackOff on the container's ref);
    # kubelet_pods.go convertToAPIContainerStatuses (the waiting reason from the reason cache, init too)
    missing = {**BLOCK, "image": "quay.io/jupyterhub/k8s-network-tools:0.0.0-typo"}
    await create(http, standin, with_init("m", missing))
    await standin.clock.advance(2)                 # pull_error_seconds
    path = "spec.initContainers{block-cloud-metadata}"
    evs = events(standin, "m")
    assert (path, "Failed", "Error: ErrImagePull") in evs
    assert any(p == path and r == "Failed" and m.startswith(f'Failed to pull image "{missing["image"]}"')
               and m.endswith("not found") for p, r, m in evs)
    p = pod(standin, "m")
    # the status keeps the kubelet's reason; "Init:ErrImagePull" is only kubectl's display
    assert p["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
    assert p["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    await standin.clock.advance(1)
    assert p["status"]["phase"] == "Pending"
    p = pod(standin, "m")
    assert p["status"]["initContainerStatuses"][0]["state"]["waiting"] == {
        "reason": "ImagePullBackOff", "message": f'Back-off pulling image "{missing["image"]}"'}
    assert (path, "BackOff", f'Back-off pulling image "{missing["image"]}"') in events(standin, "m")
    await standin.clock.advance(60)
    assert not any(p == "spec.containers{notebook}" for p, _, _ in events(standin, "m"))
    assert condition(pod(standin, "m"), "Initialized")["status"] == "False"


async def test_failing_init_container_is_restarted_with_back_off_and_the_server_never_starts(http, standin):
    # kuberuntime_manager.go computePodActions (a failed init container restarts under Always/OnFailure)
    # and doBackOff ("Back-off restarting failed container", CrashLoopBackOff)
    await create(http, standin, with_init("f", {**BLOCK, "command": ["false"]}))
    await standin.clock.advance(0.4 + 1 + 2)       # pull, start, crash_after_seconds
    path = "spec.initContainers{block-cloud-metadata}"
    cs = pod(standin, "f")["status"]["initContainerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" and cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert any(p == path and r == "BackOff" and m.startswith("Back-off restarting failed container block-cloud-metadata")
               for p, r, m in events(standin, "f"))
    await standin.clock.advance(10 + 2)            # restarted after the back-off, fails again
    cs = pod(standin, "f")["status"]["initContainerStatuses"][0]
    assert cs["restartCount"] == 2 and "back-off 20s" in cs["state"]["waiting"]["message"]
    assert (path, "Pulled", f'Container image "{TOOLS}" already present on machine') in events(standin, "f")
    p = pod(standin, "f")
    assert p["status"]["phase"] == "Pending" and condition(p, "Initialized")["status"] == "False"
    assert not any(p == "spec.containers{notebook}" for p, _, _ in events(standin, "f"))


async def test_failing_init_container_with_restart_never_fails_the_pod(http, standin):
    # kuberuntime_manager.go computePodActions (init failed and no restart: KillPod); kubelet_pods.go getPhase
    await create(http, standin, with_init("n", {**BLOCK, "command": ["false"]}, restart="Never"))
    await standin.clock.advance(0.4 + 1 + 2)
    p = pod(standin, "n")
    assert p["status"]["phase"] == "Failed"
    assert p["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert p["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}


async def test_main_container_events_name_their_container(http, standin):
    # container/ref.go GenerateContainerRef: kubelet events about a container carry its fieldPath
    await create(http, standin, pod_manifest("plain", cpu="100m"))
    await standin.clock.advance(11)
    assert {p for p, _, _ in events(standin, "plain") if p} == {"spec.containers{notebook}"}
    assert ("", "Scheduled") in {(p, r) for p, r, _ in events(standin, "plain")}
    assert pod(standin, "plain")["status"]["containerStatuses"][0]["state"].keys() == {"running"}
    assert "initContainerStatuses" not in pod(standin, "plain")["status"]


async def test_deletion_stops_only_running_containers(http, standin):
    # kuberuntime_container.go killContainersWithSyncResult: the running containers get "Stopping container x"
    await create(http, standin, with_init("d", BLOCK))
    await standin.clock.advance(1)                 # still initialising: nothing of the server runs
    assert (await http.delete(PODS + "/d")).status_code == 200
    assert "Killing" not in [r for _, r, _ in events(standin, "d")]
    await create(http, standin, pod_manifest("r", cpu="100m"))
    await standin.clock.advance(11)
    assert (await http.delete(PODS + "/r")).status_code == 200
    assert ("spec.containers{notebook}", "Killing", "Stopping container notebook") in events(standin, "r")
