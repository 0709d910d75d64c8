"""The example project really trains (scikit-learn) on the demo's sample data: the gate passes,
fails with a raised threshold, and the data is read from the real S3 server at a pinned version."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import joblib
import pytest
import sklearn
from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig
from sklearn.dummy import DummyClassifier

from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

pytestmark = pytest.mark.pipelines


def run(script: str, *args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TEMPLATE_DIR / "ml" / script), *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def test_trains_and_passes_then_fails_with_a_raised_threshold(tmp_path, sample_data):
    trained = run("train.py", "--data", str(sample_data["train"]), "--out", "model", cwd=tmp_path,
                  env={**os.environ, "HYBRIDHUB_PIPELINE_ID": "7"})
    assert trained.returncode == 0, trained.stderr
    training = json.loads((tmp_path / "model/training.json").read_text())
    assert training["rows"] == 2000 and training["library"] == f"scikit-learn {sklearn.__version__}"
    # the folder MLServer serves: its settings name the model, its semantic version and the runtime
    # in the folder (the sklearn runtime + the request log: tests/models/test_prediction_log.py)
    settings = json.loads((tmp_path / "model/model-settings.json").read_text())
    assert settings["implementation"] == "serving_runtime.PredictionLoggingModel" and settings["parameters"]["version"] == "1.0.7"
    assert (tmp_path / "model/serving_runtime.py").is_file()
    estimator = joblib.load(tmp_path / "model/model.joblib")
    assert list(estimator.predict([[48.0, 4.1, 12.0], [40.0, 1.8, 12.0]])) == [1, 0]  # hot and shaking fails
    passed = run("evaluate.py", "--data", str(sample_data["test"]), "--min-accuracy", "0.95", cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["gate"]["passed"] is True and 0.95 <= metrics["metrics"]["accuracy"] <= 1.0
    assert metrics["model"] == {"name": "sensor-failure", "version": "1.0.7"} and metrics["training"]["rows"] == 2000
    report = (tmp_path / "metrics.txt").read_text().splitlines()
    assert f"accuracy {metrics['metrics']['accuracy']}" in report  # GitLab metrics report: "name value"
    failed = run("evaluate.py", "--data", str(sample_data["test"]), "--min-accuracy", "0.999", cwd=tmp_path)
    assert failed.returncode == 1 and "below the threshold" in failed.stdout
    assert json.loads((tmp_path / "metrics.json").read_text())["gate"]["passed"] is False


def test_an_untrained_model_fails_the_default_gate(tmp_path, sample_data):
    """The gate measures something: a model that always says 'fails' is refused."""
    (tmp_path / "model").mkdir()
    always_fails = DummyClassifier(strategy="constant", constant=1).fit([[0.0, 0.0, 0.0]] * 2, [0, 1])
    joblib.dump(always_fails, tmp_path / "model/model.joblib")
    result = run("evaluate.py", "--data", str(sample_data["test"]), cwd=tmp_path)
    assert result.returncode == 1 and json.loads((tmp_path / "metrics.json").read_text())["metrics"]["accuracy"] < 0.1


def test_reads_the_pinned_version_from_s3(tmp_path, object_store):
    creds = object_store.credentials
    admin = Minio(object_store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key, secure=False)
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    admin.make_bucket(bucket)
    admin.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    first, second = sensor_csv(300, seed=7), sensor_csv(400, seed=8)  # each with both classes
    v1 = admin.put_object(bucket, "sensors/train.csv", io.BytesIO(first), len(first)).version_id
    admin.put_object(bucket, "sensors/train.csv", io.BytesIO(second), len(second))
    env = {"PATH": "/usr/bin:/bin", "S3_ENDPOINT": object_store.endpoint, "AWS_ACCESS_KEY_ID": creds.admin_access_key,
           "AWS_SECRET_ACCESS_KEY": creds.admin_secret_key}  # fmt: skip
    uri = f"s3://{bucket}/sensors/train.csv"
    pinned = run("train.py", "--data", uri, "--version", v1, cwd=tmp_path, env=env)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert json.loads((tmp_path / "model/training.json").read_text())["rows"] == 300
    latest = run("train.py", "--data", uri, cwd=tmp_path, env=env)
    assert latest.returncode == 0 and json.loads((tmp_path / "model/training.json").read_text())["rows"] == 400
    wrong = run("train.py", "--data", uri, cwd=tmp_path, env={**env, "AWS_SECRET_ACCESS_KEY": "not-the-key"})
    assert wrong.returncode != 0 and "HTTP 403" in wrong.stderr
    for result in (pinned, latest, wrong):
        assert creds.admin_secret_key not in result.stdout + result.stderr
