"""The chart's continuous image puller, as our values render it, reaches the GPU pools' nodes and pulls
the GPU profiles' image there (issue 21, image readiness).

Sources: zero-to-jupyterhub 4.4.0 templates/image-puller/_helpers-daemonset.tpl and _helpers.tpl
(image_puller.py); placement and pulls by the kube stand-in's DaemonSet controller and serialized kubelet
pulls (kubernetes pkg/controller/daemon/daemon_controller.go NodeShouldRunDaemonPod: taints must be
tolerated; pkg/kubelet/images/puller.go; tests/kube/test_standin_prepull.py).
"""

from __future__ import annotations

import copy

import httpx
import pytest

from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube_standin import KubeStandIn, load_config
from tests.kube_standin.from_catalog import cluster_from_catalog

from .image_puller import continuous_puller, image_of
from .z2jh import VALUE_SETS, chart_values

pytestmark = [pytest.mark.deploy, pytest.mark.kube, pytest.mark.warmup]

CATALOG = ProfileCatalog()
VALUES = chart_values(*VALUE_SETS["aks"])
DSS = "/apis/apps/v1/namespaces/default/daemonsets"
PODS = "/api/v1/namespaces/default/pods"


def gpu_image_name() -> str:
    """The GPU profiles' image as the hub names it (hub.extraConfig 20-: registry/name:tag)."""
    names = {p.image.rpartition("/")[2].partition(":")[0] for p in CATALOG.all_profiles()
             if p.pool.has_gpu}
    assert len(names) == 1, names
    return names.pop()


def test_puller_is_on_and_names_the_gpu_profiles_image_after_singleuser_image():
    ds = continuous_puller(VALUES)
    assert ds is not None
    assert VALUES["prePuller"]["hook"]["enabled"] is False
    images = [c["image"] for c in ds["spec"]["template"]["spec"]["initContainers"]]
    single = VALUES["singleuser"]["image"]
    registry = single["name"].rpartition("/")[0]
    gpu = f"{registry}/{gpu_image_name()}:{single['tag']}"
    # the chart's order: network-tools (cloud metadata block), singleuser.image, then extraImages
    assert images == [image_of(VALUES["singleuser"]["networkTools"]["image"]), image_of(single), gpu]
    assert "priorityClassName" not in ds["spec"]["template"]["spec"]  # podPriority is off in our values


def test_the_site_example_pulls_the_gpu_image_the_hub_names_from_its_registry():
    """The site example sets the registry for the hub (HYBRIDHUB_IMAGE_REGISTRY/_TAG) and for the
    puller alike: a puller naming the example registry's image would pull nothing a user runs (and
    fail with ErrImagePull on every node)."""
    values = chart_values(*VALUE_SETS["aks+site"])
    env = values["hub"]["extraEnv"]
    gpu = f"{env['HYBRIDHUB_IMAGE_REGISTRY'].rstrip('/')}/{gpu_image_name()}:{env['HYBRIDHUB_IMAGE_TAG']}"
    images = [c["image"] for c in continuous_puller(values)["spec"]["template"]["spec"]["initContainers"]]
    assert images[-2:] == [image_of(values["singleuser"]["image"]), gpu], images


def cluster(values: dict) -> dict:
    """The catalog's pools, with the rendered images' sizes (as the site registry's images)."""
    data = cluster_from_catalog(CATALOG)
    ds = continuous_puller(values)
    sizes = {"singleuser-cpu": "1.2Gi", "singleuser-gpu": "7Gi", "k8s-network-tools": "12Mi", "pause": "320Ki"}
    for c in ds["spec"]["template"]["spec"]["initContainers"] + ds["spec"]["template"]["spec"]["containers"]:
        data["images"][c["image"]] = sizes[c["image"].rpartition("/")[2].partition(":")[0]]
    return data


async def run_puller(tmp_path, values: dict, pool: str) -> tuple[dict, list[dict]]:
    """Create the rendered DaemonSet, bring a node of ``pool`` up with a pod, let it pull."""
    standin = KubeStandIn(load_config(cluster(values)), manual_clock=True)
    await standin.start(kubeconfig_dir=str(tmp_path))
    try:
        async with httpx.AsyncClient(base_url=standin.url, headers={"Authorization": f"Bearer {standin.token}"}) as http:
            assert (await http.post(DSS, json=continuous_puller(values))).status_code == 201
            taints = [str(t) for t in CATALOG.pool_map()[pool].taints]
            tolerations = [{"key": t.partition("=")[0], "operator": "Equal", "value": t.partition("=")[2].partition(":")[0],
                            "effect": t.partition(":")[2]} for t in taints]
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
                   "spec": {"nodeSelector": {"agentpool": pool}, "tolerations": tolerations,
                            "containers": [{"name": "c", "image": data_image(values),
                                            "resources": {"requests": {"cpu": "100m"}}}]}}
            assert (await http.post(PODS, json=pod)).status_code == 201
            await standin.clock.advance(CATALOG.pool_map()[pool].usual_cold_start_seconds + 600)
            node = next(s for s in standin.cluster.nodes.values() if s.pool.name == pool)
            pullers = standin.store.list("pods", "default",
                                         lambda p: p["metadata"].get("generateName") == "continuous-image-puller-")
            return {"node": node.name, "images": set(node.images)}, pullers
    finally:
        await standin.stop()


def data_image(values: dict) -> str:
    return image_of(values["prePuller"]["pause"]["image"])  # the test's pod: small, pulled last


@pytest.mark.parametrize("pool", sorted(n for n, p in CATALOG.pool_map().items() if p.has_gpu))
async def test_rendered_puller_reaches_gpu_nodes_and_pulls_the_gpu_image(tmp_path, pool):
    node, pullers = await run_puller(tmp_path, VALUES, pool)
    [puller] = pullers
    assert puller["spec"]["nodeName"] == node["node"]
    assert puller["status"]["phase"] == "Running"
    wanted = {c["image"] for c in continuous_puller(VALUES)["spec"]["template"]["spec"]["initContainers"]}
    assert wanted <= node["images"]


async def test_without_the_gpu_toleration_the_chart_puller_skips_gpu_nodes(tmp_path):
    """The check has teeth: the chart's default tolerations (userPods only) do not cover sku=gpu."""
    values = copy.deepcopy(VALUES)
    values["prePuller"]["extraTolerations"] = []
    pool = next(n for n, p in CATALOG.pool_map().items() if p.has_gpu)
    node, pullers = await run_puller(tmp_path, values, pool)
    assert pullers == []
    assert not any("singleuser-gpu" in image for image in node["images"])
