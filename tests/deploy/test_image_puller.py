"""Two image pullers, as deployed (issue 21, image readiness): the chart's continuous puller, as our values
render it, pulls the CPU image on the CPU pool only; helm-values/gpu-image-puller.yaml pulls the GPU
profiles' image on the GPU pools only. So a GPU node has its 7 GiB image before its user comes, and a CPU
node never fetches it.

Sources: zero-to-jupyterhub 4.4.0 templates/image-puller/_helpers-daemonset.tpl and _helpers.tpl
(image_puller.py); placement and pulls by the kube stand-in's DaemonSet controller and serialized kubelet
pulls (kubernetes pkg/controller/daemon/daemon_controller.go NodeShouldRunDaemonPod: node affinity must
match and NoSchedule taints must be tolerated; pkg/kubelet/images/puller.go; tests/kube/test_standin_prepull.py).
"""

from __future__ import annotations

import copy

import httpx
import pytest

from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube_standin import KubeStandIn, load_config
from tests.kube_standin.from_catalog import cluster_from_catalog

from .image_puller import continuous_puller, gpu_image_puller, image_of
from .z2jh import VALUE_SETS, chart_values

pytestmark = [pytest.mark.deploy, pytest.mark.kube, pytest.mark.warmup]

CATALOG = ProfileCatalog()
VALUES = chart_values(*VALUE_SETS["aks"])
DSS = "/apis/apps/v1/namespaces/default/daemonsets"
PODS = "/api/v1/namespaces/default/pods"
SIZES = {"singleuser-cpu": "1.2Gi", "singleuser-gpu": "7Gi", "k8s-network-tools": "12Mi", "pause": "320Ki"}


def pulled(daemonset: dict) -> list[str]:
    spec = daemonset["spec"]["template"]["spec"]
    return [c["image"] for c in spec["initContainers"]]


def tolerates(daemonset: dict, taint) -> bool:
    return any(t.get("key") == taint.key and t.get("value") == taint.value and t.get("effect") == taint.effect
               for t in daemonset["spec"]["template"]["spec"].get("tolerations") or [])


def test_the_chart_puller_pulls_only_the_cpu_image_and_keeps_off_the_gpu_pools():
    ds = continuous_puller(VALUES)
    assert ds is not None
    assert VALUES["prePuller"]["hook"]["enabled"] is False
    # the chart's order: network-tools (cloud metadata block), then singleuser.image; no extraImages
    assert pulled(ds) == [image_of(VALUES["singleuser"]["networkTools"]["image"]), image_of(VALUES["singleuser"]["image"])]
    assert not any(tolerates(ds, t) for p in CATALOG.pool_map().values() if p.has_gpu for t in p.taints)
    assert "priorityClassName" not in ds["spec"]["template"]["spec"]  # podPriority is off in our values


def test_with_the_site_values_the_chart_puller_pulls_the_sites_cpu_image():
    values = chart_values(*VALUE_SETS["aks+site"])
    assert pulled(continuous_puller(values))[-1] == image_of(values["singleuser"]["image"])
    assert not any("singleuser-gpu" in image for image in pulled(continuous_puller(values)))


def test_the_gpu_puller_pulls_the_gpu_profiles_image_and_nothing_else():
    names = {p.image.rpartition("/")[2].partition(":")[0] for p in CATALOG.all_profiles() if p.pool.has_gpu}
    assert [image.rpartition("/")[2].partition(":")[0] for image in pulled(gpu_image_puller())] == sorted(names)
    assert gpu_image_puller()["spec"]["template"]["spec"]["containers"][0]["image"] == image_of(VALUES["prePuller"]["pause"]["image"])
    assert "resources" not in gpu_image_puller()["spec"]["template"]["spec"]["initContainers"][0]  # like the chart's: no requests


def cluster() -> dict:
    """The catalog's pools, with the pulled images' sizes."""
    data = cluster_from_catalog(CATALOG)
    for ds in (continuous_puller(VALUES), gpu_image_puller()):
        spec = ds["spec"]["template"]["spec"]
        for c in spec["initContainers"] + spec["containers"]:
            data["images"][c["image"]] = SIZES[c["image"].rpartition("/")[2].partition(":")[0]]
    return data


async def node_of_pool(tmp_path, pool: str, daemonsets: list[dict]) -> tuple[dict, dict[str, list[dict]]]:
    """Create the DaemonSets, bring a node of ``pool`` up with a small pod, let the pullers pull."""
    standin = KubeStandIn(load_config(cluster()), manual_clock=True)
    await standin.start(kubeconfig_dir=str(tmp_path))
    try:
        async with httpx.AsyncClient(base_url=standin.url, headers={"Authorization": f"Bearer {standin.token}"}) as http:
            for ds in daemonsets:
                r = await http.post(DSS, json=ds)
                assert r.status_code == 201, r.text
            tolerations = [{"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
                           for t in CATALOG.pool_map()[pool].taints]
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
                   "spec": {"nodeSelector": {"agentpool": pool}, "tolerations": tolerations,
                            "containers": [{"name": "c", "image": image_of(VALUES["prePuller"]["pause"]["image"]),
                                            "resources": {"requests": {"cpu": "100m"}}}]}}
            assert (await http.post(PODS, json=pod)).status_code == 201
            await standin.clock.advance(CATALOG.pool_map()[pool].usual_cold_start_seconds + 600)
            node = next(s for s in standin.cluster.nodes.values() if s.pool.name == pool)
            pods = {ds["metadata"]["name"]: standin.store.list(
                "pods", "default", lambda p, n=ds["metadata"]["name"]: p["metadata"].get("generateName") == n + "-")
                for ds in daemonsets}
            return {"node": node.name, "images": set(node.images)}, pods
    finally:
        await standin.stop()


@pytest.mark.parametrize("pool", sorted(CATALOG.pool_map()))
async def test_each_node_gets_its_pools_image_from_its_own_puller_and_never_the_other(tmp_path, pool):
    """A GPU node: the GPU puller's image, not the CPU image; a CPU node: the chart's CPU image, never the GPU one."""
    chart, gpu = continuous_puller(VALUES), gpu_image_puller()
    mine, other = (gpu, chart) if CATALOG.pool_map()[pool].has_gpu else (chart, gpu)
    node, pods = await node_of_pool(tmp_path, pool, [chart, gpu])
    assert pods[other["metadata"]["name"]] == []
    [puller] = pods[mine["metadata"]["name"]]
    assert puller["spec"]["nodeName"] == node["node"] and puller["status"]["phase"] == "Running"
    assert set(pulled(mine)) <= node["images"]
    assert not set(pulled(other)) & node["images"]


async def test_without_its_toleration_the_gpu_puller_would_skip_the_gpu_nodes(tmp_path):
    """The check has teeth: the GPU pools' taint (sku=gpu:NoSchedule) keeps out a puller that does not tolerate it."""
    blind = copy.deepcopy(gpu_image_puller())
    blind["spec"]["template"]["spec"]["tolerations"] = []
    pool = next(n for n, p in CATALOG.pool_map().items() if p.has_gpu)
    node, pods = await node_of_pool(tmp_path, pool, [blind])
    assert pods[blind["metadata"]["name"]] == []
    assert not set(pulled(blind)) & node["images"]
