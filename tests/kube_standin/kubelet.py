"""A kubelet model: image pulls, init containers, container start, crash loops, termination.

Simulated containers: a pull takes ``image size / pull_bandwidth`` simulated
seconds (sizes from the pools file's image table; an image missing from the
table does not exist: ErrImagePull, then ImagePullBackOff with exponential
back-off); a container whose command is in ``failing_commands`` exits with
code 1 shortly after starting, giving CrashLoopBackOff.

Containers start as the kubelet's computePodActions/SyncPod orders them
(kubernetes pkg/kubelet/kuberuntime/kuberuntime_manager.go): the init containers
one at a time, in order, each started only once the one before exited 0 (a
failing one is restarted with back-off unless restartPolicy is Never, which
fails the pod); then the main containers. Each container's image is pulled
right before it is created (kuberuntime_container.go startContainer: pull,
Created, Started), so the main image's pull begins after the init containers
succeeded. Pulls go through the node's serial image puller (imagepuller.py:
one at a time, in the order asked; an image pulled meanwhile is not downloaded again). An init container runs its command for INIT_RUN_SECONDS and exits 0
(1 if its command is in ``failing_commands``); it is always simulated, even with
``local_processes`` (the chart's is a privileged ``iptables`` call).

With ``kubelet.local_processes`` the main containers' commands really run as
local processes (see localproc.py); the pod IP is then a distinct 127.x.y.z
loopback address, so several "pods" can listen on the same port.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from dataclasses import dataclass, field

from .clock import rfc3339
from .kubelet_status import (COMPONENT, condition, field_path, go_duration, initial_statuses,
                             initialized_condition, statuses)
from .imagepuller import ImagePuller
from .localproc import LocalProcesses
from .pools import normalise_image

__all__ = ["Kubelet", "PodRun", "go_duration", "PLEG_RELIST_SECONDS", "INIT_RUN_SECONDS"]

# The kubelet learns container state changes by relisting the runtime every second
# (kubernetes pkg/kubelet/kubelet.go: genericPlegRelistPeriod = time.Second * 1;
# pkg/kubelet/pleg/generic.go). A container that exits before the next relist is only
# ever seen as exited: its pod is never reported Running with the container ready.
PLEG_RELIST_SECONDS = 1.0
# How long a (succeeding) init container's command runs: the chart's iptables call
# takes milliseconds, so it is seen exited at the next relist, never running.
INIT_RUN_SECONDS = 0.1


@dataclass
class PodRun:
    namespace: str
    name: str
    uid: str
    node: object
    pod_ip: str
    init: list
    timers: list = field(default_factory=list)
    pull_failures: dict = field(default_factory=dict)  # image -> failed pulls (back-off key: pod UID + image)
    restarts: dict = field(default_factory=dict)
    init_done: int = 0


LOCAL_IPS = 250 * 250


def _free(ip: str, port: int) -> bool:
    """Nothing listens on ``ip:port`` (another stand-in's pod, or this one's earlier one)."""
    with socket.socket() as probe:
        try:
            probe.bind((ip, port))
            return True
        except OSError:
            return False


def _first_port(pod: dict) -> int:
    """The first declared containerPort (KubeSpawner's notebook port), else 8888."""
    ports = [p.get("containerPort") for c in pod["spec"].get("containers") or [] for p in c.get("ports") or []]
    return next((int(p) for p in ports if isinstance(p, int) and 0 < p < 65536), 8888)


class Kubelet:
    def __init__(self, cluster):
        self.cluster = cluster
        self.cfg = cluster.config.kubelet
        self.runs: dict[str, PodRun] = {}
        # local-process pods: loopback addresses 127.42.x.y, unique in this cluster as a CNI's IPAM
        # makes them; several stand-ins on one host (parallel tests, a demo) start at random points
        # and skip an address whose port is taken, so no two clusters hand out a live address
        self._local_ip = secrets.randbelow(LOCAL_IPS)
        self.local = LocalProcesses(self) if self.cfg.local_processes else None
        self.puller = ImagePuller(cluster)

    # ------------------------------------------------------------------ helpers
    def _pod(self, run: PodRun) -> dict | None:
        pod = self.cluster.store.find("pods", run.namespace, run.name)
        if pod is None or pod["metadata"]["uid"] != run.uid or run.uid not in self.runs:
            return None
        return pod

    def _alive(self, run: PodRun) -> dict | None:
        pod = self._pod(run)
        return None if pod is None or "deletionTimestamp" in pod["metadata"] else pod

    def _at(self, run: PodRun, due: float, fn) -> None:
        run.timers.append(self.cluster.clock.call_at(due, fn))

    def _event(self, run: PodRun, reason: str, message: str, type_: str = "Normal", t: float | None = None,
               container: str | None = None, init: bool = False):
        """An event about the pod, or about one of its containers (with its fieldPath)."""
        pod = self._pod(run)
        if pod is None:
            return
        when = self.cluster.clock.now() if t is None else t
        if container is None:
            self.cluster.event(pod, reason, message, type_, component=COMPONENT, host=run.node.name, t=when)
        else:
            # the kubelet's recorder names the container (client-go events_cache.go keys on fieldPath too)
            self.cluster.events.core(pod, reason, message, type_, COMPONENT, run.node.name, when,
                                     field_path=field_path(container, init))

    def _update(self, run: PodRun, mutate) -> None:
        if self._pod(run) is not None:
            self.cluster.store.update("pods", run.namespace, run.name, mutate)

    def _set_waiting(self, run: PodRun, reason: str, message: str | None = None, t: float = 0,
                     cname: str | None = None, init: bool = False) -> None:
        """A container (all main containers when ``cname`` is None) failed to start: waiting, with why."""
        def mutate(p):
            for cs in statuses(p, init):
                if cname is None or cs["name"] == cname:
                    cs["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
                    cs["ready"] = False
                    cs["started"] = False
            condition(p, "Ready", "False", "ContainersNotReady", t)
            condition(p, "ContainersReady", "False", "ContainersNotReady", t)
        self._update(run, mutate)

    def backoff(self, n: int) -> float:
        return min(self.cfg.backoff_initial_seconds * 2 ** max(n - 1, 0), self.cfg.backoff_max_seconds)

    def _pod_ip(self, node, port: int = 8888) -> str:
        if self.local is not None:
            for _ in range(LOCAL_IPS):
                self._local_ip = (self._local_ip + 1) % LOCAL_IPS
                n = self._local_ip
                ip = f"127.42.{n // 250}.{1 + n % 250}"
                if _free(ip, port):
                    return ip
            raise RuntimeError("no free loopback address for a local-process pod")
        node.pod_ips += 1
        return f"10.244.{node.index}.{1 + node.pod_ips % 250}"

    def _failing(self, container: dict) -> bool:
        argv0 = _argv0(container)
        return bool(argv0) and (argv0 in self.cfg.failing_commands
                                or os.path.basename(argv0) in self.cfg.failing_commands)

    # ------------------------------------------------------------------ lifecycle
    def start(self, pod: dict, node, t: float) -> None:
        run = PodRun(pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"],
                     node, self._pod_ip(node, _first_port(pod)), list(pod["spec"].get("initContainers") or []))
        self.runs[run.uid] = run

        def mutate(p):
            p["status"]["hostIP"] = node.ip
            p["status"]["startTime"] = rfc3339(t)
            initial_statuses(p, t)
        self._update(run, mutate)
        self._next_step(run, t)

    def _next_step(self, run: PodRun, t: float) -> None:
        """computePodActions: the next init container that has not succeeded, else the main containers."""
        pod = self._alive(run)
        if pod is None:
            return
        if run.init_done < len(run.init):
            container = run.init[run.init_done]
            self._pull(run, container, True, t,
                       lambda due: self._at(run, due + self.cfg.start_seconds,
                                            lambda d: self._run_init(run, container, d)))
            return
        self._start_main(run, pod["spec"]["containers"], 0, t)

    def _start_main(self, run: PodRun, containers: list[dict], index: int, t: float) -> None:
        if index == len(containers) or self._alive(run) is None:
            return
        container = containers[index]

        def create(due):
            self._create_and_start(run, container, due)
            self._start_main(run, containers, index + 1, due)
        self._pull(run, container, False, t, lambda due: self._at(run, due + self.cfg.start_seconds, create))

    def _pull(self, run: PodRun, container: dict, init: bool, t: float, then) -> None:
        """EnsureImageExists (pkg/kubelet/images/image_manager.go), then ``then(time pulled)``."""
        if self._alive(run) is None:
            return
        ref, cname = container["image"], container["name"]
        image = normalise_image(ref)
        if image in run.node.images:
            self._event(run, "Pulled", f'Container image "{ref}" already present on machine', t=t,
                        container=cname, init=init)
            then(t)
            return
        self._event(run, "Pulling", f'Pulling image "{ref}"', t=t, container=cname, init=init)
        size = self.cluster.config.images.get(image)
        # one pull at a time per node, in the order asked (imagepuller.py)
        seconds = self.cfg.pull_error_seconds if size is None else float(size / self.cfg.pull_bandwidth)

        def pulled(due, ok, pull_seconds):
            if self._alive(run) is None:
                return
            if not ok:
                self._pull_failed(run, container, init, due, then)
                return
            self._event(run, "Pulled", f'Successfully pulled image "{ref}" in {go_duration(pull_seconds)} '
                        f'({go_duration(due - t)} including waiting). Image size: {size} bytes.', t=due,
                        container=cname, init=init)
            then(due)
        self.puller.request(run.node, image, seconds, size is not None, t, pulled)

    def _pull_failed(self, run: PodRun, container: dict, init: bool, t: float, then) -> None:
        if self._alive(run) is None:
            return
        ref, cname = container["image"], container["name"]
        image = normalise_image(ref)
        failures = run.pull_failures[image] = run.pull_failures.get(image, 0) + 1
        on = {"container": cname, "init": init}
        self._event(run, "Failed", f'Failed to pull image "{ref}": rpc error: code = NotFound desc = failed to pull '
                    f'and unpack image "{image}": failed to resolve reference "{image}": not found', "Warning",
                    t=t, **on)
        self._event(run, "Failed", "Error: ErrImagePull", "Warning", t=t, **on)
        self._set_waiting(run, "ErrImagePull", f'failed to pull image "{ref}": not found', t, cname, init)
        wait = self.backoff(failures)

        def backoff(due):
            if self._alive(run) is None:
                return
            self._event(run, "BackOff", f'Back-off pulling image "{ref}"', t=due, **on)
            self._event(run, "Failed", "Error: ImagePullBackOff", "Warning", t=due, **on)
            self._set_waiting(run, "ImagePullBackOff", f'Back-off pulling image "{ref}"', due, cname, init)
            self._at(run, due + wait, lambda d: self._pull(run, container, init, d, then))
        self._at(run, t + 1, backoff)

    # ------------------------------------------------------------------ init containers
    def _run_init(self, run: PodRun, container: dict, t: float) -> None:
        if self._alive(run) is None:
            return
        cname = container["name"]
        self._event(run, "Created", f"Created container: {cname}", t=t, container=cname, init=True)
        self._event(run, "Started", f"Started container {cname}", t=t, container=cname, init=True)
        failing = self._failing(container)
        runs_for = self.cfg.crash_after_seconds if failing else INIT_RUN_SECONDS
        code = 1 if failing else 0
        if runs_for < PLEG_RELIST_SECONDS:
            # exited before the next relist: never reported running
            self._at(run, t + PLEG_RELIST_SECONDS, lambda due: self._init_exited(run, container, code, t, due))
            return

        def running(p):
            for cs in statuses(p, True):
                if cs["name"] == cname:
                    cs["state"] = {"running": {"startedAt": rfc3339(t)}}
                    cs["started"] = True
                    cs["imageID"] = normalise_image(cs["image"])
        self._update(run, running)
        self._at(run, t + runs_for, lambda due: self._init_exited(run, container, code, t, due))

    def _init_exited(self, run: PodRun, container: dict, code: int, started: float, t: float) -> None:
        pod = self._alive(run)
        if pod is None:
            return
        cname = container["name"]
        if code != 0:
            self.container_exited(run, cname, code, t, init=True)
            return
        terminated = {"exitCode": 0, "reason": "Completed", "startedAt": rfc3339(started), "finishedAt": rfc3339(t),
                      "containerID": _container_id(run, cname, run.restarts.get(cname, 0))}

        def completed(p):
            p["status"]["podIP"] = run.pod_ip
            p["status"]["podIPs"] = [{"ip": run.pod_ip}]
            for cs in statuses(p, True):
                if cs["name"] == cname:
                    cs["state"] = {"terminated": terminated}
                    cs["ready"], cs["started"] = True, False
                    cs["imageID"] = normalise_image(cs["image"])
            initialized_condition(p, t)
        self._update(run, completed)
        run.init_done += 1
        self._next_step(run, t)

    # ------------------------------------------------------------------ main containers
    def _create_and_start(self, run: PodRun, container: dict, t: float) -> None:
        if self._alive(run) is None:
            return
        self._event(run, "Created", f"Created container: {container['name']}", t=t, container=container["name"])
        self._start_one(run, container, t)

    def _start_one(self, run: PodRun, container: dict, t: float) -> None:
        if self.local is not None:
            self.local.spawn(run, container, t)
            return
        failing = self._failing(container)
        if failing and self.cfg.crash_after_seconds < PLEG_RELIST_SECONDS:
            # started (the event follows StartContainer), exited before the next relist
            self._event(run, "Started", f"Started container {container['name']}", t=t, container=container["name"])
            self._at(run, t + PLEG_RELIST_SECONDS,
                     lambda due: self.container_exited(run, container["name"], 1, due))
            return
        self.container_started(run, container["name"], t)
        if failing:
            self._at(run, t + self.cfg.crash_after_seconds,
                     lambda due: self.container_exited(run, container["name"], 1, due))

    def container_started(self, run: PodRun, cname: str, t: float) -> None:
        if self._alive(run) is None:
            return
        self._event(run, "Started", f"Started container {cname}", t=t, container=cname)

        def mutate(p):
            p["status"]["phase"] = "Running"
            p["status"]["podIP"] = run.pod_ip
            p["status"]["podIPs"] = [{"ip": run.pod_ip}]
            for cs in p["status"]["containerStatuses"]:
                if cs["name"] == cname:
                    cs["state"] = {"running": {"startedAt": rfc3339(t)}}
                    cs["ready"] = cs["started"] = True
                    cs["imageID"] = normalise_image(cs["image"])
                    cs["containerID"] = _container_id(run, cname, cs["restartCount"])
            ready = all(cs["ready"] for cs in p["status"]["containerStatuses"])
            condition(p, "ContainersReady", "True" if ready else "False", None if ready else "ContainersNotReady", t)
            condition(p, "Ready", "True" if ready else "False", None if ready else "ContainersNotReady", t)
        self._update(run, mutate)

    def container_exited(self, run: PodRun, cname: str, code: int, t: float, init: bool = False) -> None:
        """A container exited (an init container: with a non-zero code); restart it with back-off or end the pod."""
        pod = self._alive(run)
        if pod is None:
            return
        policy = pod["spec"].get("restartPolicy", "Always")
        # a failed init container is restarted under Always and OnFailure alike
        restart = (policy != "Never") if init else (policy == "Always" or (policy == "OnFailure" and code != 0))
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "startedAt": rfc3339(t), "finishedAt": rfc3339(t)}
        if not restart:
            def finish(p):
                p["status"]["phase"] = "Succeeded" if code == 0 else "Failed"
                for cs in statuses(p, init):
                    if cs["name"] == cname:
                        cs["state"] = {"terminated": terminated}
                        cs["ready"] = cs["started"] = False
                condition(p, "Ready", "False", "PodCompleted" if code == 0 else "PodFailed", t)
            self._update(run, finish)
            self.cluster.after_pod_gone()
            return
        n = run.restarts.get(cname, 0) + 1
        run.restarts[cname] = n
        wait = self.backoff(n)
        message = f"back-off {int(wait)}s restarting failed container={cname} pod={run.name}_{run.namespace}({run.uid})"

        def crashed(p):
            for cs in statuses(p, init):
                if cs["name"] == cname:
                    cs["lastState"] = {"terminated": terminated}
                    cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
                    cs["restartCount"] = n
                    cs["ready"] = cs["started"] = False
            condition(p, "ContainersReady", "False", "ContainersNotReady", t)
            condition(p, "Ready", "False", "ContainersNotReady", t)
        self._update(run, crashed)
        self._event(run, "BackOff", f"Back-off restarting failed container {cname} in pod "
                    f"{run.name}_{run.namespace}({run.uid})", "Warning", t=t, container=cname, init=init)
        key = "initContainers" if init else "containers"
        container = next(c for c in pod["spec"].get(key) or [] if c["name"] == cname)
        # startContainer again: the image (now present), Created, Started
        if init:
            self._at(run, t + wait, lambda due: self._pull(run, container, True, due,
                                                           lambda d: self._run_init(run, container, d)))
        else:
            self._at(run, t + wait, lambda due: self._pull(run, container, False, due,
                                                           lambda d: self._create_and_start(run, container, d)))

    # ------------------------------------------------------------------ deletion
    def terminate(self, pod: dict, grace: int) -> None:
        run = self.runs.get(pod["metadata"]["uid"])
        if run is None:
            self.cluster.finish_deletion(pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"])
            return
        for init in (True, False):  # killContainer: only containers that are running
            for cs in statuses(pod, init):
                if "running" in cs["state"]:
                    self._event(run, "Killing", f"Stopping container {cs['name']}", container=cs["name"], init=init)
        for timer in run.timers:
            timer.cancel()
        if self.local is not None:
            self.local.stop(run, grace, then=lambda: self._finish(run))
        else:
            delay = min(grace, self.cfg.terminate_seconds)
            self.cluster.clock.call_later(delay, lambda due: self._finish(run))

    def _finish(self, run: PodRun) -> None:
        self.runs.pop(run.uid, None)
        self.cluster.finish_deletion(run.namespace, run.name, run.uid)

    def forget(self, pod: dict) -> None:
        """The pod is gone without a graceful stop (grace 0, namespace deletion)."""
        run = self.runs.pop(pod["metadata"]["uid"], None)
        if run is None:
            return
        for timer in run.timers:
            timer.cancel()
        if self.local is not None:
            self.local.stop(run, 0, then=None)

    async def close(self) -> None:
        if self.local is not None:
            await self.local.close()


def _container_id(run: PodRun, cname: str, attempt: int) -> str:
    return "containerd://" + hashlib.sha256(f"{run.uid}/{cname}/{attempt}".encode()).hexdigest()


def _argv0(container: dict) -> str:
    argv = (container.get("command") or []) + (container.get("args") or [])
    return argv[0] if argv else ""
