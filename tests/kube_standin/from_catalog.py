"""A stand-in cluster description built from hybridhub's profile catalog.

So the stand-in, the spawner tests and ``hybridhub demo --kube`` use the same pools as the
profiles (one source of truth). VM capacities are Azure's published sizes; allocatable a bit less.
"""

from __future__ import annotations

VM_SIZES = {
    "Standard_B2s": ({"cpu": "2", "memory": "4Gi"}, {"cpu": "1900m", "memory": "2.5Gi"}),
    "Standard_NV6ads_A10_v5": ({"cpu": "6", "memory": "55Gi", "nvidia.com/gpu": "1"},
                               {"cpu": "5840m", "memory": "48Gi", "nvidia.com/gpu": "1"}),
    "Standard_NV18ads_A10_v5": ({"cpu": "18", "memory": "220Gi", "nvidia.com/gpu": "1"},
                                {"cpu": "17600m", "memory": "200Gi", "nvidia.com/gpu": "1"}),
}
IMAGE_SIZES = {
    "registry.example.com/hybridhub/singleuser-cpu:latest": "1.2Gi",
    "registry.example.com/hybridhub/singleuser-gpu:latest": "7Gi",
    # the zero-to-jupyterhub chart's init container block-cloud-metadata (singleuser.networkTools)
    "quay.io/jupyterhub/k8s-network-tools:4.4.0": "12Mi",
}


def cluster_from_catalog(catalog, **kubelet) -> dict:
    """The stand-in's cluster description (the pools-file format) for a ``ProfileCatalog``."""
    # the deployment guide's (docs/deploy-aks.md) labels: the chart's core pods need node-purpose=core,
    # its user pods (scheduling.userPods.nodeAffinity.matchNodePurpose: require) node-purpose=user
    pools = [{"name": "system", "mode": "System", "vm_size": "Standard_D2s_v5", "min": 1, "max": 1,
              "capacity": {"cpu": "2", "memory": "8Gi"}, "allocatable": {"cpu": "1900m", "memory": "6Gi"},
              "labels": {"hub.jupyter.org/node-purpose": "core"}}]
    for pool in catalog.pool_map().values():
        if pool.vm_size not in VM_SIZES:
            raise ValueError(f"pool {pool.name}: no capacity known for VM size {pool.vm_size}")
        capacity, allocatable = VM_SIZES[pool.vm_size]
        pools.append({
            "name": pool.name, "vm_size": pool.vm_size, "vm_family": pool.vm_size.split("_")[1] + "Family",
            "min": pool.min_nodes, "max": pool.max_nodes, "capacity": capacity, "allocatable": allocatable,
            "taints": [str(t) for t in pool.taints], "provisioning_seconds": pool.usual_cold_start_seconds,
            "labels": {"hub.jupyter.org/node-purpose": "user"},
            "scale_down_unneeded_seconds": pool.scale_down_unneeded_seconds,
        })
    return {
        # the guide's `az aks update --cluster-autoscaler-profile ... scale-down-delay-after-add=5m`
        "autoscaler": {"scale_down_delay_after_add_seconds": 300},
        "images": dict(IMAGE_SIZES),
        "kubelet": {"pull_bandwidth": "40Mi", "start_seconds": 5, "crash_after_seconds": 0,
                    "pull_error_seconds": 2, "backoff_initial_seconds": 10, "backoff_max_seconds": 40, **kubelet},
        "pools": pools,
    }
