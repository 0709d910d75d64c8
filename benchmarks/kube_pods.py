"""Benchmark: 100 concurrent pod creations through the kube stand-in, with their watch events.

Goal (issue 3): under 5 s on this machine for 100 creations whose watch events
are all handled by a watching client.

What is measured, each against a fresh stand-in subprocess (the standalone
command, so server and client do not share a CPU core's event loop):

* ``full``: the official kubernetes_asyncio client, a watch (label selector,
  as KubeSpawner's reflector) opened first, then 100 concurrent
  ``create_namespaced_pod``; the clock stops when every create has returned
  AND the watch has delivered an ADDED event for each pod.  ``full_running``
  goes on until the watch has shown every pod Running (scheduler + kubelet
  model at 10,000x simulated speed).
* References, in the same run and on the same server build:
  ``nowatch`` - the same 100 creates through the same client, no watch (what
  the watch and its fan-out cost); ``raw_http`` - the same 100 creates as raw
  HTTP requests with aiohttp (the HTTP library under kubernetes_asyncio), no
  watch: the floor of server work + HTTP, without the official client's
  model (de)serialisation.

Ratios ``full / nowatch`` and ``full / raw_http`` are printed.  The last line
of output is one JSON object with all figures (medians over the repetitions).

    .venv/bin/python benchmarks/kube_pods.py [--quick] [--pods 100] [--repeat 5]
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

import aiohttp
from kubernetes_asyncio import client, config, watch

ROOT = Path(__file__).resolve().parents[1]
POOLS = """
images: {"example.com/notebook:1": 100Mi}
kubelet: {pull_bandwidth: 1Gi}
pools:
  - {name: system, mode: System, vm_size: Standard_D16s_v5, min: 1, max: 1,
     capacity: {cpu: "16", memory: 64Gi, pods: "250"}}
"""
LABELS = {"component": "singleuser-server", "bench": "yes"}


def manifest(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i:03d}", "labels": LABELS},
            "spec": {"containers": [{"name": "notebook", "image": "example.com/notebook:1",
                                     "ports": [{"containerPort": 8888, "name": "notebook-port"}],
                                     "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                                     "env": [{"name": "JUPYTERHUB_USER", "value": f"user{i}"}]}],
                     "restartPolicy": "OnFailure"}}


class Server:
    """The standalone stand-in in a subprocess."""

    async def __aenter__(self):
        self.dir = tempfile.mkdtemp(prefix="kube-bench-")
        pools = os.path.join(self.dir, "pools.yaml")
        Path(pools).write_text(POOLS)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.kube_standin", "--pools", pools, "--speed", "10000",
            "--kubeconfig-dir", self.dir, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE)
        for _ in range(3):
            line = (await asyncio.wait_for(self.proc.stdout.readline(), 30)).decode()
        info = json.loads(line)
        self.url, self.kubeconfig = info["url"], info["kubeconfig"]
        return self

    async def __aexit__(self, *exc):
        self.proc.terminate()
        await self.proc.wait()


async def run_client(server: Server, pods: int, with_watch: bool) -> dict:
    api = await config.new_client_from_config(config_file=server.kubeconfig)
    async with api:
        core = client.CoreV1Api(api)
        await core.list_namespaced_pod("default")  # warm the connection pool
        added, running = set(), set()
        all_added, all_running = asyncio.Event(), asyncio.Event()
        events = 0
        w = watch.Watch() if with_watch else None  # Watch() opens its own client session

        async def consume():
            nonlocal events
            selector = ",".join(f"{k}={v}" for k, v in LABELS.items())
            async with w.stream(core.list_namespaced_pod, "default", label_selector=selector,
                                timeout_seconds=120, _preload_content=False) as stream:
                async for ev in stream:
                    events += 1
                    obj = ev["raw_object"]
                    name = obj["metadata"]["name"]
                    added.add(name)
                    if obj.get("status", {}).get("phase") == "Running":
                        running.add(name)
                    if len(added) == pods:
                        all_added.set()
                    if len(running) == pods:
                        all_running.set()
                        return

        task = asyncio.create_task(consume()) if with_watch else None
        await asyncio.sleep(0.2)  # the watch is open before the first create
        start = time.perf_counter()
        await asyncio.gather(*(core.create_namespaced_pod("default", manifest(i)) for i in range(pods)))
        created = time.perf_counter() - start
        result = {"created_seconds": created}
        if with_watch:
            await asyncio.wait_for(all_added.wait(), 60)
            result["seconds"] = time.perf_counter() - start
            await asyncio.wait_for(all_running.wait(), 60)
            result["running_seconds"] = time.perf_counter() - start
            result["events"] = events
            await asyncio.wait_for(task, 10)
            await w.close()
        else:
            result["seconds"] = created
        return result


async def run_raw(server: Server, pods: int) -> dict:
    """The same creations as raw HTTP with aiohttp - the HTTP stack under kubernetes_asyncio."""
    headers = {"Authorization": "Bearer kube-standin-token", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=100)  # kubernetes_asyncio's default connection_pool_maxsize
    async with aiohttp.ClientSession(server.url, headers=headers, connector=connector) as http:
        async with http.get("/api/v1/namespaces/default/pods") as r:
            await r.read()

        async def create(i):
            async with http.post("/api/v1/namespaces/default/pods", data=json.dumps(manifest(i))) as r:
                await r.read()
                return r.status
        start = time.perf_counter()
        codes = await asyncio.gather(*(create(i) for i in range(pods)))
        seconds = time.perf_counter() - start
    assert set(codes) == {201}, set(codes)
    return {"seconds": seconds}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition (well under a minute)")
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    runs: dict[str, list[dict]] = {"full": [], "nowatch": [], "raw_http": []}
    for r in range(repeat):
        for variant in runs:
            async with Server() as server:
                if variant == "raw_http":
                    res = await run_raw(server, args.pods)
                else:
                    res = await run_client(server, args.pods, with_watch=variant == "full")
            runs[variant].append(res)
            print(f"run {r + 1}/{repeat} {variant:9s} {res['seconds']:.3f} s"
                  + (f" (all Running {res['running_seconds']:.3f} s, {res['events']} watch events)"
                     if "running_seconds" in res else ""), flush=True)

    def med(variant, key="seconds"):
        return statistics.median(x[key] for x in runs[variant])

    full, nowatch, raw = med("full"), med("nowatch"), med("raw_http")
    figures = {
        "benchmark": "kube_pods", "pods": args.pods, "repetitions": repeat, "goal_seconds": 5.0,
        "full_seconds": round(full, 4),
        "full_running_seconds": round(med("full", "running_seconds"), 4),
        "full_watch_events": int(med("full", "events")),
        "nowatch_seconds": round(nowatch, 4),
        "raw_http_seconds": round(raw, 4),
        "ratio_full_vs_nowatch": round(full / nowatch, 3),
        "ratio_full_vs_raw_http": round(full / raw, 3),
        "meets_goal": full < 5.0,
    }
    print(f"100 creations + watch: {full:.3f} s (goal < 5 s); "
          f"x{figures['ratio_full_vs_nowatch']} of the watch-less run, x{figures['ratio_full_vs_raw_http']} "
          f"of raw HTTP creates")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
