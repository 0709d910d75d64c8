"""Run the stand-in standalone (demos, manual runs), from the source checkout:

    .venv/bin/python -m tests.kube_standin --pools tests/kube_standin/pools-aks.yaml --port 8001 --speed 600
    .venv/bin/python -m tests.kube_standin --from-catalog --local-processes --speed 60

``--from-catalog`` builds the node pools from hybridhub's profile catalog (the pools the
spawner expects; ``hybridhub demo --kube`` starts the stand-in this way, as a program, so the
shipped package never imports this test double). The kubelet options override the cluster
description's ``kubelet`` settings.

Prints the API URL and the path of a kubeconfig it wrote, then a JSON line with both, then
serves until interrupted. Point a Kubernetes client at that kubeconfig (``KUBECONFIG=...``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import yaml

from .server import DEFAULT_TOKEN, KubeStandIn


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.kube_standin",
                                     description="Kubernetes API stand-in (a test double) with AKS-like node pools")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pools", help="cluster description (YAML), e.g. pools-aks.yaml")
    source.add_argument("--from-catalog", action="store_true",
                        help="build the cluster description from hybridhub's profile catalog (its node pools)")
    parser.add_argument("--save-pools", metavar="FILE", default=None,
                        help="write the cluster description in use to FILE (YAML), to read or reuse with --pools")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--speed", type=float, default=None,
                        help="simulated seconds per real second (default: the pools file's, else 1)")
    parser.add_argument("--kubeconfig-dir", default=None, help="where to write kubeconfig.yaml (default: a temp dir)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="bearer token clients must send ('' for none)")
    kubelet = parser.add_argument_group("kubelet", "override the description's kubelet settings")
    kubelet.add_argument("--local-processes", action="store_true",
                         help="run container commands as local processes (pods get 127.42.x.y IPs)")
    kubelet.add_argument("--local-extra-arg", action="append", default=None, metavar="ARG", dest="local_extra_args",
                         help="with --local-processes, add ARG to each container command; {pod_ip} and {port} are "
                              "filled in. Repeat for several; write --local-extra-arg=--ip={pod_ip} for a dash")
    kubelet.add_argument("--start-seconds", type=float, default=None,
                         help="simulated seconds from a created container to a running one")
    return parser.parse_args(argv)


def cluster_description(args: argparse.Namespace) -> dict:
    """The cluster description (pools-file format) the options ask for."""
    if args.from_catalog:
        from hybridhub.spawner.profiles import ProfileCatalog

        from .from_catalog import cluster_from_catalog
        data = cluster_from_catalog(ProfileCatalog())
    else:
        data = yaml.safe_load(Path(args.pools).read_text(encoding="utf-8")) or {}
    kubelet = dict(data.get("kubelet") or {})
    if args.local_processes:
        kubelet["local_processes"] = True
    if args.local_extra_args is not None:
        kubelet["local_extra_args"] = list(args.local_extra_args)
    if args.start_seconds is not None:
        kubelet["start_seconds"] = args.start_seconds
    if kubelet:
        data["kubelet"] = kubelet
    return data


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .pools import load_config
    data = cluster_description(args)
    config = load_config(data)
    if args.save_pools:
        target = Path(args.save_pools)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    standin = KubeStandIn(config, speed=args.speed, token=args.token or None)
    url = await standin.start(args.port, args.host, args.kubeconfig_dir)
    print(f"kube stand-in (test double) listening on {url}", flush=True)
    print(f"kubeconfig: {standin.kubeconfig}", flush=True)
    print(json.dumps({"url": url, "kubeconfig": standin.kubeconfig, "speed": standin.clock.speed}), flush=True)

    await standin.serve_until_signalled()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
