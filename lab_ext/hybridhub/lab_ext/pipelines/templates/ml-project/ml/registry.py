"""The model registry through the MLflow client: GitLab's registry, or any MLflow tracking server.

Only calls GitLab's MLflow API implements (lib/api/ml/mlflow/*.rb in gitlabhq; the table of
doc/user/project/ml/experiment_tracking/mlflow_client.md): experiments get-by-name/create, runs
create/log-batch/set-tag, artifacts, registered-models create, model-versions create. No aliases,
stages, search of model versions or MLflow 3's logged models (mlflow.sklearn.log_model).

The train job registers the version (``register``); the test job adds its metrics and the gate
(``log_test``); the build job adds the image (``python ml/registry.py build …``). Every
``hybridhub.*`` tag is on the version's RUN; ``model/registry.json`` tells later jobs which run.

Where the registry is: ``MLFLOW_TRACKING_URI`` (+ ``MLFLOW_TRACKING_TOKEN``, read by the MLflow
client itself). A local run (HYBRIDHUB_LOCAL_RUN=true) uses only the URI hybridhub's local backend
passes (``HYBRIDHUB_MLFLOW_TRACKING_URI``), never the GitLab URI of the CI file. Nothing set: the
jobs say so in one line and go on (lineage.json is still written).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lineage  # noqa: E402

REGISTRY_FILE = "registry.json"
# GitLab gives every registered model an experiment named "[model]<name>" and accepts a run as a
# model version only from that experiment (app/services/ml/create_model_service.rb and
# create_model_version_service.rb: "Run's experiment does not belong to this model").
EXPERIMENT_PREFIX = "[model]"


def experiment_name(model: str) -> str:
    return f"{EXPERIMENT_PREFIX}{model}"


def tracking_uri() -> tuple[str, str]:
    """(the registry's URI or "", why there is none)."""
    if os.environ.get("HYBRIDHUB_LOCAL_RUN", "false") == "true":
        uri = os.environ.get("HYBRIDHUB_MLFLOW_TRACKING_URI", "").strip()
        return uri, "" if uri else "this local run was given no MLflow tracking server (HYBRIDHUB_MLFLOW_TRACKING_URI)"
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if not uri:
        return "", "MLFLOW_TRACKING_URI is not set"
    if os.environ.get("GITLAB_CI") == "true" and "/ml/mlflow" in uri and not os.environ.get("MLFLOW_TRACKING_TOKEN"):
        return "", "MLFLOW_TRACKING_TOKEN is not set (a masked CI/CD variable: an access token with the api scope)"
    return uri, ""


def shown(uri: str) -> str:
    """The URI without user:password, for logs."""
    parts = urllib.parse.urlsplit(uri)
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl() if parts.hostname else uri


def client():
    """An MlflowClient on the registry, or None (after one printed line) when none is configured."""
    uri, why = tracking_uri()
    if not uri:
        print(f"no model registry configured: {why}; the version is not registered, lineage.json is still written",
              flush=True)  # fmt: skip
        return None
    os.environ["MLFLOW_TRACKING_URI"] = uri  # for the client's artifact repository too
    # a registry that is down fails the job in seconds, not after MLflow's default 7 retries (minutes)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # CI jobs do not report usage to mlflow.org
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def failing_clearly(function):
    """The registry's refusals and outages end the job with one line, not a traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if not tracking_uri()[0]:  # no registry: nothing of MLflow runs, a runner without it is fine
            return function(*args, **kwargs)
        from mlflow.exceptions import MlflowException
        from requests.exceptions import RequestException  # the artifact uploads' errors

        try:
            return function(*args, **kwargs)
        except MlflowException as exc:
            message = str(exc.message).split(" failed with exception ", 1)[-1][:400]
            raise SystemExit(f"model registry at {shown(tracking_uri()[0])}: {exc.error_code}: {message}") from None
        except RequestException as exc:
            raise SystemExit(f"model registry at {shown(tracking_uri()[0])}: {type(exc).__name__}: {str(exc)[:400]}") from None

    return wrapper


def _text(values: dict) -> dict[str, str]:
    """Tag values as MLflow stores them: text, JSON for objects; unset (None) ones left out."""
    return {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in values.items() if v is not None}


def _tags(values: dict) -> list:
    from mlflow.entities import RunTag

    return [RunTag(k, v) for k, v in _text(values).items()]


def _metrics(values: dict) -> list:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in values.items()]


@failing_clearly
def register(folder: Path, name: str, version: str, params: dict, metrics: dict, tags: dict) -> dict | None:
    """The convention's steps (design §1), the registered model first: GitLab makes the model's
    experiment with it. Then the run with its tags, params and metrics, the model files, the
    version, registry.json. Returns registry.json's content, or None without a registry."""
    mlflow = client()
    if mlflow is None:
        return None
    from mlflow.entities import Param
    from mlflow.exceptions import MlflowException

    uri = tracking_uri()[0]
    print(f"registering {name} {version} in the model registry at {shown(uri)}", flush=True)
    try:
        mlflow.create_registered_model(name, description=f"{name}: trained by the hybridhub ML pipeline")
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    experiment = mlflow.get_experiment_by_name(experiment_name(name))
    experiment_id = experiment.experiment_id if experiment else mlflow.create_experiment(experiment_name(name))
    run = mlflow.create_run(experiment_id, run_name=f"{name} {version}", tags=_text(tags))
    run_id = run.info.run_id
    mlflow.log_batch(run_id, metrics=_metrics(metrics), params=[Param(k, str(v)) for k, v in params.items()])
    mlflow.log_artifacts(run_id, str(folder), artifact_path="model")
    created = mlflow.create_model_version(
        name, source=run.info.artifact_uri.rstrip("/") + "/model", run_id=run_id, tags={"gitlab.version": version},
        description=f"{name} {version}, pipeline {tags.get('hybridhub.pipeline_id') or '-'}, commit {tags.get('hybridhub.commit') or '-'}",
    )  # fmt: skip
    registry_version = str(created.version)
    mlflow.set_tag(run_id, "hybridhub.registry_version", registry_version)
    info = {"run_id": run_id, "experiment_id": str(experiment_id), "model": name, "version": version,
            "registry_version": registry_version}  # fmt: skip
    (folder / REGISTRY_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"registered {name} {version} (registry version {registry_version}, run {run_id})", flush=True)
    return info


def registered(folder: Path) -> dict:
    """model/registry.json, or {} when the train job registered nothing."""
    path = folder / REGISTRY_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _run_client(folder: Path):
    info = registered(folder)
    if not info:
        print(f"the model was not registered ({folder / REGISTRY_FILE} is missing): nothing to add to the registry",
              flush=True)  # fmt: skip
        return None, info
    return client(), info


@failing_clearly
def log_test(folder: Path, metrics: dict, tags: dict) -> None:
    """The test job's metrics and gate tags on the version's run."""
    mlflow, info = _run_client(folder)
    if mlflow is None:
        return
    mlflow.log_batch(info["run_id"], metrics=_metrics(metrics), tags=_tags(tags))
    # training and its test are the run: it ends here, FAILED when the gate refused the model (the
    # build and deploy jobs only add tags, which a finished run still takes; GitLab: runs/update)
    status = "FINISHED" if tags.get("hybridhub.gate") == "passed" else "FAILED"
    mlflow.set_terminated(info["run_id"], status=status)
    print(f"test metrics and gate logged to run {info['run_id']} ({status})", flush=True)


@failing_clearly
def record_build(folder: Path, image: dict, job_id: str, lineage_path: Path) -> dict:
    """The build's part: lineage.json's image and build job, the run's image tags, lineage.json
    logged to the run. ``image`` is {"ref", "digest"} (kaniko) or {"context_digest", "built": False}."""
    document = lineage.update({"image": image, "jobs": {"build": job_id or None}}, lineage_path)
    mlflow, info = _run_client(folder)
    if mlflow is None:
        return document
    if image.get("built") is False:
        tags = {"hybridhub.image_context_digest": image["context_digest"]}  # no image: no image digest
    else:
        tags = {"hybridhub.image": image["ref"], "hybridhub.image_digest": image["digest"]}
    mlflow.log_batch(info["run_id"], tags=_tags(tags))
    mlflow.log_artifact(info["run_id"], str(lineage_path))
    print(f"image and lineage.json logged to run {info['run_id']}", flush=True)
    return document


def main(argv: list[str] | None = None) -> int:
    """python ml/registry.py build (--image-json image.json | --context Dockerfile model)"""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--model", default="model")
    parser.add_argument("--lineage", default=lineage.LINEAGE_FILE)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image-json", help="what the kaniko build wrote: {ref, digest, job_id}")
    source.add_argument("--context", nargs="+", help="the image context of a local run (no image is built)")
    args = parser.parse_args(argv)
    if args.image_json:
        built = json.loads(Path(args.image_json).read_text(encoding="utf-8"))
        if not str(built.get("digest", "")).startswith("sha256:"):
            raise SystemExit(f"{args.image_json} has no sha256 digest: the image build did not finish")
        image, job_id = {"ref": built["ref"], "digest": built["digest"]}, str(built.get("job_id", ""))
    else:
        image, job_id = {"context_digest": lineage.context_digest(args.context), "built": False}, os.environ.get("CI_JOB_ID", "")
    document = record_build(Path(args.model), image, job_id, Path(args.lineage))
    print(f"lineage: image {json.dumps(document['image'], sort_keys=True)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
