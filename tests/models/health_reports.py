"""Monitoring reports in the shape of the monitoring contract (/tmp/briefs/monitoring-design.md §1–§2,
schema ``hybridhub.monitoring/1``), written where the job writes them, for the panel's tests.

The job itself (the template's ml/monitor.py) is another helper's, written at the same time: these
reports follow the contract's text, not that code."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace

SCHEMA = "hybridhub.monitoring/1"


def day(date: str, requests: int = 100, drift_share: float | None = 0.1, accuracy: float | None = None,
        features: dict | None = None) -> dict:  # fmt: skip
    return {"date": date, "requests": requests, "drift_share": drift_share,
            "features": features if features is not None else {"temp": 0.03, "vibration": 0.05},
            "accuracy": accuracy, "labelled": 0 if accuracy is None else 12}  # fmt: skip


def report(name: str, version: str, to: str, daily: list[dict], status: str = "ok", alerts: list | None = None,
           drift_share: float = 0.5) -> dict:  # fmt: skip
    """One run's report for the window ending ``to`` (§2)."""
    first = daily[0]["date"] if daily else to
    return {
        "schema": SCHEMA, "model": name, "version": version, "generated_at": f"{to}T10:00:00Z",
        "window": {"days": len(daily) or 7, "from": first, "to": to, "read": [d["date"] for d in daily], "missing": []},
        "reference": {"uri": "s3://datasets/train.csv", "version_id": "v1", "rows": 2000},
        "daily": daily,
        "drift": {"drift_share": daily[-1]["drift_share"] if daily else None, "features": {}},
        "accuracy": None,
        "estimate": {"prediction_shift": 0.01, "drift": False},
        "thresholds": {"drift_share": drift_share, "min_accuracy": None},
        "alerts": alerts or [],
        "status": status,
        "problems": [],
    }  # fmt: skip


def dates(last: str, n: int) -> list[str]:
    end = datetime.date.fromisoformat(last)
    return [(end - datetime.timedelta(days=n - 1 - i)).isoformat() for i in range(n)]


def put(client, bucket: str, key: str, data: bytes | dict | str, content_type: str = "application/json") -> None:
    if isinstance(data, dict):
        data = json.dumps(data).encode()
    elif isinstance(data, str):
        data = data.encode()
    client.put_object(bucket, key, io.BytesIO(data), len(data), content_type=content_type)


HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Monitoring {date}</title>
<style>body{{font-family:sans-serif}}</style></head><body><h1>Drift report {date}</h1>
<p id="status">status: {status}</p></body></html>"""


@contextlib.contextmanager
def health_lab(base: Path, tracking_uri: str, object_store, models: dict[str, int]):
    """A real JupyterLab over the local backend for the health routes: a workspace with the
    template, ``models`` (name -> pipeline id) registered in the MLflow server, the first one in
    production (the local backend's record of its pipeline's deploy job, local_store.py), the
    user's storage keys and a request log bucket of its own (``served.bucket``, ``predictions/``)."""
    from hybridhub.lab_ext.pipelines.local_store import EnvironmentStore, PipelineStore
    from hybridhub.lab_ext.pipelines.template import add_template
    from tests.harness.lab import running_lab
    from tests.models.registry_writer import register
    from tests.pipelines.conftest import commit_all, git
    from tests.storage.conftest import minio_for, new_bucket

    root = base / "userhome"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    add_template(root, "")
    sha = commit_all(root, "template")
    for name, pipeline_id in models.items():
        register(tracking_uri, name, pipeline_id, project="userhome")
    first = next(iter(models.values()))
    EnvironmentStore(PipelineStore(root)).follow("production", {"id": first, "project": ".", "sha": sha, "ref": "main"},
                                                 {"id": 3, "name": "deploy", "status": "success"})  # fmt: skip
    creds = object_store.credentials
    admin = minio_for(object_store, creds.admin_access_key, creds.admin_secret_key)
    bucket = new_bucket(admin)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDHUB_", "JUPYTERHUB_", "MLFLOW_"))}
    env.update(HYBRIDHUB_MLFLOW_TRACKING_URI=tracking_uri, HYBRIDHUB_PIPELINES_BACKEND="local",
               HYBRIDHUB_S3_ENDPOINT=object_store.endpoint, HYBRIDHUB_S3_ACCESS_KEY=creds.user_access_key,
               HYBRIDHUB_S3_SECRET_KEY=creds.user_secret_key, HYBRIDHUB_PREDICTION_LOG_URI=f"s3://{bucket}/predictions")  # fmt: skip
    with running_lab(root, base / "home", env, timeout=90, log=base / "server.log") as (url, token):
        yield SimpleNamespace(url=url, token=token, root=root, admin=admin, bucket=bucket, log=base / "server.log",
                              secret=creds.user_secret_key)  # fmt: skip
