"""The example project really trains on the demo's sample data: the gate passes, fails with a
raised threshold, and the data is read from the real S3 server at a pinned version."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

pytestmark = pytest.mark.pipelines


def run(script: str, *args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TEMPLATE_DIR / "ml" / script), *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def test_trains_and_passes_then_fails_with_a_raised_threshold(tmp_path, sample_data):
    trained = run("train.py", "--data", str(sample_data["train"]), "--out", "model/model.json", "--epochs", "150", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    model = json.loads((tmp_path / "model/model.json").read_text())
    assert model["training"]["rows"] == 2000 and len(model["weights"]) == 6
    passed = run("evaluate.py", "--data", str(sample_data["test"]), "--min-accuracy", "0.95", cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["gate"]["passed"] is True and 0.95 <= metrics["metrics"]["accuracy"] <= 1.0
    report = (tmp_path / "metrics.txt").read_text().splitlines()
    assert f"accuracy {metrics['metrics']['accuracy']}" in report  # GitLab metrics report: "name value"
    failed = run("evaluate.py", "--data", str(sample_data["test"]), "--min-accuracy", "0.999", cwd=tmp_path)
    assert failed.returncode == 1 and "below the threshold" in failed.stdout
    assert json.loads((tmp_path / "metrics.json").read_text())["gate"]["passed"] is False


def test_an_untrained_model_fails_the_default_gate(tmp_path, sample_data):
    """The gate measures something: a model that always says 'fails' is refused."""
    (tmp_path / "model").mkdir()
    model = {"scaler": {"mean": [0.0] * 6, "std": [1.0] * 6}, "weights": [0.0] * 6, "bias": 5.0}
    (tmp_path / "model/model.json").write_text(json.dumps(model))
    result = run("evaluate.py", "--data", str(sample_data["test"]), cwd=tmp_path)
    assert result.returncode == 1 and json.loads((tmp_path / "metrics.json").read_text())["metrics"]["accuracy"] < 0.1


def test_reads_the_pinned_version_from_s3(tmp_path, object_store):
    creds = object_store.credentials
    admin = Minio(object_store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key, secure=False)
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    admin.make_bucket(bucket)
    admin.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    first, second = sensor_csv(300, seed=7), sensor_csv(120, seed=8)
    v1 = admin.put_object(bucket, "sensors/train.csv", io.BytesIO(first), len(first)).version_id
    admin.put_object(bucket, "sensors/train.csv", io.BytesIO(second), len(second))
    env = {"PATH": "/usr/bin:/bin", "S3_ENDPOINT": object_store.endpoint, "AWS_ACCESS_KEY_ID": creds.admin_access_key,
           "AWS_SECRET_ACCESS_KEY": creds.admin_secret_key}  # fmt: skip
    uri = f"s3://{bucket}/sensors/train.csv"
    pinned = run("train.py", "--data", uri, "--version", v1, "--epochs", "5", cwd=tmp_path, env=env)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert json.loads((tmp_path / "model/model.json").read_text())["training"]["rows"] == 300
    latest = run("train.py", "--data", uri, "--epochs", "5", cwd=tmp_path, env=env)
    assert latest.returncode == 0 and json.loads((tmp_path / "model/model.json").read_text())["training"]["rows"] == 120
    wrong = run("train.py", "--data", uri, cwd=tmp_path, env={**env, "AWS_SECRET_ACCESS_KEY": "not-the-key"})
    assert wrong.returncode != 0 and "HTTP 403" in wrong.stderr
    for result in (pinned, latest, wrong):
        assert creds.admin_secret_key not in result.stdout + result.stderr
