"""The Kubernetes stand-in (a test double) as the chart-run hub's cluster: a separate program.

    python -m tests.deploy.chart_cluster --port P --token T --tls-dir D --namespace jhub

It serves HTTPS (in-cluster clients speak only HTTPS, trusting the service account's ``ca.crt``,
written to ``D/ca.pem``) with bearer-token auth, runs pods' commands as local processes, and
builds its pools from the profile catalog handed over in ``HYBRIDHUB_PROFILE_CATALOG`` (the
hub's own, site registry included), with the node labels the deployment guide gives the pools
(``hub.jupyter.org/node-purpose``: ``core`` on the system pool, ``user`` on user pools). Run
under the test's cluster DNS (an /etc/hosts naming the chart's Services), so pods reach ``hub``.
Prints one JSON line when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
from pathlib import Path

from hybridhub.spawner.profiles import ProfileCatalog
from tests.gitlab_standin.tls import make_ca_and_server_cert
from tests.kube_standin import KubeStandIn, load_config
from tests.kube_standin.from_catalog import cluster_from_catalog

PURPOSE = "hub.jupyter.org/node-purpose"
# compressed sizes of the site registry's images by profile kind
IMAGE_SIZE = {"cpu": "1.2Gi", "gpu": "7Gi"}


def cluster_description(catalog: ProfileCatalog, extra_args: list[str]) -> dict:
    """Real time (speed 1): the cost service bills by the wall clock and the cluster's timestamps,
    which must agree; so VMs here join in seconds and images pull fast instead of the minutes
    the catalog's ETAs say (those are tested on the fast simulated clock elsewhere)."""
    data = cluster_from_catalog(catalog, local_processes=True, local_extra_args=extra_args, start_seconds=1,
                                pull_bandwidth="2Gi")
    for pool in data["pools"]:
        if pool.get("mode") != "System":
            pool["provisioning_seconds"] = 4
            pool["scale_down_unneeded_seconds"] = 6
        labels = pool.setdefault("labels", {})
        labels.setdefault(PURPOSE, "core" if pool.get("mode") == "System" else "user")
    data["autoscaler"]["scale_down_delay_after_add_seconds"] = 6  # compressed like the unneeded time
    for profile in catalog.all_profiles():
        data["images"].setdefault(profile.image, IMAGE_SIZE["gpu" if profile.gpus else "cpu"])
    return data


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--tls-dir", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--speed", type=float, default=1)
    args = parser.parse_args()

    extra = ["--ip={pod_ip}", "--port={port}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    standin = KubeStandIn(load_config(cluster_description(ProfileCatalog(), extra)), speed=args.speed,
                          token=args.token)
    ca, cert, key = make_ca_and_server_cert(Path(args.tls_dir))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    url = await standin.start(args.port, "127.0.0.1", args.tls_dir, ssl_context=context)
    standin.store.create("namespaces", None, {"metadata": {"name": args.namespace}, "spec": {"finalizers": ["kubernetes"]},
                                              "status": {"phase": "Active"}})
    print(json.dumps({"url": url, "ca": str(ca)}), flush=True)
    await standin.serve_until_signalled()


if __name__ == "__main__":
    asyncio.run(main())
