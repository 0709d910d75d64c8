"""A monitor job's retrain request, acted on by the local backend (issue 20, the local path).

The template's ml/retrain.py (ml/retrain_local.py), in a local run, decides as it does against
GitLab and, on "start", leaves ``retrain-request.json`` among the monitor job's artifacts. GitLab's
job would have called the pipelines API itself; locally the backend does it when the pipeline's
``monitor`` job succeeded: the training pipeline on the default branch with the newest data, through
the same ``create`` as the Run button (so the Pipelines panel lists it), and the alert record
``<store>/alerts/<model>.json`` learns its id (``retrain_pipeline_id``) or that it was refused.
"""

from __future__ import annotations

import json
import logging

from .. import workspace
from .errors import PipelineError
from .local_store import now_iso

log = logging.getLogger(__name__)
JOB, REQUEST = "monitor", "retrain-request.json"


def read_request(backend, record: dict) -> dict | None:
    """The request of this run's successful monitor job, or None."""
    jobs = [j for j in record["jobs"] if j["name"] == JOB and not j["retried"]]
    if not jobs or jobs[-1]["status"] != "success":
        return None
    path = backend.store.run_dir(record["id"]) / "src" / ".gitlab-ci-local" / "artifacts" / JOB / REQUEST
    try:
        request = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(request, dict) or not isinstance(request.get("id"), str) or not request.get("model"):
        return None
    return request


def variables(request: dict) -> list[dict]:
    """What ml/retrain.py gives GitLab's pipeline (MONITOR=false: it trains whatever the form said)."""
    values = {"DATA_VERSION": "", "TEST_DATA_VERSION": "", "RETRAIN_FOR": str(request.get("version") or ""),
              "MONITOR": "false"}  # fmt: skip
    return [{"key": k, "value": v} for k, v in values.items()]


async def follow(backend, record: dict) -> dict | None:
    """Create the requested retrain (once per request: its id is the run's request_id); never raises."""
    try:
        request = read_request(backend, record)
        if request is None:
            return None
        ref = (await backend.refs(record["project"]))["default"] or record["ref"]
        try:
            created = await backend.create(record["project"], ref, variables(request), f"retrain-{request['id']}")
        except PipelineError as exc:
            log.warning("local pipeline %s: the requested retrain was refused (%s)", record["id"], exc.reason)
            _note(backend, request, decision="refused", reason=exc.reason, refused_at=now_iso())
            return None
        _note(backend, request, retrain_pipeline_id=created["id"])
        return created
    except Exception as exc:  # noqa: BLE001 - the monitor pipeline's own result stands
        log.warning("local pipeline %s: its retrain request was not handled (%s)", record["id"], type(exc).__name__)
        return None


def _note(backend, request: dict, **changes) -> None:
    """Write the outcome into the alert record's entry of this request."""
    model = str(request["model"])
    if "/" in model or "\\" in model or model.startswith("."):
        return
    parts = backend.store._parts("alerts", f"{model}.json")
    try:
        data = json.loads(workspace.read_bytes(backend.store.root, parts, error=PipelineError))
    except (OSError, ValueError, PipelineError):
        return
    for entry in data.get("alerts") or []:
        if isinstance(entry, dict) and entry.get("request_id") == request["id"]:
            entry.update(changes)
    workspace.write_bytes(backend.store.root, parts, json.dumps(data, indent=1).encode("utf-8"), overwrite=True,
                          prefix=".alert-", suffix=".json", error=PipelineError)  # fmt: skip
