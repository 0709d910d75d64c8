"""The alert and retrain decision of a local run (HYBRIDHUB_LOCAL_RUN=true): no GitLab issue, a file.

The same decisions as the GitLab path of ml/retrain.py, in the same order (``retrain_running``,
``cooldown``, ``budget_over`` / ``budget_unknown``), recorded in the local backend's store, next to
its ``environments/``: ``<pipelines>/alerts/<model>.json`` = ``{"model", "alerts": [entry, …]}``,
newest last, one entry per alert: ``{at, version, alerts, reports, decision: "started" | "skipped" |
"off", reason, text, retrain_pipeline_id, started_at, started_at_epoch, monitor_pipeline_id}``.

A "started" decision writes ``retrain-request.json`` (the monitor job's artifact); when the job
succeeded, the local backend (pipelines/local_retrain.py) creates the training pipeline from it and
writes its id into the entry (``retrain_pipeline_id``), or ``decision: "refused"`` when it could not.
Whether the last retrain still runs is that pipeline's record: ``<pipelines>/<id>/pipeline.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path

REQUEST = "retrain-request.json"
FINISHED = {"success", "failed", "canceled", "skipped"}
KEEP = 100  # entries kept per model


def pipelines_dir(env: dict) -> Path | None:
    """The local backend's store, as ml/monitor_source.py finds it."""
    folder = env.get("HYBRIDHUB_PIPELINES_DIR") or (
        str(Path(env["HYBRIDHUB_SERVING_DIR"]).parent) if env.get("HYBRIDHUB_SERVING_DIR") else "")
    return Path(folder) if folder else None


def record_path(folder: Path, model: str) -> Path:
    if not model or "/" in model or "\\" in model or model.startswith("."):
        raise ValueError(f"not a model name: {model!r}")
    return folder / "alerts" / f"{model}.json"


def load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"alerts": []}
    return data if isinstance(data, dict) and isinstance(data.get("alerts"), list) else {"alerts": []}


def save(path: Path, data: dict) -> None:
    """Whole and atomic: a reader (the panel, the backend) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data["alerts"] = data["alerts"][-KEEP:]
    fd, tmp = tempfile.mkstemp(prefix=".alert-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def last_started(data: dict) -> dict | None:
    started = [e for e in data["alerts"] if isinstance(e, dict) and e.get("decision") == "started"]
    return started[-1] if started else None


def pipeline_status(folder: Path, pipeline_id) -> str | None:
    """The local record's status of a pipeline; None when it is gone (pruned: finished long ago)."""
    try:
        return json.loads((folder / str(int(pipeline_id)) / "pipeline.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, TypeError):
        return None


def decide(folder: Path, env: dict, report: dict, now: float, retrain, request_dir: Path) -> tuple[str, int]:
    """Record the alert and decide; ``retrain`` is ml/retrain.py (its texts, budget check and clock format)."""
    lang = env.get("MONITOR_LANG", "en")
    path = record_path(folder, str(report.get("model") or ""))
    data = load(path)
    data["model"] = report.get("model")
    entry = {"at": retrain.iso(now), "version": report.get("version"), "alerts": report.get("alerts") or [],
             "reports": retrain.report_uris(report, env.get("PREDICTION_LOG_URI", "")),
             "monitor_pipeline_id": env.get("HYBRIDHUB_PIPELINE_ID", ""), "decision": "skipped", "reason": ""}  # fmt: skip
    text = _decide(folder, env, report, now, retrain, entry, data, lang, request_dir)
    entry["text"] = text
    data["alerts"].append(entry)
    save(path, data)
    return text, 0


def _decide(folder, env, report, now, retrain, entry, data, lang, request_dir) -> str:
    if env.get("RETRAIN_ON_ALERT", "false").lower() != "true":
        entry.update(decision="off", reason="retrain_off")
        return retrain.say("retrain_off", lang)
    last = last_started(data)
    if last:
        running = last.get("retrain_pipeline_id")
        state = pipeline_status(folder, running) if running else "pending"  # requested, not yet created
        if state and state not in FINISHED:
            entry["reason"] = "retrain_running"
            return retrain.say("retrain_running", lang, pipeline_id=running or "?", status=state)
    hours = float(env.get("RETRAIN_COOLDOWN_HOURS") or 24)
    if last and last.get("started_at_epoch") is not None and now - float(last["started_at_epoch"]) < hours * 3600:
        entry["reason"] = "cooldown"
        ago, until = (now - float(last["started_at_epoch"])) / 3600, retrain.iso(float(last["started_at_epoch"]) + hours * 3600)
        return retrain.say("cooldown", lang, hours_ago=f"{ago:.1f}", hours=f"{hours:g}", until=until)
    level, values = retrain.budget(env)
    if level in ("over", "unknown"):
        entry["reason"] = f"budget_{level}"
        return retrain.say(entry["reason"], lang, **values)
    checked = retrain.say("no_budget_check", lang) if level == "unchecked" else retrain.say("budget_ok", lang, **values)
    request = {"schema": "hybridhub.retrain-request/1", "id": uuid.uuid4().hex, "model": report.get("model"),
               "version": str(report.get("version", "")), "requested_at": retrain.iso(now)}  # fmt: skip
    (request_dir / REQUEST).write_text(json.dumps(request, indent=1), encoding="utf-8")
    entry.update(decision="started", request_id=request["id"], started_at=retrain.iso(now), started_at_epoch=now,
                 retrain_pipeline_id=None)  # fmt: skip
    return retrain.say("requested", lang, version=request["version"]) + " " + checked
