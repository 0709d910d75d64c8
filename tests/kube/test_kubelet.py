"""Kubelet model: pull time from image size, ErrImagePull/ImagePullBackOff, Running with a
pod IP, CrashLoopBackOff, graceful deletion, and real local processes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.kube_standin import KubeStandIn

from .conftest import cluster_config, events_for, pod_manifest, reasons_for

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"


def pod(standin, name):
    return standin.store.get("pods", "default", name)


def container_state(standin, name):
    return pod(standin, name)["status"]["containerStatuses"][0]


async def create(http, standin, body):
    r = await http.post(PODS, json=body)
    assert r.status_code == 201, r.text
    await standin.clock.advance(0)


async def test_pull_time_follows_image_size_then_running_with_pod_ip(http, standin):
    # system node, no scale-up: bound at t0; 100Mi at 10Mi/s = 10 s; start 1 s
    await create(http, standin, pod_manifest("a", cpu="100m"))
    assert container_state(standin, "a")["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert reasons_for(standin, "a") == ["Scheduled", "Pulling"]
    await standin.clock.advance(9.99)
    assert "Pulled" not in reasons_for(standin, "a")
    await standin.clock.advance(0.01)
    pulled = [m for r, m in events_for(standin, "a") if r == "Pulled"][0]
    assert pulled.startswith('Successfully pulled image "example.com/notebook:1" in 10s (10s including waiting)')
    assert "Image size: 104857600 bytes." in pulled
    assert pod(standin, "a")["status"]["phase"] == "Pending"
    await standin.clock.advance(1)
    p = pod(standin, "a")
    assert p["status"]["phase"] == "Running"
    assert p["status"]["podIP"].startswith("10.244.")
    assert p["status"]["containerStatuses"][0]["ready"] is True
    assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "True"
    assert reasons_for(standin, "a")[-2:] == ["Created", "Started"]

    # same node, image cached: no pull
    await create(http, standin, pod_manifest("b", cpu="100m"))
    assert ("Pulled", 'Container image "example.com/notebook:1" already present on machine') in \
        events_for(standin, "b")
    await standin.clock.advance(1)
    assert pod(standin, "b")["status"]["phase"] == "Running"
    assert pod(standin, "b")["status"]["podIP"] != p["status"]["podIP"]


async def test_big_gpu_image_takes_minutes(http, standin):
    await create(http, standin, pod_manifest("g", image="example.com/gpu-notebook:1", gpu=1, tolerate_gpu=True))
    await standin.clock.advance(300)           # node provisioning
    assert "Pulling" in reasons_for(standin, "g")
    await standin.clock.advance(102.4 + 1 - 0.01)
    assert pod(standin, "g")["status"]["phase"] == "Pending"
    await standin.clock.advance(0.01)
    assert pod(standin, "g")["status"]["phase"] == "Running"


def test_durations_are_formatted_like_go():
    from tests.kube_standin.kubelet import go_duration
    assert [go_duration(x) for x in (0.25, 10, 153.6, 3600 + 61.5)] == ["250ms", "10s", "2m33.6s", "1h1m1.5s"]


async def test_unknown_image_err_image_pull_then_backoff(http, standin):
    await create(http, standin, pod_manifest("x", image="example.com/typo:1", cpu="100m"))
    await standin.clock.advance(2)
    assert container_state(standin, "x")["state"]["waiting"]["reason"] == "ErrImagePull"
    evs = events_for(standin, "x")
    assert ("Failed", "Error: ErrImagePull") in evs
    assert any(r == "Failed" and "not found" in m and "example.com/typo:1" in m for r, m in evs)
    await standin.clock.advance(1)
    assert container_state(standin, "x")["state"]["waiting"]["reason"] == "ImagePullBackOff"
    assert ("BackOff", 'Back-off pulling image "example.com/typo:1"') in events_for(standin, "x")
    # exponential back-off: retried after 10 s, then 20 s; events are deduplicated with a count
    await standin.clock.advance(10 + 2 + 1 + 20 + 2)
    pulling = [e for e in standin.store.list("events", "default")
               if e["involvedObject"]["name"] == "x" and e["reason"] == "Pulling"]
    assert pulling[0]["count"] == 3
    assert pod(standin, "x")["status"]["phase"] == "Pending"


async def test_failing_command_crash_loop_back_off(http, standin):
    await create(http, standin, pod_manifest("c", command=["false"], cpu="100m"))
    await standin.clock.advance(11)
    assert pod(standin, "c")["status"]["phase"] == "Running"
    await standin.clock.advance(2)                          # crash_after_seconds
    cs = container_state(standin, "c")
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["restartCount"] == 1 and cs["ready"] is False
    assert "BackOff" in reasons_for(standin, "c")
    await standin.clock.advance(10 + 2)                      # restarted after 10 s, crashes again 2 s later
    cs = container_state(standin, "c")
    assert cs["restartCount"] == 2 and "back-off 20s" in cs["state"]["waiting"]["message"]


async def test_command_exiting_before_the_relist_is_never_seen_ready(tmp_path):
    # kubernetes pkg/kubelet/kubelet.go (genericPlegRelistPeriod = 1 s) and pkg/kubelet/pleg/generic.go:
    # state is read from the runtime at each relist, so a container that has already exited
    # by then is reported exited (then CrashLoopBackOff), never running and ready.
    standin = KubeStandIn(cluster_config(kubelet={"crash_after_seconds": 0}), manual_clock=True)
    await standin.start(kubeconfig_dir=str(tmp_path))
    try:
        async with httpx.AsyncClient(base_url=standin.url, timeout=10,
                                     headers={"Authorization": f"Bearer {standin.token}"}) as http:
            await create(http, standin, pod_manifest("q", command=["false"], cpu="100m"))
            await standin.clock.advance(12)
            # every version a watcher could have seen
            seen = [cs for change in standin.store._history if change.plural == "pods"
                    and change.obj["metadata"]["name"] == "q"
                    for cs in change.obj["status"].get("containerStatuses") or []]
            assert seen and not any(cs["ready"] or "running" in cs["state"] for cs in seen)
            assert "Started" in reasons_for(standin, "q")
            cs = container_state(standin, "q")
            assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
            assert cs["lastState"]["terminated"]["exitCode"] == 1
    finally:
        await standin.stop()


async def test_failing_command_with_restart_never_fails_the_pod(http, standin):
    await create(http, standin, pod_manifest("n", command=["/bin/false"], cpu="100m", restart="Never"))
    await standin.clock.advance(13)
    p = pod(standin, "n")
    assert p["status"]["phase"] == "Failed"
    assert p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1


async def test_graceful_delete_marks_then_removes(http, standin):
    await create(http, standin, pod_manifest("d", cpu="100m"))
    await standin.clock.advance(11)
    r = await http.request("DELETE", PODS + "/d", json={"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 20})
    assert r.status_code == 200
    assert r.json()["metadata"]["deletionGracePeriodSeconds"] == 20
    assert "Killing" in reasons_for(standin, "d")
    assert standin.store.find("pods", "default", "d") is not None
    await standin.clock.advance(1)
    assert standin.store.find("pods", "default", "d") is None
    r = await http.delete(PODS + "/d")
    assert r.status_code == 404


async def test_local_process_answers_on_its_pod_ip(tmp_path):
    config = cluster_config(kubelet={"local_processes": True})
    standin = KubeStandIn(config, speed=1000)
    await standin.start(kubeconfig_dir=str(tmp_path))
    try:
        async with httpx.AsyncClient(base_url=standin.url, headers={"Authorization": f"Bearer {standin.token}"},
                                     timeout=10) as http:
            body = pod_manifest("web", image="busybox:1.36", cpu="100m",
                                command=["python3", "-m", "http.server", "8080"])
            body["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
            # the pod IP is only known at start: the kubelet appends local_extra_args with {pod_ip} filled in
            standin.config.kubelet.local_extra_args = ["--bind", "{pod_ip}"]
            assert (await http.post(PODS, json=body)).status_code == 201
            crash = pod_manifest("crash", image="busybox:1.36", cpu="100m",
                                 command=["python3", "-c", "import sys; sys.exit(3)"])
            assert (await http.post(PODS, json=crash)).status_code == 201

            async def running():
                while pod(standin, "web")["status"].get("phase") != "Running":
                    await asyncio.sleep(0.02)
                ip = pod(standin, "web")["status"]["podIP"]
                while True:
                    try:
                        return ip, (await http.get(f"http://{ip}:8080/"))
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            ip, r = await asyncio.wait_for(running(), 15)
            assert ip.startswith("127.42.") and r.status_code == 200

            async def crashed():
                while container_state(standin, "crash").get("lastState", {}).get("terminated") is None:
                    await asyncio.sleep(0.02)
                return container_state(standin, "crash")
            cs = await asyncio.wait_for(crashed(), 15)
            assert cs["lastState"]["terminated"]["exitCode"] == 3
            assert cs["restartCount"] >= 1          # at 1000x, the 10 s back-off is already over
            assert "BackOff" in reasons_for(standin, "crash")

            assert (await http.delete(PODS + "/web", params={"gracePeriodSeconds": "5"})).status_code == 200

            async def gone():
                while standin.store.find("pods", "default", "web") is not None:
                    await asyncio.sleep(0.02)
            await asyncio.wait_for(gone(), 15)
            with pytest.raises(httpx.TransportError):
                await http.get(f"http://{ip}:8080/")
    finally:
        await standin.stop()


async def test_local_process_pods_never_get_an_address_another_cluster_serves_on():
    """A CNI's IPAM gives each pod an address unique in its cluster; several stand-ins on one host
    (tests run side by side, a demo) must not hand out an address another one's pod listens on."""
    import socket

    from tests.kube_standin import KubeStandIn

    from .conftest import cluster_config

    kubelet = KubeStandIn(cluster_config(kubelet={"local_processes": True})).cluster.kubelet
    others = [KubeStandIn(cluster_config(kubelet={"local_processes": True})).cluster.kubelet for _ in range(20)]
    assert len({k._local_ip for k in [kubelet, *others]}) > 1  # each cluster starts at its own point
    n = (kubelet._local_ip + 1) % 62500
    taken = f"127.42.{n // 250}.{1 + n % 250}"  # the address this cluster would give next
    with socket.socket() as listening:
        listening.bind((taken, 8888))
        listening.listen()
        ip = kubelet._pod_ip(node=None, port=8888)
    assert ip.startswith("127.42.") and ip != taken
