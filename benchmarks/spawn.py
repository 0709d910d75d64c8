"""Spawn latency through a real JupyterHub: HybridKubeSpawner vs the stock KubeSpawner.

Both spawn the same pod (the CPU profile's overrides) for N users at once against the
Kubernetes stand-in with instant nodes; each pod runs a tiny HTTP server as a local process
so that the hub sees it answer. Measured per user: POST → ready (from the hub's progress
stream), and the delay from a pod's Pulled event (seen on a Kubernetes watch) to the
progress message that reports it.

    .venv/bin/python benchmarks/spawn.py [--quick] [--users N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hybridhub.spawner.pod import profile_overrides  # noqa: E402
from hybridhub.spawner.profiles import ProfileCatalog  # noqa: E402
from tests.harness.hub import running_hub  # noqa: E402
from tests.kube_standin import KubeStandIn, load_config  # noqa: E402

FAKE_SERVER = ROOT / "benchmarks" / "fake_singleuser.py"
IMAGE = ProfileCatalog().get("cpu").image


def cluster(users: int) -> dict:
    return {
        "images": {IMAGE: "40Mi"},  # a 2 s pull, so progress is followed while the pod starts
        "kubelet": {"pull_bandwidth": "20Mi", "start_seconds": 0, "local_processes": True,
                    "local_extra_args": ["--ip={pod_ip}", "--port={port}"]},
        "pools": [
            {"name": "system", "mode": "System", "vm_size": "Standard_D2s_v5", "min": 1, "max": 1,
             "capacity": {"cpu": "2", "memory": "8Gi"}, "allocatable": {"cpu": "1900m", "memory": "6Gi"}},
            {"name": "cpu", "vm_size": "Standard_D64s_v5", "min": 0, "max": max(2, users // 30 + 1),
             "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250"},
             "allocatable": {"cpu": "63", "memory": "250Gi", "pods": "250"},
             "provisioning_seconds": 0, "scale_down_unneeded_seconds": 3600},
        ],
    }


def hub_config(variant: str, standin_url: str) -> str:
    overrides = profile_overrides(ProfileCatalog().get("cpu"))
    common = f"""
