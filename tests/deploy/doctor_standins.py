"""The stand-ins the doctor's cluster checks meet, shared by its tests: a kube stand-in on its own
event loop in a thread (as a separate API server is to the doctor), the cluster shape of the
deployment guide, and a pull Secret as ``kubectl create secret docker-registry`` makes it."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import threading
import time
import urllib.request
from pathlib import Path

from tests.gitlab_standin.tls import make_ca_and_server_cert
from tests.kube_standin import KubeStandIn, load_config

PURPOSE = "hub.jupyter.org/node-purpose"


def pools(gpu_count=1, gpu_capacity=None, gpu_taints=("sku=gpu:NoSchedule",), cpu_labels=None) -> dict:
    """A cluster like the deployment guide's: a system pool, a CPU and a GPU user pool (pools-file
    format, docs/kube-standin.md)."""
    gpu = gpu_capacity or {"cpu": "6", "memory": "55Gi", "nvidia.com/gpu": "1"}
    return {"pools": [
        {"name": "system", "mode": "System", "vm_size": "Standard_B2s", "min": 1, "max": 1,
         "capacity": {"cpu": "2", "memory": "4Gi"}, "labels": {PURPOSE: "core"}},
        {"name": "cpu", "vm_size": "Standard_B2s", "min": 0, "max": 3, "count": 1,
         "capacity": {"cpu": "2", "memory": "4Gi"}, "labels": {PURPOSE: "user"} if cpu_labels is None else cpu_labels},
        {"name": "gpu", "vm_size": "Standard_NV6ads_A10_v5", "min": 0, "max": 3, "count": gpu_count,
         "capacity": gpu, "labels": {PURPOSE: "user"}, "taints": list(gpu_taints)},
    ]}


class Cluster:
    """A kube stand-in on its own event loop in a thread (KubeStandIn must be made in a running loop)."""

    def __init__(self, description: dict, folder: Path, token: str | None = "kube-standin-token", tls: bool = False):
        """``tls``: serve HTTPS as a real API server does (``self.ca`` signed its certificate)."""
        self.ca, ssl_context = None, None
        if tls:
            self.ca, cert, key = make_ca_and_server_cert(folder / "tls")
            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kube-standin", daemon=True)
        self.thread.start()

        async def start():
            standin = KubeStandIn(load_config(description), speed=1, token=token)
            await standin.start(kubeconfig_dir=str(folder), ssl_context=ssl_context)
            return standin

        self.standin = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(self.standin.url + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.standin.token}",
                                                  "Content-Type": "application/json"})
        trust = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        with urllib.request.urlopen(request, timeout=10, context=trust) as answer:
            return json.loads(answer.read())

    def autoscaler_status(self) -> str:
        return self.api("GET", "/api/v1/namespaces/kube-system/configmaps/cluster-autoscaler-status")["data"]["status"]

    def run_a_loop(self) -> None:
        """An unschedulable pod (a pool label no node has) makes the autoscaler run a loop, after
        which it writes its node groups into its status ConfigMap (the stand-in writes it on
        change, the real one every loop: docs/kube-standin.md)."""
        self.api("POST", "/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "waiting"},
            "spec": {"nodeSelector": {"agentpool": "nosuchpool"},
                     "containers": [{"name": "c", "image": "busybox:1.36"}]}})
        deadline = time.monotonic() + 10
        while "nodeGroups" not in self.autoscaler_status():
            assert time.monotonic() < deadline, self.autoscaler_status()
            time.sleep(0.05)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.standin.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def pull_secret(cluster: Cluster, registry_host: str, user: str, password: str, name: str = "regcred",
                namespace: str = "default") -> None:
    """``kubectl create secret docker-registry <name>``: a kubernetes.io/dockerconfigjson Secret
    (https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets)."""
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {registry_host: {"username": user, "password": password, "auth": auth}}}
    cluster.api("POST", f"/api/v1/namespaces/{namespace}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}})
