"""Write model versions into a real MLflow server exactly the way design §1 says the pipeline's
train, test and build jobs do (the MLflow client's calls that GitLab implements, in that order), so
that the Models service can be tested without running a whole pipeline each time.

Source of the convention: /tmp/briefs/models-design.md §1–§3 (mirrored in the template's
ml/registry.py, helper A's).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def data_record(uri: str, version_id: str | None, etag: str = "etag-1", size: int = 100) -> dict:
    """One input object as design §2 records it."""
    return {"uri": uri, "requested_version": "", "version_id": version_id, "etag": etag, "size": size,
            "versioned": version_id is not None}  # fmt: skip


def register(tracking_uri: str, name: str, pipeline_id: int, *, commit: str = "a" * 40, project: str = "demo",
             gate: bool = True, accuracy: float = 0.97, train: dict | None = None, test: dict | None = None,
             reproduces: str | None = None, job_id: int = 1) -> dict:  # fmt: skip
    """Train + test + build of one pipeline: returns ``{"version", "run_id", "registry_version"}``."""
    client = MlflowClient(tracking_uri)
    version = f"1.0.{pipeline_id}"
    experiment_name = f"[model]{name}"  # GitLab's experiment of a registered model (the template's ml/registry.py)
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    train = train or data_record("s3://datasets/train.csv", "v-train-1")
    test = test or data_record("s3://datasets/test.csv", "v-test-1")
    tags = {"gitlab.CI_JOB_ID": str(job_id), "hybridhub.model": name, "hybridhub.version": version,
            "hybridhub.commit": commit, "hybridhub.pipeline_id": str(pipeline_id), "hybridhub.project": project,
            "hybridhub.data.train": json.dumps(train)}  # fmt: skip
    if reproduces:
        tags["hybridhub.reproduces"] = reproduces
    run = client.create_run(experiment_id, run_name=f"{name} {version}", tags=tags)
    run_id = run.info.run_id
    client.log_batch(run_id, metrics=[Metric("train_accuracy", 0.99, 0, 0)],
                     params=[Param("C", "10.0"), Param("max_iter", "1000")])  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "model-settings.json").write_text(json.dumps({"name": name, "parameters": {"version": version}}))
        client.log_artifacts(run_id, folder, artifact_path="model")
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    registered = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run_id,
                                             tags={"gitlab.version": version}, description=f"pipeline {pipeline_id}")  # fmt: skip
    client.set_tag(run_id, "hybridhub.registry_version", str(registered.version))
    # test job
    client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in
                                      {"accuracy": accuracy, "precision": 0.9, "recall": 0.8, "f1": 0.85,
                                       "test_rows": 40}.items()])  # fmt: skip
    client.set_tag(run_id, "hybridhub.gate", "passed" if gate else "failed")
    client.set_tag(run_id, "hybridhub.gate_reasons", "" if gate else f"accuracy {accuracy} < 0.95")
    client.set_tag(run_id, "hybridhub.test_job_id", str(job_id + 1))
    client.set_tag(run_id, "hybridhub.data.test", json.dumps(test))
    # build job (a local run: no image digest, never pretended)
    client.set_tag(run_id, "hybridhub.image_context_digest", "sha256:" + "c" * 64)
    lineage = {"model": {"name": name, "version": version, "registry_version": str(registered.version), "run_id": run_id},
               "commit": commit, "project": project, "pipeline_id": pipeline_id,
               "jobs": {"train": job_id, "test": job_id + 1, "build": job_id + 2}, "data": {"train": train, "test": test},
               "metrics": {"accuracy": accuracy}, "gate": {"passed": gate, "reasons": [] if gate else ["low accuracy"]},
               "image": {"context_digest": "sha256:" + "c" * 64, "built": False}, "reproduces": reproduces}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "lineage.json").write_text(json.dumps(lineage))
        client.log_artifact(run_id, str(Path(folder) / "lineage.json"))
    return {"version": version, "run_id": run_id, "registry_version": str(registered.version)}
