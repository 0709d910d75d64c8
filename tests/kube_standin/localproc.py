"""Run a pod's container command as a local process (end-to-end tests, demos).

The process gets the container's environment (``value``, ``fieldRef`` and
``secretKeyRef``/``configMapKeyRef`` resolved from the store), a private
working directory (the container's ``workingDir`` if it exists on this
machine) and the extra arguments from ``kubelet.local_extra_args``, where
``{pod_ip}``, ``{port}``, ``{pod_name}`` and ``{namespace}`` are substituted.
A real pod has its own network namespace; here the pod IP is a distinct
loopback address, which the command must bind to (e.g. ``--ip={pod_ip}``).

Exit codes drive the kubelet model (CrashLoopBackOff on failure); deletion
sends SIGTERM, then SIGKILL after the grace period (capped at 10 real seconds).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import tempfile


class LocalProcesses:
    def __init__(self, kubelet):
        self.kubelet = kubelet
        self.procs: dict[str, dict[str, asyncio.subprocess.Process]] = {}
        self.tasks: set[asyncio.Task] = set()
        self.root = tempfile.mkdtemp(prefix="kube-standin-pods-")

    def _task(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _env(self, run, container: dict, workdir: str) -> dict[str, str]:
        store = self.kubelet.cluster.store
        pod = store.get("pods", run.namespace, run.name)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "HOSTNAME": run.name}
        fields = {"metadata.name": run.name, "metadata.namespace": run.namespace, "metadata.uid": run.uid,
                  "status.podIP": run.pod_ip, "spec.nodeName": run.node.name, "status.hostIP": run.node.ip}
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = var["value"]
                continue
            source = var.get("valueFrom") or {}
            if "fieldRef" in source:
                env[var["name"]] = fields[source["fieldRef"]["fieldPath"]]
            elif "secretKeyRef" in source or "configMapKeyRef" in source:
                ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
                plural = "secrets" if "secretKeyRef" in source else "configmaps"
                obj = store.find(plural, run.namespace, ref["name"])
                data = (obj or {}).get("data") or {}
                if ref["key"] not in data:
                    if ref.get("optional"):
                        continue
                    raise LookupError(f'{plural[:-1]} "{ref["name"]}" has no key "{ref["key"]}"')
                value = data[ref["key"]]
                env[var["name"]] = base64.b64decode(value).decode() if plural == "secrets" else value
            else:
                raise LookupError(f"unsupported env source for {var['name']}")
        del pod
        return env

    def spawn(self, run, container: dict, t: float) -> None:
        self._task(self._spawn(run, container, t))

    async def _spawn(self, run, container: dict, t: float) -> None:
        kubelet = self.kubelet
        name = container["name"]
        ports = container.get("ports") or [{}]
        subst = {"pod_ip": run.pod_ip, "port": ports[0].get("containerPort", ""), "pod_name": run.name,
                 "namespace": run.namespace}
        argv = (container.get("command") or []) + (container.get("args") or [])
        argv += [a.format(**subst) for a in kubelet.cfg.local_extra_args]
        workdir = container.get("workingDir")
        if not workdir or not os.path.isdir(workdir):
            workdir = os.path.join(self.root, f"{run.namespace}_{run.name}_{run.uid[:8]}")
            os.makedirs(workdir, exist_ok=True)
        try:
            if not (container.get("command") or container.get("args")):
                raise LookupError("the stand-in cannot run an image's entrypoint: the container needs a command")
            env = self._env(run, container, workdir)
        except LookupError as e:
            kubelet._event(run, "Failed", f"Error: {e}", "Warning")
            kubelet._set_waiting(run, "CreateContainerConfigError", str(e), kubelet.cluster.clock.now())
            return
        log = open(os.path.join(workdir, f"{name}.log"), "ab")
        try:
            proc = await asyncio.create_subprocess_exec(*argv, env=env, cwd=workdir, stdout=log,
                                                        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            log.close()
            kubelet._event(run, "Failed", f"Error: failed to start container {name!r}: {e}", "Warning")
            kubelet.container_exited(run, name, 128, kubelet.cluster.clock.now())
            return
        log.close()
        self.procs.setdefault(run.uid, {})[name] = proc
        kubelet.container_started(run, name, kubelet.cluster.clock.now())
        code = await proc.wait()
        if self.procs.get(run.uid, {}).get(name) is proc:
            del self.procs[run.uid][name]
            kubelet.container_exited(run, name, code, kubelet.cluster.clock.now())

    def stop(self, run, grace: float, then) -> None:
        procs = self.procs.pop(run.uid, {})
        self._task(self._stop(list(procs.values()), grace, then))

    async def _stop(self, procs, grace: float, then) -> None:
        for proc in procs:
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=min(grace, 10) if grace else 0.01)
            except asyncio.TimeoutError:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                await proc.wait()
        if then is not None:
            then()

    async def close(self) -> None:
        for uid in list(self.procs):
            procs = list(self.procs.pop(uid).values())
            await self._stop(procs, 5, None)
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        shutil.rmtree(self.root, ignore_errors=True)
