"""HybridKubeSpawner with the chart's init container (zero-to-jupyterhub 4.4.0 adds ``block-cloud-metadata``
when ``singleuser.cloudMetadata.blockWithIptables`` is true, its default), on the stand-in whose kubelet
runs init containers one at a time before the server's container (kuberuntime_manager.go)."""

from __future__ import annotations

import asyncio

import pytest
from tornado import web

from hybridhub.spawner.phases import Failure, Observation, Phase
from hybridhub.spawner.profiles import ProfileCatalog
from .conftest import cluster_from_catalog, running_standin
from .test_kube_spawner import spawn

pytestmark = pytest.mark.spawner

TOOLS = "quay.io/jupyterhub/k8s-network-tools:4.4.0"
GPU_IMAGE = "registry.example.com/hybridhub/singleuser-gpu:latest"


def block_cloud_metadata(image=TOOLS) -> dict:
    """The init container as the chart's files/hub/jupyterhub_config.py builds it."""
    return {"name": "block-cloud-metadata", "image": image,
            "command": ["iptables", "--append", "OUTPUT", "--protocol", "tcp", "--destination", "169.254.169.254",
                        "--destination-port", "80", "--jump", "DROP"],
            "securityContext": {"privileged": True, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}}


@pytest.fixture
async def chart_cluster(tmp_path, monkeypatch):
    """The catalog's cluster with the network-tools image (about 10 MiB, alpine with iptables) and a
    40 GiB GPU image: 1024 simulated seconds at 40 MiB/s, about a real second at 1000x."""
    data = cluster_from_catalog(ProfileCatalog())
    data["images"][TOOLS] = "10Mi"
    data["images"][GPU_IMAGE] = "40Gi"
    async with running_standin(tmp_path, monkeypatch, data) as standin:
        yield standin


async def test_cpu_profile_with_the_charts_init_container_becomes_ready(chart_cluster, make_spawner):
    spawner = make_spawner(standin=chart_cluster, init_containers=[block_cloud_metadata()], progress_interval=0.05)
    spawner.user_options = {"profile": "cpu"}
    url, events = await spawn(spawner)
    pod = chart_cluster.store.get("pods", "default", spawner.pod_name)
    assert url == f"http://{pod['status']['podIP']}:8888"
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["block-cloud-metadata"]
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    texts = [e["message"] for e in events]
    download = next(t for t in texts if t.startswith("Downloading the image"))
    assert "singleuser-cpu" in download and "k8s-network-tools" not in " ".join(texts)
    assert texts.index(download) > max(i for i, t in enumerate(texts) if t.startswith("Node "))
    await spawner.stop()


async def test_missing_init_image_fails_naming_the_step_not_the_profile_image(chart_cluster, make_spawner):
    missing = "quay.io/jupyterhub/k8s-network-tools:0.0.0-missing"
    spawner = make_spawner(standin=chart_cluster, init_containers=[block_cloud_metadata(missing)])
    spawner.user_options = {"profile": "cpu", "lang": "ja"}
    with pytest.raises(web.HTTPError) as info:
        await asyncio.wait_for(spawner.start(), 30)
    assert info.value.log_message.startswith(
        f"起動準備のステップ block-cloud-metadata がイメージ {missing} をダウンロードできませんでした（")
    assert "singleuser-cpu" not in info.value.log_message
    assert chart_cluster.store.list("pods", "default") == []


async def test_failing_init_container_fails_naming_the_step(chart_cluster, make_spawner):
    spawner = make_spawner(standin=chart_cluster, init_containers=[{**block_cloud_metadata(), "command": ["false"]}])
    spawner.user_options = {"profile": "cpu"}
    with pytest.raises(web.HTTPError) as info:
        await asyncio.wait_for(spawner.start(), 30)
    assert info.value.log_message.startswith("The start-up step block-cloud-metadata keeps failing (exit code 1)")
    assert chart_cluster.store.list("pods", "default") == []


