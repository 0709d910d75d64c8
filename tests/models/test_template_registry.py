"""The example pipeline's jobs register each model version with its lineage (design §1-§3 of
issue 19): ml/train.py, ml/evaluate.py and the build's ml/registry.py run as the jobs run them
(subprocesses, the jobs' environment) against a real MLflow tracking server and the real
SeaweedFS store, with and without bucket versioning, and against the GitLab stand-in's registry."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import joblib
import pytest
from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

from tests.gitlab.test_standin_mlflow import registry, train_job  # noqa: F401 (fixture: the GitLab stand-in's registry)
from tests.pipelines.conftest import sample_data  # noqa: F401 (fixture: the demo's train.csv and test.csv)

from .mlflow_server import mlflow_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.models

LINEAGE_KEYS = {"model", "commit", "project", "pipeline_id", "jobs", "data", "metrics", "gate", "image", "reproduces"}


def job(script: str, *args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TEMPLATE_DIR / "ml" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)  # fmt: skip


@pytest.fixture
def store(object_store):
    creds = object_store.credentials
    admin = Minio(object_store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key,
                  secure=False)  # fmt: skip
    env = {"S3_ENDPOINT": object_store.endpoint, "AWS_ACCESS_KEY_ID": creds.admin_access_key,
           "AWS_SECRET_ACCESS_KEY": creds.admin_secret_key}  # fmt: skip
    return admin, env, creds.admin_secret_key


def bucket_with_data(admin: Minio, versioned: bool) -> tuple[str, list[str]]:
    """A new bucket with sensors/train.csv written twice (the second is the latest) and sensors/test.csv."""
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    admin.make_bucket(bucket)
    if versioned:
        admin.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    versions = []
    for rows, seed in ((300, 7), (2000, 1)):
        data = sensor_csv(rows, seed=seed)
        versions.append(admin.put_object(bucket, "sensors/train.csv", io.BytesIO(data), len(data)).version_id)
    test = sensor_csv(500, seed=2)
    admin.put_object(bucket, "sensors/test.csv", io.BytesIO(test), len(test))
    return bucket, versions


def job_env(tmp_path: Path, s3: dict, model: str, job_id: str, **extra) -> dict:
    """What a GitLab job of the template gets (CI_* predefined variables, the CI file's variables,
    the masked S3 keys), with the tracking server of the test as MLFLOW_TRACKING_URI."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CI_JOB_ID": job_id, "CI_PIPELINE_ID": "4242",
            "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567", "CI_PROJECT_PATH": "ml-team/sensors",
            "MODEL_NAME": model, "MAX_ITER": "300", **s3, **extra}  # fmt: skip


def run_pipeline(tmp_path: Path, s3: dict, bucket: str, model: str, uri: str, min_accuracy: str = "0.95", **extra):
    """train, test and the local build's recording, each as its job runs it, in one project folder."""
    work = tmp_path / "project"
    work.mkdir(parents=True, exist_ok=True)
    (work / "Dockerfile").write_text((TEMPLATE_DIR / "Dockerfile").read_text())
    base = {"MLFLOW_TRACKING_URI": uri, **extra}
    train = job("train.py", "--data", f"s3://{bucket}/sensors/train.csv", "--out", "model", cwd=work,
                env=job_env(tmp_path, s3, model, "101", **base))  # fmt: skip
    assert train.returncode == 0, train.stdout + train.stderr
    test = job("evaluate.py", "--model", "model", "--data", f"s3://{bucket}/sensors/test.csv",
               "--min-accuracy", min_accuracy, cwd=work, env=job_env(tmp_path, s3, model, "102", **base))  # fmt: skip
    build = job("registry.py", "build", "--context", "Dockerfile", "model", cwd=work,
                env=job_env(tmp_path, s3, model, "103", **base))  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    return work, train, test, build


