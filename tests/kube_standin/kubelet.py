"""A kubelet model: image pulls, container start, crash loops, termination.

Simulated containers: a pull takes ``image size / pull_bandwidth`` simulated
seconds (sizes from the pools file's image table; an image missing from the
table does not exist: ErrImagePull, then ImagePullBackOff with exponential
back-off); a container whose command is in ``failing_commands`` exits with
code 1 shortly after starting, giving CrashLoopBackOff.

With ``kubelet.local_processes`` the container's command really runs as a
local process (see localproc.py); its pod IP is then a distinct 127.x.y.z
loopback address, so several "pods" can listen on the same port.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .clock import rfc3339
from .localproc import LocalProcesses
from .pools import normalise_image

COMPONENT = "kubelet"
# The kubelet learns container state changes by relisting the runtime every second
# (kubernetes pkg/kubelet/kubelet.go: genericPlegRelistPeriod = time.Second * 1;
# pkg/kubelet/pleg/generic.go). A container that exits before the next relist is only
# ever seen as exited: its pod is never reported Running with the container ready.
PLEG_RELIST_SECONDS = 1.0


@dataclass
class PodRun:
    namespace: str
    name: str
    uid: str
    node: object
    pod_ip: str
    images: list
    timers: list = field(default_factory=list)
    pull_failures: int = 0
    restarts: dict = field(default_factory=dict)


class Kubelet:
    def __init__(self, cluster):
        self.cluster = cluster
        self.cfg = cluster.config.kubelet
        self.runs: dict[str, PodRun] = {}
        self._local_ip = 0
        self.local = LocalProcesses(self) if self.cfg.local_processes else None

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

    def _event(self, run: PodRun, reason: str, message: str, type_: str = "Normal", t: float | None = None):
        pod = self._pod(run)
        if pod is not None:
            self.cluster.event(pod, reason, message, type_, component=COMPONENT, host=run.node.name, t=t)

    def _update(self, run: PodRun, mutate) -> None:
        if self._pod(run) is not None:
            self.cluster.store.update("pods", run.namespace, run.name, mutate)

    def _containers(self, pod: dict) -> list[dict]:
        return pod["spec"]["containers"]

    def _set_waiting(self, run: PodRun, reason: str, message: str | None = None, t: float = 0) -> None:
        def mutate(p):
            for cs in p["status"]["containerStatuses"]:
                cs["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
                cs["ready"] = False
                cs["started"] = False
            _condition(p, "Ready", "False", "ContainersNotReady", t)
            _condition(p, "ContainersReady", "False", "ContainersNotReady", t)
        self._update(run, mutate)

    def backoff(self, n: int) -> float:
        return min(self.cfg.backoff_initial_seconds * 2 ** max(n - 1, 0), self.cfg.backoff_max_seconds)

    def _pod_ip(self, node) -> str:
        if self.local is not None:
            self._local_ip += 1
            n = self._local_ip
            return f"127.42.{n // 250}.{1 + n % 250}"
        node.pod_ips += 1
        return f"10.244.{node.index}.{1 + node.pod_ips % 250}"

    # ------------------------------------------------------------------ lifecycle
    def start(self, pod: dict, node, t: float) -> None:
        images = []
        for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
            if c["image"] not in images:
                images.append(c["image"])
        run = PodRun(pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"],
                     node, self._pod_ip(node), images)
        self.runs[run.uid] = run

        def mutate(p):
            p["status"]["hostIP"] = node.ip
            p["status"]["startTime"] = rfc3339(t)
            p["status"]["containerStatuses"] = [
                {"name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
                 "started": False, "state": {"waiting": {"reason": "ContainerCreating"}}}
                for c in p["spec"]["containers"]]
            _condition(p, "Initialized", "True", None, t)
            _condition(p, "Ready", "False", "ContainersNotReady", t)
            _condition(p, "ContainersReady", "False", "ContainersNotReady", t)
        self._update(run, mutate)
        self._pull(run, 0, t)

    def _pull(self, run: PodRun, index: int, t: float) -> None:
        if self._alive(run) is None:
            return
        if index == len(run.images):
            self._at(run, t + self.cfg.start_seconds, lambda due: self._start_containers(run, due))
            return
        ref = run.images[index]
        image = normalise_image(ref)
        if image in run.node.images:
            self._event(run, "Pulled", f'Container image "{ref}" already present on machine', t=t)
            self._pull(run, index + 1, t)
            return
        self._event(run, "Pulling", f'Pulling image "{ref}"', t=t)
        size = self.cluster.config.images.get(image)
        if size is None:
            self._at(run, t + self.cfg.pull_error_seconds, lambda due: self._pull_failed(run, index, due))
            return
        seconds = float(size / self.cfg.pull_bandwidth)

        def pulled(due):
            if self._alive(run) is None:
                return
            run.node.images.add(image)
            took = go_duration(seconds)
            self._event(run, "Pulled", f'Successfully pulled image "{ref}" in {took} '
                        f'({took} including waiting). Image size: {size} bytes.', t=due)
            self._pull(run, index + 1, due)
        self._at(run, t + seconds, pulled)

    def _pull_failed(self, run: PodRun, index: int, t: float) -> None:
        if self._alive(run) is None:
            return
        ref = run.images[index]
        run.pull_failures += 1
        self._event(run, "Failed", f'Failed to pull image "{ref}": rpc error: code = NotFound desc = failed to pull '
                    f'and unpack image "{normalise_image(ref)}": failed to resolve reference '
                    f'"{normalise_image(ref)}": not found', "Warning", t=t)
        self._event(run, "Failed", "Error: ErrImagePull", "Warning", t=t)
        self._set_waiting(run, "ErrImagePull", f'failed to pull image "{ref}": not found', t)
        wait = self.backoff(run.pull_failures)

        def backoff(due):
            if self._alive(run) is None:
                return
            self._event(run, "BackOff", f'Back-off pulling image "{ref}"', t=due)
            self._event(run, "Failed", "Error: ImagePullBackOff", "Warning", t=due)
            self._set_waiting(run, "ImagePullBackOff", f'Back-off pulling image "{ref}"', due)
            self._at(run, due + wait, lambda d: self._pull(run, index, d))
        self._at(run, t + 1, backoff)

    def _start_containers(self, run: PodRun, t: float) -> None:
        pod = self._alive(run)
        if pod is None:
            return
        for c in self._containers(pod):
            self._event(run, "Created", f"Created container: {c['name']}", t=t)
            self._start_one(run, c, t)

    def _start_one(self, run: PodRun, container: dict, t: float) -> None:
        if self.local is not None:
            self.local.spawn(run, container, t)
        else:
            argv0 = _argv0(container)
            failing = bool(argv0) and (argv0 in self.cfg.failing_commands
                                       or os.path.basename(argv0) in self.cfg.failing_commands)
            if failing and self.cfg.crash_after_seconds < PLEG_RELIST_SECONDS:
                # started (the event follows StartContainer), exited before the next relist
                self._event(run, "Started", f"Started container {container['name']}", t=t)
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
        self._event(run, "Started", f"Started container {cname}", t=t)

        def mutate(p):
            p["status"]["phase"] = "Running"
            p["status"]["podIP"] = run.pod_ip
            p["status"]["podIPs"] = [{"ip": run.pod_ip}]
            for cs in p["status"]["containerStatuses"]:
                if cs["name"] == cname:
                    cs["state"] = {"running": {"startedAt": rfc3339(t)}}
                    cs["ready"] = cs["started"] = True
                    cs["imageID"] = normalise_image(cs["image"])
                    cs["containerID"] = f"containerd://{run.uid.replace('-', '')}{cs['restartCount']}"
            ready = all(cs["ready"] for cs in p["status"]["containerStatuses"])
            _condition(p, "ContainersReady", "True" if ready else "False", None if ready else "ContainersNotReady", t)
            _condition(p, "Ready", "True" if ready else "False", None if ready else "ContainersNotReady", t)
        self._update(run, mutate)

    def container_exited(self, run: PodRun, cname: str, code: int, t: float) -> None:
        pod = self._alive(run)
        if pod is None:
            return
        policy = pod["spec"].get("restartPolicy", "Always")
        restart = policy == "Always" or (policy == "OnFailure" and code != 0)
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "startedAt": rfc3339(t), "finishedAt": rfc3339(t)}
        if not restart:
            def finish(p):
                p["status"]["phase"] = "Succeeded" if code == 0 else "Failed"
                for cs in p["status"]["containerStatuses"]:
                    if cs["name"] == cname:
                        cs["state"] = {"terminated": terminated}
                        cs["ready"] = cs["started"] = False
                _condition(p, "Ready", "False", "PodCompleted", t)
            self._update(run, finish)
            self.cluster.after_pod_gone()
            return
        n = run.restarts.get(cname, 0) + 1
        run.restarts[cname] = n
        wait = self.backoff(n)
        message = f"back-off {int(wait)}s restarting failed container={cname} pod={run.name}_{run.namespace}({run.uid})"

        def crashed(p):
            for cs in p["status"]["containerStatuses"]:
                if cs["name"] == cname:
                    cs["lastState"] = {"terminated": terminated}
                    cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
                    cs["restartCount"] = n
                    cs["ready"] = cs["started"] = False
            _condition(p, "ContainersReady", "False", "ContainersNotReady", t)
            _condition(p, "Ready", "False", "ContainersNotReady", t)
        self._update(run, crashed)
        self._event(run, "BackOff", f"Back-off restarting failed container {cname} in pod "
                    f"{run.name}_{run.namespace}({run.uid})", "Warning", t=t)
        container = next(c for c in pod["spec"]["containers"] if c["name"] == cname)
        self._at(run, t + wait, lambda due: self._alive(run) and self._start_one(run, container, due))

    # ------------------------------------------------------------------ deletion
    def terminate(self, pod: dict, grace: int) -> None:
        run = self.runs.get(pod["metadata"]["uid"])
        if run is None:
            self.cluster.finish_deletion(pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"])
            return
        for c in pod["spec"]["containers"]:
            self._event(run, "Killing", f"Stopping container {c['name']}")
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


def _condition(pod: dict, type_: str, status: str, reason: str | None, t: float) -> None:
    conds = pod["status"].setdefault("conditions", [])
    for c in conds:
        if c["type"] == type_:
            if c["status"] != status:
                c["lastTransitionTime"] = rfc3339(t)
            c["status"] = status
            if reason:
                c["reason"] = reason
            else:
                c.pop("reason", None)
            return
    cond = {"type": type_, "status": status, "lastTransitionTime": rfc3339(t)}
    if reason:
        cond["reason"] = reason
    conds.append(cond)


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration (millisecond precision), as kubelet messages do: 2m33.6s."""
    ms = int(round(seconds * 1000))
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    out = f"{hours}h" if hours else ""
    if hours or minutes:
        out += f"{minutes}m"
    return out + f"{secs}s"


def _argv0(container: dict) -> str:
    argv = (container.get("command") or []) + (container.get("args") or [])
    return argv[0] if argv else ""