async def test_gpu_image_pull_is_governed_by_the_pull_deadline_not_the_server_deadline(chart_cluster, make_spawner):
    # the init container is created and started before the 40 GiB pull: its events must not start
    # the server deadline (0.5 s here; the pull takes about a real second)
    spawner = make_spawner(standin=chart_cluster, init_containers=[block_cloud_metadata()],
                           server_deadline_seconds=0.5, pull_deadline_seconds=60, progress_interval=0.02)
    spawner.user_options = {"profile": "gpu-a10"}
    url, events = await spawn(spawner)
    texts = [e["message"] for e in events]
    assert "Preparing your server: start-up step block-cloud-metadata." in texts
    download = next(t for t in texts if t.startswith(f"Downloading the image {GPU_IMAGE}"))
    assert texts.index("Preparing your server: start-up step block-cloud-metadata.") < texts.index(download)
    await spawner.stop()


@pytest.mark.parametrize("observation, phase, seconds, en, ja", [
    # an asynchronous failure shows as a scale-up and then no node
    (Observation(Phase.WAITING_FOR_NODE, True), "waiting for a node", 1260,
     "A node was requested from the gpua10 pool 1260 s ago and has not joined (it usually takes about 420 s).",
     "gpua10 プールにノードを要求してから 1260 秒経ちましたが、まだ参加していません（通常は約 420 秒）。"),
    (Observation(Phase.WAITING_FOR_NODE, False, autoscaler_note="the pool is not ready for scale-up"),
     "waiting for a node", 1260, "The gpua10 pool was not ready for scale-up for 1260 s, so no node was added.",
     "gpua10 プールが 1260 秒間スケールアップできる状態にならず、ノードが追加されませんでした。"),
    (Observation(Phase.PREPARING, True, step="block-cloud-metadata"), "preparing the server", 600,
     "Your server did not get past 'preparing the server' within 600 s.",
     "サーバーが 600 秒以内に「サーバーの起動準備」の段階を終えられませんでした。"),
])
async def test_deadline_messages_say_what_was_waited_for(cluster, make_spawner, observation, phase, seconds, en, ja):
    spawner = make_spawner(standin=cluster)
    spawner._profile = ProfileCatalog().get("gpu-a10")
    assert spawner._deadline_message(observation, phase, seconds).startswith(en)
    spawner.user_options = {"lang": "ja"}
    assert spawner._deadline_message(observation, phase, seconds).startswith(ja)


@pytest.mark.parametrize("failure, en, ja", [
    (Failure("scale_backoff", "the pool's last scale-up failed, so the autoscaler is backing off"),
     "The gpua10 pool could not add a node: its last scale-up failed, and the autoscaler is waiting before it "
     "tries again. Azure may be out of capacity or quota for this VM size.",
     "gpua10 プールにノードを追加できません。前回のスケールアップが失敗したため、オートスケーラーが再試行を待っています。"),
    (Failure("autoscaler_limit", "cpu, nvidia.com/gpu"),
     "No GPU node can be added: the cluster autoscaler's own limit on CPU cores and GPUs is reached (a setting of "
     "the cluster, not the Azure quota).",
     "GPU ノードを追加できません。クラスターのオートスケーラー自身のCPU コア数・GPU 数の上限に達しています"),
    (Failure("pool_at_max", "the pool is at its maximum number of nodes"),
     "The gpua10 pool is at its maximum number of nodes, all in use.",
     "gpua10 プールはノード数の上限に達しており、すべて使用中です。"),
    (Failure("init_crash_loop", "exit code 1", step="block-cloud-metadata", image=TOOLS),
     "The start-up step block-cloud-metadata keeps failing (exit code 1), so your server cannot start.",
     "起動準備のステップ block-cloud-metadata が失敗を繰り返しているため（exit code 1）、サーバーを起動できません。"),
])
async def test_failure_messages_in_both_languages(cluster, make_spawner, failure, en, ja):
    spawner = make_spawner(standin=cluster)
    spawner._profile = ProfileCatalog().get("gpu-a10")
    observation = Observation(Phase.WAITING_FOR_NODE, False, failure=failure)
    assert spawner._failure_message(observation).startswith(en)
    spawner.user_options = {"lang": "ja"}
    assert spawner._failure_message(observation).startswith(ja)
