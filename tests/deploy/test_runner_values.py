"""GitLab Runner files: documented keys only, the cloud runner on the GPU pool, on-prem runners."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from hybridhub.spawner.profiles import ProfileCatalog

from .z2jh import HERE, REPO, VALUES_DIR, load_yaml

pytestmark = pytest.mark.deploy

KEYS = load_yaml(HERE / "gitlab-runner-keys.yaml")
CLOUD = VALUES_DIR / "gitlab-runner-cloud.yaml"
ONPREM = {stage: VALUES_DIR / "onprem" / f"runner-{stage}.toml" for stage in ("test", "build", "deploy")}


def check_runner_toml(config: dict) -> list[str]:
    """Keys of a runner config.toml (or template) that the documentation does not describe."""
    doc = KEYS["config_toml"]
    bad = [f"[{k}]" for k in config if k != "runners"]
    for runner in config["runners"]:
        bad += [f"runners.{k}" for k in runner if k not in doc["runners"]]
        if runner.get("executor") not in KEYS["executors"]:
            bad.append(f"executor={runner.get('executor')}")
        for section in ("docker", "kubernetes", "feature_flags"):
            bad += [f"runners.{section}.{k}" for k in runner.get(section, {}) if k not in doc[section]]
        for patch in runner.get("kubernetes", {}).get("pod_spec", []):
            bad += [f"pod_spec.{k}" for k in patch if k not in doc["pod_spec"]]
    return bad


def cloud_runner() -> dict:
    (runner,) = tomllib.loads(load_yaml(CLOUD)["runners"]["config"])["runners"]
    return runner


def test_cloud_chart_values_use_documented_keys():
    values = load_yaml(CLOUD)
    chart = KEYS["chart"]
    assert sorted(set(values) - set(chart["top"])) == []
    for section in ("rbac", "serviceAccount", "runners"):
        assert sorted(set(values.get(section, {})) - set(chart[section])) == [], section


def test_cloud_runner_config_uses_documented_keys():
    assert check_runner_toml(tomllib.loads(load_yaml(CLOUD)["runners"]["config"])) == []


def test_key_check_catches_a_typo():
    config = {"runners": [{"executor": "kubernetes", "kubernetes": {"node_selectors": {}}}]}
    assert check_runner_toml(config) == ["runners.kubernetes.node_selectors"]


def test_cloud_jobs_run_on_a_gpu_pool_and_tolerate_its_taints():
    values = load_yaml(CLOUD)
    assert values["nodeSelector"] == {"agentpool": "system"}, "the runner manager stays on the system pool"
    assert "runnerToken" not in values and values["runners"]["secret"], "token by Secret reference"
    kube = cloud_runner()["kubernetes"]
    pool = ProfileCatalog().pool_map()[kube["node_selector"]["agentpool"]]
    assert pool.has_gpu
    assert {f"{t.key}={t.value}": t.effect for t in pool.taints} == kube["node_tolerations"]
    (patch,) = kube["pod_spec"]
    assert "nvidia.com/gpu: 1" in patch["patch"]
    assert cloud_runner()["feature_flags"]["FF_USE_ADVANCED_POD_SPEC_CONFIGURATION"] is True
    # a GPU node joins in minutes: the job must wait for it rather than fail
    assert kube["poll_timeout"] >= 2 * pool.usual_cold_start_seconds


@pytest.mark.parametrize("stage", sorted(ONPREM))
def test_onprem_runner_templates(stage):
    config = tomllib.loads(ONPREM[stage].read_text(encoding="utf-8"))
    assert check_runner_toml(config) == []
    (runner,) = config["runners"]
    assert "token" not in runner, "tokens are given to gitlab-runner register, not stored"
    assert runner["executor"] == ("shell" if stage == "deploy" else "docker")
    assert runner.get("docker", {}).get("privileged", False) is False


def test_onprem_model_server_compose():
    compose = load_yaml(VALUES_DIR / "onprem" / "model-server.compose.yaml")
    (service,) = compose["services"].values()
    assert service["image"].startswith("${MODEL_IMAGE:?")
    assert service["user"] not in {"0", "root"} and service["read_only"] is True
    assert service["ports"] == ["8080:8080"]
    # MLServer's readiness (V2 inference protocol), its metrics files off the read-only root
    assert "/v2/health/ready" in service["healthcheck"]["test"][-1]
    assert service["environment"]["MLSERVER_METRICS_DIR"].startswith("/tmp/") and "/tmp" in service["tmpfs"]


# gitlab-runner common/config.go, KubernetesHostPath: the keys of [[runners.kubernetes.volumes.host_path]]
HOST_PATH_KEYS = {"name", "mount_path", "sub_path", "read_only", "host_path", "mount_propagation"}


def test_cloud_jobs_mount_the_training_data_cache_and_are_told_where_it_is():
    """Issue 22: a hostPath on the node's temporary disk (survives between jobs on one node, unlike an
    empty_dir), writable by the trainer image's user, and S3IO_CACHE_DIR pointing at it."""
    runner = cloud_runner()
    env = dict(item.split("=", 1) for item in runner["environment"])
    (volume,) = runner["kubernetes"]["volumes"]["host_path"]
    assert set(volume) <= HOST_PATH_KEYS
    assert env["S3IO_CACHE_DIR"] == volume["mount_path"] and volume["read_only"] is False
    assert volume["host_path"].startswith("/mnt/"), "the VM's temporary disk, not the OS disk"
    assert int(env["S3IO_CACHE_MAX_BYTES"]) > 0
    (patch,) = runner["kubernetes"]["pod_spec"]
    (init,) = yaml.safe_load(patch["patch"])["initContainers"]
    assert init["volumeMounts"] == [{"name": volume["name"], "mountPath": volume["mount_path"]}]
    assert init["image"] == runner["kubernetes"]["image"] and init["securityContext"] == {"runAsUser": 0}
    trainer_uid = re.search(r"^USER (\d+)$", (REPO / "images" / "trainer" / "Dockerfile").read_text(), re.M)
    assert init["command"] == ["chown", f"{trainer_uid.group(1)}:{trainer_uid.group(1)}", volume["mount_path"]]
    # the pod parts the executor makes of them (executor_kubernetes.go getVolumesForHostPaths: a
    # hostPath volume without type; the mount in the build container) are valid Kubernetes objects
    from .test_manifests import validate

    mount = {"name": volume["name"], "mountPath": volume["mount_path"], "readOnly": volume["read_only"]}
    validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runner-job"}, "spec": {
        "volumes": [{"name": volume["name"], "hostPath": {"path": volume["host_path"]}}], "initContainers": [init],
        "containers": [{"name": "build", "image": runner["kubernetes"]["image"], "volumeMounts": [mount],
                        "env": [{"name": k, "value": v} for k, v in env.items()]}]}})  # fmt: skip