c.KubeSpawner.k8s_api_host = {standin_url!r}
c.KubeSpawner.namespace = "default"
c.KubeSpawner.cmd = [{sys.executable!r}, {str(FAKE_SERVER)!r}]
c.KubeSpawner.start_timeout = 120
c.KubeSpawner.http_timeout = 60
c.JupyterHub.concurrent_spawn_limit = 200
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}  # POST returns at once; progress is followed on the stream
"""
    if variant == "stock":
        lines = [f"c.KubeSpawner.{key} = {value!r}" for key, value in overrides.items()]
        return common + 'c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"\n' + "\n".join(lines) + "\n"
    return common + 'c.JupyterHub.spawner_class = "hybridhub.spawner.kube.HybridKubeSpawner"\n'


class EventClock:
    """Wall time at which each (pod, reason) event first arrives on a Kubernetes watch."""

    def __init__(self, standin):
        self.standin = standin
        self.seen: dict[tuple[str, str], float] = {}

    async def run(self):
        headers = {"Authorization": f"Bearer {self.standin.token}"}
        url = f"{self.standin.url}/api/v1/namespaces/default/events"
        params = {"watch": "true", "fieldSelector": "involvedObject.kind=Pod", "timeoutSeconds": "600"}
        async with httpx.AsyncClient(timeout=None) as client:
            async with client.stream("GET", url, params=params, headers=headers) as response:
                async for line in response.aiter_lines():
                    if line:
                        event = json.loads(line)["object"]
                        key = (event["involvedObject"]["name"], event["reason"])
                        self.seen.setdefault(key, time.monotonic())


async def spawn_one(client: httpx.AsyncClient, hub, name: str, marker: str) -> dict:
    began = time.monotonic()
    response = await client.post(f"{hub.url}hub/api/users/{name}/server", json={})
    assert response.status_code in (201, 202), response.text
    marker_at = ready_at = None
    async with client.stream("GET", f"{hub.url}hub/api/users/{name}/server/progress") as stream:
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if marker in event.get("message", "") and marker_at is None:
                marker_at = time.monotonic()
            if event.get("ready"):
                ready_at = time.monotonic()
                break
            if event.get("failed"):
                raise RuntimeError(f"spawn of {name} failed: {event}")
    return {"latency": (ready_at or time.monotonic()) - began, "marker_at": marker_at}


async def run_variant(variant: str, users: int, workdir: Path) -> dict:
    standin = KubeStandIn(load_config(cluster(users)), speed=1)
    await standin.start(kubeconfig_dir=str(workdir))
    os.environ["KUBECONFIG"] = standin.kubeconfig
    clock = EventClock(standin)
    watcher = asyncio.ensure_future(clock.run())
    # the progress message reporting the kubelet's Pulled event
    marker = "Successfully pulled image" if variant == "stock" else "Starting Jupyter in your container"
    try:
        with running_hub(workdir / variant, hub_config(variant, standin.url), users=[f"u{i}" for i in range(users)]) as hub:
            headers = {"Authorization": f"token {hub.api_token}"}
            async with httpx.AsyncClient(headers=headers, timeout=180) as client:
                for i in range(users):
                    await client.post(f"{hub.url}hub/api/users/u{i}")
                results = await asyncio.gather(*(spawn_one(client, hub, f"u{i}", marker) for i in range(users)))
                delays = []
                for i, result in enumerate(results):
                    scheduled = clock.seen.get((f"jupyter-u{i}", "Pulled"))
                    if scheduled and result["marker_at"]:
                        delays.append(result["marker_at"] - scheduled)
                await asyncio.gather(*(client.delete(f"{hub.url}hub/api/users/u{i}/server") for i in range(users)))
                for _ in range(120):
                    if not standin.store.list("pods", "default"):
                        break
                    await asyncio.sleep(0.5)
    finally:
        watcher.cancel()
        await standin.stop()
    latencies = sorted(r["latency"] for r in results)
    return {
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, int(round(0.95 * len(latencies))) - 1)],
        "event_to_progress_median": statistics.median(delays) if delays else None,
        "event_to_progress_max": max(delays) if delays else None,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 users instead of 50")
    parser.add_argument("--users", type=int, default=None)
    args = parser.parse_args()
    users = args.users or (10 if args.quick else 50)
    with tempfile.TemporaryDirectory() as tmp:
        stock = await run_variant("stock", users, Path(tmp))
        hybrid = await run_variant("hybrid", users, Path(tmp))
    figures = {
        "benchmark": "spawn",
        "users": users,
        "stock_p50_s": round(stock["p50"], 3),
        "stock_p95_s": round(stock["p95"], 3),
        "hybrid_p50_s": round(hybrid["p50"], 3),
        "hybrid_p95_s": round(hybrid["p95"], 3),
        "p50_ratio": round(hybrid["p50"] / stock["p50"], 3),
        "p95_ratio": round(hybrid["p95"] / stock["p95"], 3),
        "event_to_progress_s": round(hybrid["event_to_progress_max"], 3),
        "event_to_progress_median_s": round(hybrid["event_to_progress_median"], 3),
        "stock_event_to_progress_median_s": round(stock["event_to_progress_median"], 3),
    }
    print(f"{users} concurrent spawns through a real hub, stand-in cluster with instant nodes")
    print(f"  stock KubeSpawner   p50 {figures['stock_p50_s']:.2f} s  p95 {figures['stock_p95_s']:.2f} s")
    print(f"  HybridKubeSpawner   p50 {figures['hybrid_p50_s']:.2f} s  p95 {figures['hybrid_p95_s']:.2f} s")
    print(f"  p95 ratio {figures['p95_ratio']:.2f} (goal <= 1.10); event -> progress max "
          f"{figures['event_to_progress_s']:.2f} s (goal <= 1.0), stock median {figures['stock_event_to_progress_median_s']:.2f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