def test_a_version_is_registered_with_its_lineage(tmp_path, store, mlflow_server):  # noqa: F811
    admin, s3, secret = store
    bucket, versions = bucket_with_data(admin, versioned=True)
    model = f"sensor-failure-{uuid.uuid4().hex[:8]}"
    work, train, test, build = run_pipeline(tmp_path, s3, bucket, model, mlflow_server.url)
    assert test.returncode == 0, test.stdout + test.stderr

    info = json.loads((work / "model" / "registry.json").read_text())
    assert info["model"] == model and info["version"] == "1.0.4242" and info["registry_version"] == "1"
    # the registry's own answer (REST of the real server), not what the job says it did
    version = mlflow_server.get("model-versions/get", name=model, version="1")["model_version"]
    assert version["run_id"] == info["run_id"]
    assert {t["key"]: t["value"] for t in version["tags"]}["gitlab.version"] == "1.0.4242"
    run = mlflow_server.client().get_run(info["run_id"])
    assert run.info.status == "FINISHED" and run.info.end_time  # training and its test done: the run ended
    experiment = mlflow_server.get("experiments/get", experiment_id=run.info.experiment_id)["experiment"]
    assert experiment["name"] == f"[model]{model}"  # GitLab's model experiment (create_model_service.rb)
    assert run.info.run_name == f"{model} 1.0.4242"
    assert run.data.params == {"C": "10.0", "max_iter": "300",
                               "estimator": "PolynomialFeatures+StandardScaler+LogisticRegression",
                               "library": f"scikit-learn {__import__('sklearn').__version__}"}  # fmt: skip
    assert set(run.data.metrics) == {"train_accuracy", "accuracy", "precision", "recall", "f1", "test_rows"}
    assert run.data.metrics["accuracy"] >= 0.95 and run.data.metrics["test_rows"] == 500
    tags = run.data.tags
    assert {k: tags.get(k) for k in ("gitlab.CI_JOB_ID", "hybridhub.model", "hybridhub.version", "hybridhub.commit",
                                     "hybridhub.pipeline_id", "hybridhub.project", "hybridhub.registry_version",
                                     "hybridhub.gate", "hybridhub.gate_reasons", "hybridhub.test_job_id")} == {
        "gitlab.CI_JOB_ID": "101", "hybridhub.model": model, "hybridhub.version": "1.0.4242",
        "hybridhub.commit": "0123456789abcdef0123456789abcdef01234567", "hybridhub.pipeline_id": "4242",
        "hybridhub.project": "ml-team/sensors", "hybridhub.registry_version": "1", "hybridhub.gate": "passed",
        "hybridhub.gate_reasons": "", "hybridhub.test_job_id": "102"}  # fmt: skip
    assert "hybridhub.reproduces" not in tags
    # a run on "latest" of a versioned bucket records the version it actually read: the second write
    train_data = json.loads(tags["hybridhub.data.train"])
    assert train_data["requested_version"] == "" and train_data["version_id"] == versions[1]
    assert train_data["versioned"] is True and train_data["size"] == len(sensor_csv(2000, seed=1))
    assert json.loads(tags["hybridhub.data.test"])["versioned"] is True
    # a local run builds no image: the context's digest, and never an image digest
    assert tags["hybridhub.image_context_digest"].startswith("sha256:") and "hybridhub.image_digest" not in tags

    lineage = json.loads((work / "lineage.json").read_text())
    assert set(lineage) == LINEAGE_KEYS
    assert lineage["model"] == {"name": model, "version": "1.0.4242", "registry_version": "1", "run_id": info["run_id"]}
    assert lineage["jobs"] == {"train": "101", "test": "102", "build": "103"}
    assert lineage["data"]["train"] == train_data and lineage["metrics"]["accuracy"] == run.data.metrics["accuracy"]
    assert lineage["gate"] == {"passed": True, "reasons": []} and lineage["reproduces"] is None
    assert lineage["image"] == {"context_digest": tags["hybridhub.image_context_digest"], "built": False}
    assert (lineage["commit"], lineage["project"], lineage["pipeline_id"]) == (
        "0123456789abcdef0123456789abcdef01234567", "ml-team/sensors", "4242")

    # the model files and lineage.json come back from the registry's artifact store
    client = mlflow_server.client()
    downloaded = Path(client.download_artifacts(info["run_id"], "model", str(tmp_path / "down")))
    estimator = joblib.load(downloaded / "model.joblib")
    assert list(estimator.predict([[48.0, 4.1, 12.0], [40.0, 1.8, 12.0]])) == [1, 0]
    assert json.loads((downloaded / "model-settings.json").read_text())["parameters"]["version"] == "1.0.4242"
    logged = Path(client.download_artifacts(info["run_id"], "lineage.json", str(tmp_path / "down2")))
    assert json.loads(logged.read_text()) == lineage

    # no secret anywhere: job output, tags, lineage, registry.json
    outputs = "".join(r.stdout + r.stderr for r in (train, test, build))
    for text in (outputs, json.dumps(tags), json.dumps(lineage), json.dumps(info)):
        assert secret not in text and s3["AWS_ACCESS_KEY_ID"] not in text

    # the next pipeline is the next version of the same registered model
    again = run_pipeline(tmp_path / "second", s3, bucket, model, mlflow_server.url, CI_PIPELINE_ID="4243")[0]
    assert json.loads((again / "model" / "registry.json").read_text())["registry_version"] == "2"