@pytest.mark.storage
@pytest.mark.cost
def test_only_cloud_jobs_report_their_data_transfer_and_no_token_is_in_the_values():
    """Issue 22: the training reader (the template's ml/s3io.py) sends its totals to
    HYBRIDHUB_TRANSFER_REPORT_URL with HYBRIDHUB_TRANSFER_REPORT_TOKEN. Only the cloud runner's jobs
    get the URL (their reads cross the office link; on-prem runs do not), pointing at the cost
    service's report route on the site's hub (docs/cost.md's routes table); the token is a masked CI/CD
    variable, never in the values (PIPELINE.md, "Data transfer report")."""
    from urllib.parse import urlparse

    template = REPO / "lab_ext" / "hybridhub" / "lab_ext" / "pipelines" / "templates" / "ml-project"
    s3io = (template / "ml" / "s3io.py").read_text()
    assert '"HYBRIDHUB_TRANSFER_REPORT_URL", "HYBRIDHUB_TRANSFER_REPORT_TOKEN"' in s3io  # the names the reader reads
    env = dict(item.split("=", 1) for item in cloud_runner()["environment"])
    url = urlparse(env["HYBRIDHUB_TRANSFER_REPORT_URL"])
    site = load_yaml(VALUES_DIR / "jupyterhub-site.example.yaml")
    callbacks = re.findall(r"https://[^/\s'\"]+/hub/oauth_callback", yaml.safe_dump(site))
    assert callbacks and url.scheme == "https" and f"https://{url.netloc}/hub/oauth_callback" in callbacks
    route = "/services/hybridhub-cost/api/transfer"
    assert url.path == route and f"`POST {route}`" in (REPO / "docs" / "cost.md").read_text()
    assert not [k for k in env if "TOKEN" in k or "SECRET" in k]
    assert "HYBRIDHUB_TRANSFER_REPORT_TOKEN=" not in CLOUD.read_text()
    assert "masked" in (template / "PIPELINE.md").read_text().split("HYBRIDHUB_TRANSFER_REPORT_TOKEN", 2)[1].split("\n")[0]
    for stage, path in ONPREM.items():
        assert "HYBRIDHUB_TRANSFER_REPORT" not in path.read_text(), stage
