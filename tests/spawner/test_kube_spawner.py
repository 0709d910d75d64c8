"""HybridKubeSpawner against the strict Kubernetes stand-in: pods, phases, fast failure, clean-up."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado import web

from hybridhub.spawner.profiles import ProfileCatalog

from .conftest import cluster_from_catalog, start_standin

pytestmark = pytest.mark.spawner


async def spawn(spawner, timeout=60):
    """Start like the hub does: start() and progress() side by side."""
    messages = []

    async def follow():
        async for event in spawner.progress():
            messages.append(event)

    url = spawner.start()
    follower = asyncio.ensure_future(follow())
    try:
        result = await asyncio.wait_for(url, timeout)
    finally:
        await asyncio.wait_for(follower, 10)
    return result, messages


@pytest.mark.parametrize("slug", ["cpu", "gpu-a10", "gpu-a10-large"])
async def test_each_profile_pod_is_accepted_and_lands_on_its_pool(cluster, make_spawner, slug):
    spawner = make_spawner(standin=cluster, admin=True)
    spawner.user_options = {"profile": slug}
    url, _ = await spawn(spawner)
    profile = ProfileCatalog().get(slug)
    pod = cluster.store.get("pods", "default", spawner.pod_name)
    assert url == f"http://{pod['status']['podIP']}:8888"
    assert pod["spec"]["nodeSelector"] == {"agentpool": profile.pool.name}
    node = cluster.store.get("nodes", None, pod["spec"]["nodeName"])
    assert node["metadata"]["labels"]["agentpool"] == profile.pool.name
    labels, annotations = pod["metadata"]["labels"], pod["metadata"]["annotations"]
    assert labels["hybridhub/profile"] == slug and labels["hybridhub/pool"] == profile.pool.name
    assert annotations["hybridhub/price-per-hour"] == f"{profile.price_per_hour:g}"
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HYBRIDHUB_PROFILE"] == slug and env["HYBRIDHUB_IDLE_TIMEOUT"] == str(profile.idle_timeout_seconds)
    if profile.gpus:
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in pod["spec"]["tolerations"]
    else:
        assert "nvidia.com/gpu" not in container["resources"].get("limits", {})
    await asyncio.wait_for(spawner.stop(), 30)
    assert cluster.store.find("pods", "default", spawner.pod_name) is None


async def test_cold_gpu_start_reports_phases_in_order_and_records_eta(cluster, make_spawner, tmp_path):
    spawner = make_spawner(standin=cluster)
    spawner.user_options = {"profile": "gpu-a10"}
    _, events = await spawn(spawner)
    texts = [e["message"] for e in events]
    expected = ["Requesting a GPU node from the gpua10 pool — usually about 7 min.", "Node ", "Downloading the image",
                "Starting Jupyter"]
    positions = [next(i for i, t in enumerate(texts) if t.startswith(prefix)) for prefix in expected]
    assert positions == sorted(positions), texts
    assert "(7.0 GiB)" in texts[positions[2]] or "GiB" not in texts[positions[2]]
    percents = [e["progress"] for e in events]
    assert percents == sorted(percents) and percents[0] >= 10 and percents[-1] <= 95
    assert not any("FailedScheduling" in t or "0/" in t for t in texts)  # scheduler noise translated, not raw
    history = json.loads((tmp_path / "cold-starts.json").read_text())
    assert list(history) == ["gpua10"] and len(history["gpua10"]) == 1

    # the next spawner (a hub restart) reads the measured time as its ETA
    again = make_spawner(standin=cluster, name="bob")
    assert again.eta_for(ProfileCatalog().get("gpu-a10")) == history["gpua10"][0]
    await spawner.stop()


async def test_japanese_progress(cluster, make_spawner):
    spawner = make_spawner(standin=cluster)
    spawner.user_options = {"profile": "cpu", "lang": "ja"}
    _, events = await spawn(spawner)
    assert any("cpu プールに" in e["message"] and "ノードを要求しています" in e["message"] for e in events)
    await spawner.stop()


async def test_forged_profile_is_refused_with_a_clear_message(cluster, make_spawner):
    profiles = [dict(p) for p in ProfileCatalog().profiles]
    profiles[2]["allowed_groups"] = ["research"]
    spawner = make_spawner(standin=cluster, config=None)
    spawner.catalog = ProfileCatalog(profiles=profiles)
    spawner.user_options = {"profile": "gpu-a10-large"}
    with pytest.raises(web.HTTPError) as info:
        await asyncio.wait_for(spawner.start(), 10)
    assert info.value.status_code == 403
    assert "You may not use the profile 'gpu-a10-large'. Choose one of: cpu, gpu-a10." == info.value.log_message
    assert cluster.store.list("pods", "default") == []
    # and the form never offered it
    offered = [p["slug"] for p in spawner._profiles_for_user(spawner)]
    assert offered == ["cpu", "gpu-a10"]


async def test_state_round_trip_finds_running_server_after_hub_restart(cluster, make_spawner):
    spawner = make_spawner(standin=cluster)
    spawner.user_options = {"profile": "cpu"}
    url, _ = await spawn(spawner)
    host, port = url.split("//")[1].split(":")
    state = spawner.get_state()
    restarted = make_spawner(standin=cluster)
    restarted.server.ip, restarted.server.port = host, int(port)  # the hub keeps the URL in its database
    restarted.load_state(state)
    assert await restarted.poll() is None
    await restarted.stop()
    assert await restarted.poll() is not None


async def _failing_cluster(tmp_path, monkeypatch, **changes):
    from tests.kube.conftest import point_kubespawner_at

    data = cluster_from_catalog(ProfileCatalog())
    for pool in data["pools"]:
        pool.update(changes.get(pool["name"], {}))
    for key in ("quotas", "autoscaler"):
        if key in changes:
            data[key] = changes[key]
    standin = await start_standin(tmp_path, data)
    point_kubespawner_at(standin, monkeypatch)
    return standin


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"gpua10": {"max": 0}}, "The gpua10 pool is at its maximum number of nodes, all in use."),
        # the Azure quota is not known before the resize: AKS refuses it, cluster-autoscaler backs the
        # group off and the pod gets "in backoff after failed scale-up" (skippedreasons.go)
        ({"quotas": {"NV6adsFamily": 4}}, "The gpua10 pool could not add a node: its last scale-up failed"),
        # TriggeredScaleUp, then no VM: after --max-node-provision-time the group is backed off
        ({"gpua10": {"fail_scale_up": "allocation"}}, "The gpua10 pool could not add a node: its last scale-up failed"),
        # --cores-total: 'exceeded quota: "cluster-wide", resources: cpu' (1.35+), not Azure's quota
        ({"autoscaler": {"cores_total": 4}},
         "No GPU node can be added: the cluster autoscaler's own limit on CPU cores is reached (a setting of the "
         "cluster, not the Azure quota)."),
    ],
)
async def test_pool_that_cannot_scale_fails_fast_and_leaves_nothing(tmp_path, monkeypatch, make_spawner, changes, expected):
    from kubespawner import KubeSpawner

    standin = await _failing_cluster(tmp_path, monkeypatch, **changes)
    try:
        spawner = make_spawner(standin=standin)
        spawner.user_options = {"profile": "gpu-a10"}
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(web.HTTPError) as info:
            await asyncio.wait_for(spawner.start(), 30)
        assert loop.time() - began < 5
        assert info.value.log_message.startswith(expected)
        assert standin.store.list("pods", "default") == []
    finally:
        await KubeSpawner._stop_all_reflectors()
        await standin.stop()


async def test_unknown_image_fails_fast(cluster, make_spawner):
    spawner = make_spawner(standin=cluster)
    spawner.user_options = {"profile": "cpu"}
    spawner.catalog = ProfileCatalog(profiles=[{**ProfileCatalog().profiles[0], "image": "registry.example.com/nope:1"}])
    with pytest.raises(web.HTTPError) as info:
        await asyncio.wait_for(spawner.start(), 30)
    assert "The image registry.example.com/nope:1 could not be downloaded" in info.value.log_message
    assert cluster.store.list("pods", "default") == []


async def test_crash_looping_server_fails_fast(cluster, make_spawner):
    spawner = make_spawner(standin=cluster, cmd=["false"])
    spawner.user_options = {"profile": "cpu"}
    with pytest.raises(web.HTTPError) as info:
        await asyncio.wait_for(spawner.start(), 30)
    assert "Your server crashed while starting (exit code 1)" in info.value.log_message
    assert cluster.store.list("pods", "default") == []


async def test_secrets_only_in_env_never_in_labels_or_annotations(cluster, make_spawner):
    spawner = make_spawner(standin=cluster, storage_endpoint="http://minio:9000", storage_access_key="AKSECRET1",
                           storage_secret_key="SKSECRET2")
    spawner.user_options = {"profile": "cpu"}
    await spawn(spawner)
    pod = cluster.store.get("pods", "default", spawner.pod_name)
    metadata = json.dumps(pod["metadata"])
    assert "SKSECRET2" not in metadata and "AKSECRET1" not in metadata
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["HYBRIDHUB_S3_SECRET_KEY"] == "SKSECRET2"
    await spawner.stop()


async def test_failed_first_start_removes_the_pvc_it_created_but_keeps_an_older_one(cluster, make_spawner):
    from kubernetes_asyncio.client import V1ObjectMeta, V1PersistentVolumeClaim, V1PersistentVolumeClaimSpec

    volume = {"volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "claim-{username}"}}],
              "volume_mounts": [{"name": "home", "mountPath": "/home/jovyan"}]}
    spawner = make_spawner(standin=cluster, storage_pvc_ensure=True, storage_capacity="1Gi", cmd=["false"], **volume)
    spawner.user_options = {"profile": "cpu"}
    with pytest.raises(web.HTTPError):
        await asyncio.wait_for(spawner.start(), 30)
    assert cluster.store.list("persistentvolumeclaims", "default") == []
    # the hub saves the state and starts again later: the claim is created again, not assumed
    state = spawner.get_state()
    assert "pvc_name" not in state
    again = make_spawner(standin=cluster, storage_pvc_ensure=True, storage_capacity="1Gi", **volume)
    again.load_state(state)
    again.user_options = {"profile": "cpu"}
    await spawn(again)
    assert [c["metadata"]["name"] for c in cluster.store.list("persistentvolumeclaims", "default")] == ["claim-alice"]
    await again.stop()
    cluster.store.delete("persistentvolumeclaims", "default", "claim-alice")

    # an existing claim (earlier work) survives a failed start
    await spawner.api.create_namespaced_persistent_volume_claim("default", V1PersistentVolumeClaim(
        metadata=V1ObjectMeta(name="claim-bob"),
        spec=V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], resources={"requests": {"storage": "1Gi"}})))
    bob = make_spawner(standin=cluster, name="bob", storage_pvc_ensure=True, storage_capacity="1Gi", cmd=["false"], **volume)
    bob.user_options = {"profile": "cpu"}
    with pytest.raises(web.HTTPError):
        await asyncio.wait_for(bob.start(), 30)
    assert [c["metadata"]["name"] for c in cluster.store.list("persistentvolumeclaims", "default")] == ["claim-bob"]
    assert cluster.store.list("pods", "default") == []


async def test_phase_deadline_fails_a_stuck_pull(tmp_path, monkeypatch, make_spawner):
    from kubespawner import KubeSpawner

    from tests.kube.conftest import point_kubespawner_at

    data = cluster_from_catalog(ProfileCatalog())
    data["images"]["registry.example.com/hybridhub/huge:1"] = "100Gi"  # 43 simulated minutes to pull
    standin = await start_standin(tmp_path, data)
    point_kubespawner_at(standin, monkeypatch)
    try:
        spawner = make_spawner(standin=standin, pull_deadline_seconds=1)
        spawner.catalog = ProfileCatalog(profiles=[{**ProfileCatalog().profiles[0], "image": "registry.example.com/hybridhub/huge:1"}])
        spawner.user_options = {"profile": "cpu"}
        with pytest.raises(web.HTTPError) as info:
            await asyncio.wait_for(spawner.start(), 60)
        assert "did not get past 'pulling the image' within 1 s" in info.value.log_message
        assert standin.store.list("pods", "default") == []
    finally:
        await KubeSpawner._stop_all_reflectors()
        await standin.stop()


async def test_form_and_forged_form_value_in_japanese(cluster, make_spawner):
    from hybridhub.spawner.choice import ProfileNotAllowed

    profiles = [dict(p) for p in ProfileCatalog().profiles]
    profiles[2]["allowed_groups"] = ["research"]
    spawner = make_spawner(standin=cluster)
    spawner.catalog = ProfileCatalog(profiles=profiles)
    form = spawner._render_form(spawner)
    assert 'value="gpu-a10-large"' not in form and 'value="gpu-a10"' in form
    assert "¥74.70 per hour · usually ready in about 7 min from zero" in form
    assert "1 時間あたり ¥74.70・停止状態から通常約 7 分で起動" in form
    assert spawner.options_from_form({"profile": ["gpu-a10"], "lang": ["ja"]}) == {"profile": "gpu-a10", "lang": "ja"}
    with pytest.raises(ProfileNotAllowed, match="プロファイル「gpu-a10-large」は使用できません"):
        spawner.options_from_form({"profile": ["gpu-a10-large"], "lang": ["ja"]})


async def test_the_form_asks_the_warm_up_service_only_when_one_is_named(cluster, make_spawner):
    from traitlets import TraitError
    from traitlets.config import Config

    plain = make_spawner(standin=cluster)
    form = plain._render_form(plain)
    assert 'id="hh-profile-gpu-a10" value="gpu-a10" data-hh-gpu="1"' in form
    assert 'id="hh-profile-cpu" value="cpu">' in form or 'id="hh-profile-cpu" value="cpu" checked>' in form
    assert "hh-warm-status" not in form and "api/warmup/intent" not in form
    warming = make_spawner(standin=cluster, config=Config({"HybridSpawner": {"warm_on_intent_service": "hybridhub-cost"}}))
    form = warming._render_form(warming)
    assert 'var service = "hybridhub-cost"' in form and '"/api/warmup/intent"' in form
    assert 'role="status" aria-live="polite"' in form
    # the token the page asks the hub for is worth only reaching that service, for 5 minutes, and is deleted
    assert 'scopes: ["access:services!service=" + service]' in form and "expires_in: 300" in form
    assert 'method: "DELETE"' in form
    for bad in ('x"; alert(1); "', "a/b", "</script>"):
        with pytest.raises(TraitError, match="not a hub service's name"):
            warming.warm_on_intent_service = bad


async def test_the_charts_empty_profile_list_does_not_hide_the_catalog(cluster, make_spawner):
    # zero-to-jupyterhub 4.4.0 files/hub/jupyterhub_config.py: set_config_if_not_none(c.KubeSpawner,
    # "profile_list", "singleuser.profileList") with the chart default [] -> profile_list = []
    from traitlets.config import Config

    spawner = make_spawner(standin=cluster, config=Config({"KubeSpawner": {"profile_list": []}}))
    assert callable(spawner.profile_list)
    spawner.user_options = {"profile": "cpu"}
    await spawn(spawner)
    assert cluster.store.get("pods", "default", spawner.pod_name)["metadata"]["labels"]["hybridhub/profile"] == "cpu"
    await spawner.stop()
