"""Which version serves production and what made it; the monitoring figures back on its run.

* GitLab: ``GET /projects/:id/environments?name=production``, then the environment's
  ``last_deployment`` (its last successful one: app/models/environment.rb, ``success.ordered``;
  lib/api/entities/environment.rb) and that deploy job's artifact ``lineage.json``
  (``GET /projects/:id/jobs/:job_id/artifacts/lineage.json``, doc/api/job_artifacts.md). Token:
  ``MONITOR_GITLAB_TOKEN``, else ``MLFLOW_TRACKING_TOKEN`` (the job token cannot read environments).
* A local run (HYBRIDHUB_LOCAL_RUN=true): the local backend's ``environments/production.json`` in
  its pipelines folder (the parent of ``HYBRIDHUB_SERVING_DIR``) and the artifacts gitlab-ci-local
  kept for that pipeline (``<id>/src/.gitlab-ci-local/artifacts/<job>/lineage.json``).
"""

from __future__ import annotations

import datetime
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import registry

TIMEOUT = 30
ENVIRONMENT = "production"
LINEAGE_JOBS = ("deploy", "build", "test", "train")  # the newest lineage.json of the pipeline first


class SourceError(Exception):
    """The production version or its lineage cannot be found: one line, exit 1."""


def production() -> dict:
    """{"model", "version", "run_id", "train": lineage's data.train, "source"}."""
    try:
        if os.environ.get("HYBRIDHUB_LOCAL_RUN", "false") == "true":
            document, source = _local()
        else:
            document, source = _gitlab()
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:  # a record or answer of another shape
        raise SourceError(f"the production deployment's record is not what was expected: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise SourceError(f"the lineage.json of {source} is not an object")
    model = document.get("model") or {}
    if not model.get("name") or not model.get("version"):
        raise SourceError(f"the lineage.json of {source} names no model version")
    train = (document.get("data") or {}).get("train") or {}
    return {"model": model["name"], "version": model["version"], "run_id": model.get("run_id") or "",
            "train": train, "source": source}  # fmt: skip


def _local() -> tuple[dict, str]:
    folder = os.environ.get("HYBRIDHUB_PIPELINES_DIR") or (
        str(Path(os.environ["HYBRIDHUB_SERVING_DIR"]).parent) if os.environ.get("HYBRIDHUB_SERVING_DIR") else "")
    if not folder:
        raise SourceError("this local run was not told where the local pipelines are (HYBRIDHUB_SERVING_DIR)")
    path = Path(folder) / "environments" / f"{ENVIRONMENT}.json"
    try:
        deployments = json.loads(path.read_text(encoding="utf-8")).get("deployments") or []
    except (OSError, ValueError, AttributeError):
        raise SourceError(f"no local deployment to {ENVIRONMENT} ({path} is missing or unreadable)") from None
    done = [d for d in deployments if isinstance(d, dict) and d.get("status") == "success"]
    if not done:
        raise SourceError(f"nothing was deployed to {ENVIRONMENT} yet ({path})")
    last = max(done, key=lambda d: (d.get("finished_at") or "", int(d.get("id") or 0)))
    artifacts = Path(folder) / str(int(last["pipeline_id"])) / "src" / ".gitlab-ci-local" / "artifacts"
    for job in (last.get("job") or "deploy",) + LINEAGE_JOBS:
        candidate = artifacts / job / "lineage.json"
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8")), f"local pipeline {last['pipeline_id']}"
    raise SourceError(f"local pipeline {last['pipeline_id']} kept no lineage.json ({artifacts})")


def _gitlab() -> tuple[dict, str]:
    api, project = os.environ.get("CI_API_V4_URL", ""), os.environ.get("CI_PROJECT_ID", "")
    token = os.environ.get("MONITOR_GITLAB_TOKEN") or os.environ.get("MLFLOW_TRACKING_TOKEN") or ""
    if not api or not project:
        raise SourceError("CI_API_V4_URL / CI_PROJECT_ID are not set: not in a GitLab job")
    if not token:
        raise SourceError("MONITOR_GITLAB_TOKEN (or MLFLOW_TRACKING_TOKEN) is not set: cannot read the environment")
    base = f"{api.rstrip('/')}/projects/{urllib.parse.quote(project, safe='')}"
    found = _get(f"{base}/environments?" + urllib.parse.urlencode({"name": ENVIRONMENT}), token)
    if not found:
        raise SourceError(f"the project has no environment {ENVIRONMENT}: nothing was deployed")
    environment = _get(f"{base}/environments/{int(found[0]['id'])}", token)
    last = environment.get("last_deployment") or {}
    job = (last.get("deployable") or {}).get("id")
    if not job:
        raise SourceError(f"{ENVIRONMENT} has no successful deployment yet")
    return _get(f"{base}/jobs/{int(job)}/artifacts/lineage.json", token), f"GitLab deployment {last.get('id')} (job {job})"


def _get(url: str, token: str):
    request = urllib.request.Request(url, headers={"PRIVATE-TOKEN": token})
    shown = url.split("?", 1)[0]
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SourceError(f"GitLab: GET {shown} failed: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SourceError(f"GitLab: GET {shown} failed: {getattr(exc, 'reason', exc)}") from None


def window_end_ms(day: str) -> int:
    """The window's end: the last millisecond of its last UTC day."""
    start = datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(), datetime.timezone.utc)
    return int((start + datetime.timedelta(days=1)).timestamp() * 1000) - 1


@registry.failing_clearly
def record_on_registry(production: dict, report: dict) -> None:
    """The figures (design §3) on the version's run; without a registry or a run: one line, skipped."""
    if not production["run_id"]:
        print("the production version's lineage names no registry run: figures not recorded in the registry", flush=True)
        return
    mlflow = registry.client()
    if mlflow is None:
        return
    from mlflow.entities import Metric, RunTag

    at = window_end_ms(report["window"]["to"])
    result = report["drift"]
    values = {"monitor_drift_share": result.get("drift_share"), "monitor_drifted_features": result.get("drifted_features"),
              "monitor_requests": sum(d["requests"] for d in report["daily"]),
              "monitor_accuracy": (report["accuracy"] or {}).get("accuracy")}  # fmt: skip
    metrics = [Metric(k, float(v), at, 0) for k, v in values.items() if v is not None]
    tags = [RunTag("hybridhub.monitoring.reports", report["reports"]), RunTag("hybridhub.monitoring.last_status", report["status"])]
    mlflow.log_batch(production["run_id"], metrics=metrics, tags=tags)
    print(f"monitoring figures logged to run {production['run_id']}", flush=True)