def test_an_unversioned_bucket_records_etag_and_size(tmp_path, store, mlflow_server):  # noqa: F811
    admin, s3, _ = store
    bucket, _ = bucket_with_data(admin, versioned=False)
    model = f"sensor-failure-{uuid.uuid4().hex[:8]}"
    work, train, test, _ = run_pipeline(tmp_path, s3, bucket, model, mlflow_server.url)
    assert "the store keeps no versions" in train.stdout
    stat = admin.stat_object(bucket, "sensors/train.csv")
    recorded = json.loads((work / "lineage.json").read_text())["data"]["train"]
    assert recorded == {"uri": f"s3://{bucket}/sensors/train.csv", "requested_version": "", "version_id": None,
                        "etag": stat.etag.strip('"'), "size": stat.size, "versioned": False,
                        "sha256": recorded["sha256"]}  # fmt: skip
    assert len(recorded["sha256"]) == 64
    run = mlflow_server.client().get_run(json.loads((work / "model" / "registry.json").read_text())["run_id"])
    assert json.loads(run.data.tags["hybridhub.data.train"]) == recorded


def test_a_failed_gate_is_tagged_failed_with_its_reasons(tmp_path, store, mlflow_server):  # noqa: F811
    admin, s3, _ = store
    bucket, _ = bucket_with_data(admin, versioned=True)
    model = f"sensor-failure-{uuid.uuid4().hex[:8]}"
    work, _, test, _ = run_pipeline(tmp_path, s3, bucket, model, mlflow_server.url, min_accuracy="0.9999")
    assert test.returncode == 1 and "GATE FAILED" in test.stdout
    run = mlflow_server.client().get_run(json.loads((work / "model" / "registry.json").read_text())["run_id"])
    assert run.data.tags["hybridhub.gate"] == "failed" and run.info.status == "FAILED"
    assert "below the threshold 0.9999" in run.data.tags["hybridhub.gate_reasons"]
    gate = json.loads((work / "lineage.json").read_text())["gate"]
    assert gate["passed"] is False and "below the threshold 0.9999" in gate["reasons"][0]
    assert run.data.metrics["accuracy"] < 0.9999  # the numbers are logged even when the gate fails


def test_reproduces_version_tags_the_run(tmp_path, store, mlflow_server):  # noqa: F811
    admin, s3, _ = store
    bucket, versions = bucket_with_data(admin, versioned=True)
    model = f"sensor-failure-{uuid.uuid4().hex[:8]}"
    work = tmp_path / "project"
    work.mkdir()
    env = job_env(tmp_path, s3, model, "201", MLFLOW_TRACKING_URI=mlflow_server.url, REPRODUCES_VERSION="1.0.7")
    pinned = job("train.py", "--data", f"s3://{bucket}/sensors/train.csv", "--version", versions[0], "--out", "model",
                 cwd=work, env=env)  # fmt: skip
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    run = mlflow_server.client().get_run(json.loads((work / "model" / "registry.json").read_text())["run_id"])
    assert run.data.tags["hybridhub.reproduces"] == "1.0.7"
    data = json.loads(run.data.tags["hybridhub.data.train"])
    assert data["requested_version"] == versions[0] and data["version_id"] == versions[0]
    lineage = json.loads((work / "lineage.json").read_text())
    assert lineage["reproduces"] == "1.0.7" and lineage["data"]["train"] == data


