"""Run the stand-in standalone (demos, manual runs):

    .venv/bin/python -m tests.kube_standin --pools tests/kube_standin/pools-aks.yaml --port 8001 --speed 600

Prints the API URL and the path of a kubeconfig it wrote, then serves until
interrupted.  Point a Kubernetes client at that kubeconfig (``KUBECONFIG=...``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from .server import DEFAULT_TOKEN, KubeStandIn


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kube_standin",
                                     description="Kubernetes API stand-in (a test double) with AKS-like node pools")
    parser.add_argument("--pools", required=True, help="cluster description (YAML), e.g. pools-aks.yaml")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--speed", type=float, default=None,
                        help="simulated seconds per real second (default: the pools file's, else 1)")
    parser.add_argument("--kubeconfig-dir", default=None, help="where to write kubeconfig.yaml (default: a temp dir)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="bearer token clients must send ('' for none)")
    parser.add_argument("--local-processes", action="store_true",
                        help="run container commands as local processes (pods get 127.42.x.y IPs)")
    args = parser.parse_args(argv)

    from .pools import load_file
    config = load_file(args.pools)
    if args.local_processes:
        config.kubelet.local_processes = True
    standin = KubeStandIn(config, speed=args.speed, token=args.token or None)
    url = await standin.start(args.port, args.host, args.kubeconfig_dir)
    print(f"kube stand-in (test double) listening on {url}", flush=True)
    print(f"kubeconfig: {standin.kubeconfig}", flush=True)
    print(json.dumps({"url": url, "kubeconfig": standin.kubeconfig, "speed": standin.clock.speed}), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
