"""Kubernetes objects: the shipped manifests and the user pods the values lead to are valid."""

from __future__ import annotations

import tomllib

import kubernetes_validate
import pytest
import yaml
from kubernetes_asyncio.client import ApiClient
from kubespawner.objects import make_pod

from hybridhub.spawner.pod import profile_overrides
from hybridhub.spawner.profiles import ProfileCatalog

from .z2jh import VALUE_SETS, VALUES_DIR, chart_values

pytestmark = pytest.mark.deploy

K8S_VERSION = "1.33.0"  # an AKS-supported minor; kubernetes-validate ships its schemas offline
MANIFESTS = ["cost-node-reader.yaml", "nvidia-device-plugin.yaml", "gpu-image-puller.yaml"]
CATALOG = ProfileCatalog()


def validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_is_valid(name):
    with open(VALUES_DIR / name, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    assert documents
    for document in documents:
        validate(document)


@pytest.mark.parametrize("name", ["nvidia-device-plugin.yaml", "gpu-image-puller.yaml"])
def test_gpu_daemonset_covers_exactly_the_gpu_pools(name):
    with open(VALUES_DIR / name, encoding="utf-8") as f:
        daemonset = [d for d in yaml.safe_load_all(f) if d and d["kind"] == "DaemonSet"][0]
    spec = daemonset["spec"]["template"]["spec"]
    term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    (expression,) = term["matchExpressions"]
    gpu_pools = [p for p in CATALOG.pool_map().values() if p.has_gpu]
    assert expression["key"] == "agentpool" and expression["values"] == [p.name for p in gpu_pools]
    taints = {(t.key, t.value, t.effect) for p in gpu_pools for t in p.taints}
    assert taints <= {(t["key"], t["value"], t["effect"]) for t in spec["tolerations"]}


async def user_pod(profile) -> dict:
    """The pod KubeSpawner builds for a profile with the chart's singleuser settings."""
    values = chart_values(*VALUE_SETS["aks+site"])
    single = values["singleuser"]
    o = profile_overrides(profile)
    purpose = values["scheduling"]["userPods"]["nodeAffinity"]["matchNodePurpose"]
    required = [{"matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}]
    pod = make_pod(
        name="jupyter-alice",
        cmd=[single["cmd"]],
        port=8888,
        image=o["image"],
        image_pull_policy="IfNotPresent",
        image_pull_secrets=[{"name": n} for n in values.get("imagePullSecrets", [])],
        node_selector=o["node_selector"],
        uid=1000,
        fs_gid=100,
        env={"HYBRIDHUB_PROFILE": profile.slug, "JUPYTERHUB_API_TOKEN": "placeholder"},
        labels={**o["extra_labels"], "component": "singleuser-server"},
        annotations=o["extra_annotations"],
        cpu_limit=o["cpu_limit"],
        cpu_guarantee=o["cpu_guarantee"],
        mem_limit=o["mem_limit"],
        mem_guarantee=o["mem_guarantee"],
        extra_resource_limits=o.get("extra_resource_limits"),
        extra_resource_guarantees=o.get("extra_resource_guarantees"),
        tolerations=o["tolerations"],
        node_affinity_required=required if purpose == "require" else None,
        volumes=[{"name": "home", "persistentVolumeClaim": {"claimName": "claim-alice"}}],
        volume_mounts=[{"name": "home", "mountPath": single["storage"]["homeMountPath"]}],
    )
    async with ApiClient() as api:  # its serializer needs a running loop
        manifest = api.sanitize_for_serialization(pod)
    return {"apiVersion": "v1", "kind": "Pod", **manifest}


@pytest.mark.parametrize("profile", CATALOG.all_profiles(), ids=lambda p: p.slug)
async def test_user_pod_is_valid_and_lands_on_its_pool(profile):
    pod = await user_pod(profile)
    validate(pod)
    spec = pod["spec"]
    assert spec["nodeSelector"] == {"agentpool": profile.pool.name}
    tolerated = {(t["key"], t.get("value"), t["effect"]) for t in spec.get("tolerations", [])}
    assert {(t.key, t.value, t.effect) for t in profile.pool.taints} <= tolerated
    limits = spec["containers"][0]["resources"]["limits"]
    if profile.gpus:
        assert limits["nvidia.com/gpu"] == str(profile.gpus)
    else:
        assert "nvidia.com/gpu" not in limits


async def test_invalid_pod_is_rejected():
    """The validator has teeth: a misspelt field fails."""
    pod = await user_pod(CATALOG.all_profiles()[0])
    pod["spec"]["nodeSelecter"] = pod["spec"].pop("nodeSelector")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(pod)


def test_hub_deployment_parts_are_valid():
    """The hub Deployment's pod parts the values drive: node selector, env from Secrets, image."""
    values = chart_values(*VALUE_SETS["aks+site"])
    hub = values["hub"]
    env = [{"name": k, **v} if isinstance(v, dict) else {"name": k, "value": v} for k, v in hub["extraEnv"].items()]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hub"},
        "spec": {"selector": {"matchLabels": {"component": "hub"}}, "template": {
            "metadata": {"labels": {"component": "hub"}},
            "spec": {"nodeSelector": hub["nodeSelector"],
                     "imagePullSecrets": [{"name": n} for n in values["imagePullSecrets"]],
                     "containers": [{"name": "hub", "image": f"{hub['image']['name']}:{hub['image']['tag']}",
                                     "env": env, "resources": hub["resources"]}]}}},
    }
    validate(deployment)
    assert all("valueFrom" in e or e["name"].startswith("HYBRIDHUB_IMAGE_") for e in env)


def test_runner_job_pod_parts_are_valid():
    """A train job's pod as the Kubernetes executor builds it from the runner config."""
    values = yaml.safe_load((VALUES_DIR / "gitlab-runner-cloud.yaml").read_text(encoding="utf-8"))
    kube = tomllib.loads(values["runners"]["config"])["runners"][0]["kubernetes"]
    (patch,) = kube["pod_spec"]
    gpu_limits = yaml.safe_load(patch["patch"])["containers"][0]["resources"]["limits"]
    tolerations = [{"key": k.split("=")[0], "operator": "Equal", "value": k.split("=")[1], "effect": e}
                   for k, e in kube["node_tolerations"].items()]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runner-job"}, "spec": {
        "nodeSelector": kube["node_selector"], "tolerations": tolerations,
        "imagePullSecrets": [{"name": n} for n in kube["image_pull_secrets"]],
        "containers": [{"name": "build", "image": kube["image"], "resources": {
            "requests": {"cpu": kube["cpu_request"], "memory": kube["memory_request"]},
            "limits": {"cpu": kube["cpu_limit"], "memory": kube["memory_limit"], **gpu_limits}}}]}}
    validate(pod)