def test_without_a_registry_the_jobs_say_so_and_still_write_lineage(tmp_path, sample_data):  # noqa: F811
    work = tmp_path / "project"
    work.mkdir()
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "HYBRIDHUB_PIPELINE_ID": "3"}
    # a local run: the CI file's GitLab URI is in the job's environment but is never used
    gitlab_uri = "https://gitlab.example.com/api/v4/projects/7/ml/mlflow"
    local = {**base, "HYBRIDHUB_LOCAL_RUN": "true", "MLFLOW_TRACKING_URI": gitlab_uri,
             "CI_PROJECT_PATH": "local/alice", "HYBRIDHUB_PROJECT": "sensors"}  # fmt: skip
    train = job("train.py", "--data", str(sample_data["train"]), "--out", "model", cwd=work, env=local)
    assert train.returncode == 0, train.stderr
    lines = [line for line in train.stdout.splitlines() if "model registry" in line]
    assert lines == ["no model registry configured: this local run was given no MLflow tracking server "
                     "(HYBRIDHUB_MLFLOW_TRACKING_URI); the version is not registered, lineage.json is still written"]
    assert "gitlab.example.com" not in train.stdout + train.stderr and not (work / "model" / "registry.json").exists()
    test = job("evaluate.py", "--data", str(sample_data["test"]), cwd=work, env=local)
    assert test.returncode == 0, test.stdout + test.stderr
    lineage = json.loads((work / "lineage.json").read_text())
    assert lineage["model"]["run_id"] is None and lineage["model"]["version"] == "1.0.3"
    assert lineage["project"] == "sensors"  # the local backend's name, not gitlab-ci-local's guess from the remote
    assert lineage["gate"]["passed"] is True and lineage["data"]["test"]["size"] == sample_data["test"].stat().st_size
    # GitLab CI without the masked token: skipped with the reason, not a 401 at the end of training
    ci = {**base, "GITLAB_CI": "true", "MLFLOW_TRACKING_URI": gitlab_uri}
    again = job("train.py", "--data", str(sample_data["train"]), "--out", "model2", cwd=work, env=ci)
    assert again.returncode == 0 and "no model registry configured: MLFLOW_TRACKING_TOKEN is not set" in again.stdout
    # the on-prem deploy's first step on a runner without MLflow (PIPELINE.md: needed only with a registry)
    absent = tmp_path / "runner-without-mlflow" / "mlflow"
    absent.mkdir(parents=True)
    (absent / "__init__.py").write_text("raise ImportError('No module named mlflow')\n")
    (work / "image.json").write_text(json.dumps({"ref": "registry.example/ml/model@sha256:" + "a" * 64,
                                                 "digest": "sha256:" + "a" * 64}))  # fmt: skip
    deploy = job("registry.py", "build", "--image-json", "image.json", cwd=work,
                 env={**base, "GITLAB_CI": "true", "PYTHONPATH": str(absent.parent)})  # fmt: skip
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "nothing to add to the registry" in deploy.stdout and "Traceback" not in deploy.stderr
    assert json.loads((work / "lineage.json").read_text())["image"]["digest"] == "sha256:" + "a" * 64


def test_a_registry_that_is_down_fails_the_train_job_in_one_line(tmp_path, sample_data):  # noqa: F811
    (port,) = free_ports(1)  # nothing listens there
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"}
    started = time.monotonic()
    train = job("train.py", "--data", str(sample_data["train"]), "--out", "model", cwd=tmp_path, env=env)
    assert train.returncode == 1 and time.monotonic() - started < 60
    assert "Traceback" not in train.stderr
    assert train.stderr.strip().startswith(f"model registry at http://127.0.0.1:{port}:"), train.stderr



@pytest.mark.gitlab
def test_the_jobs_register_in_gitlabs_registry(registry, tmp_path, sample_data):  # noqa: F811
    """The same jobs against the GitLab stand-in's MLflow API (tests/gitlab_standin/mlflow*.py, each
    behaviour from gitlabhq's lib/api/ml/mlflow/*.rb): in GitLab CI with the masked token, nothing
    they call is refused, the version is GitLab's semantic version, the deploy job records the image."""
    job_id = str(train_job(registry))
    work = tmp_path / "project"
    work.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITLAB_CI": "true", "CI_JOB_ID": job_id,
           "CI_PIPELINE_ID": "77", "CI_PROJECT_PATH": "ml-team/sensors", "MLFLOW_TRACKING_URI": registry.uri,
           "MLFLOW_TRACKING_TOKEN": registry.tokens["dev"], "MAX_ITER": "300"}  # fmt: skip
    for script, *args in (("train.py", "--data", str(sample_data["train"]), "--out", "model"),
                          ("evaluate.py", "--data", str(sample_data["test"]))):  # fmt: skip
        result = job(script, *args, cwd=work, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert registry.tokens["dev"] not in result.stdout + result.stderr
    digest = "sha256:" + "5e" * 32  # what ci/build.sh writes from kaniko's --digest-file
    (work / "image.json").write_text(json.dumps({"ref": "registry.example/ml/model:abc", "digest": digest, "job_id": job_id}))
    deployed = job("registry.py", "build", "--image-json", "image.json", cwd=work, env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert registry.state.refused == []
    info = json.loads((work / "model" / "registry.json").read_text())
    client = registry.client()
    # model_versions.rb: get takes the semantic version; the run is the version's run
    version = client.get_model_version("sensor-failure", "1.0.77")
    assert version.run_id == info["run_id"] and version.version == info["registry_version"]
    run = client.get_run(info["run_id"])
    assert run.data.tags["gitlab.CI_JOB_ID"] == job_id and run.data.tags["hybridhub.gate"] == "passed"
    assert run.info.status == "FINISHED"  # runs/update (lib/api/ml/mlflow/runs.rb); tags still taken after it
    assert (run.data.tags["hybridhub.image"], run.data.tags["hybridhub.image_digest"]) == ("registry.example/ml/model:abc", digest)
    assert json.loads((work / "lineage.json").read_text())["image"] == {"ref": "registry.example/ml/model:abc", "digest": digest}


def test_a_presigned_link_is_read_but_its_signature_never_kept(tmp_path, store, mlflow_server):  # noqa: F811
    """DATA_URI may be a presigned link (the storage panel copies one): its query is a credential."""
    admin, s3, _ = store
    bucket, versions = bucket_with_data(admin, versioned=True)
    link = admin.presigned_get_object(bucket, "sensors/train.csv")
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["X-Amz-Signature"][0]
    model = f"sensor-failure-{uuid.uuid4().hex[:8]}"
    work = tmp_path / "project"
    work.mkdir()
    env = job_env(tmp_path, {}, model, "301", MLFLOW_TRACKING_URI=mlflow_server.url)  # no S3 keys: the link is enough
    train = job("train.py", "--data", link, "--out", "model", cwd=work, env=env)
    assert train.returncode == 0, train.stdout + train.stderr
    lineage = json.loads((work / "lineage.json").read_text())
    assert lineage["data"]["train"]["uri"] == f"{s3['S3_ENDPOINT']}/{bucket}/sensors/train.csv"
    assert lineage["data"]["train"]["version_id"] == versions[1]  # the store still says what it served
    run = mlflow_server.client().get_run(json.loads((work / "model" / "registry.json").read_text())["run_id"])
    kept = [train.stdout, train.stderr, json.dumps(lineage), json.dumps(run.data.tags),
            (work / "model" / "training.json").read_text()]  # fmt: skip
    assert not [text for text in kept if signature in text or "X-Amz-Credential" in text]
    expired = job("train.py", "--data", link.replace(signature, "0" * len(signature)), "--out", "m2", cwd=work, env=env)
    assert expired.returncode != 0 and "HTTP 403" in expired.stderr and signature not in expired.stderr
