"""The local path of alert -> retrain (issue 20): a monitor pipeline run by the local backend's real
gitlab-ci-local against a real SeaweedFS store decides in ml/retrain.py (ml/retrain_local.py), the
backend (pipelines/local_retrain.py) starts the training pipeline from the job's retrain request,
and the alert record in the backend's store (``alerts/<model>.json``) is the state: a second alert
inside the cool-down starts none; a retrain still running (its local record) blocks the next."""

from __future__ import annotations

import contextlib
import datetime
import io
import importlib.util
import json
import time
from types import SimpleNamespace

import pytest

from hybridhub.lab_ext.pipelines.local_backend import LocalBackend
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

from ..pipelines.conftest import finished, jobs_of, tools_present, wait_for, workspace  # noqa: F401 (fixtures)
from .conftest import bucket, s3_env, store  # noqa: F401 (fixtures)
from .test_monitor_job import MODEL, Project, day_log

pytestmark = pytest.mark.monitoring

MONITOR = [{"key": "MONITOR", "value": "true"}, {"key": "RETRAIN_ON_ALERT", "value": "true"}]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"template_ml_{name}", TEMPLATE_DIR / "ml" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def settled(backend, pipeline_id: int) -> dict:
    """The run finished and its supervisor done (the retrain request is handled after the record says success)."""
    view = await wait_for(backend, ".", pipeline_id, finished, timeout=180)
    task = backend.tasks.get(pipeline_id)
    if task is not None:
        await task
    return view


def alert_record(backend) -> dict:
    return json.loads((backend.store.base / "alerts" / f"{MODEL}.json").read_text())


async def test_an_alert_of_a_local_monitor_run_starts_one_retrain_then_the_cool_down_holds(store, bucket, workspace,
                                                                                        tools_present):  # noqa: F811
    backend = LocalBackend(workspace, timeout=180, env=s3_env(store))
    try:
        project = Project(store, bucket, workspace, pipelines=backend.store.base)
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        project.log(today, day_log(today, seed=22, shift=(6.0, 1.5, 2.0))[0])
        variables = MONITOR + [{"key": "PREDICTION_LOG_URI", "value": f"s3://{bucket}/logs"},
                               {"key": "MONITOR_DAYS", "value": "1"}]  # fmt: skip

        first = await backend.create(".", "main", variables, None)
        assert jobs_of(first) == {"monitor": "created"}
        view = await settled(backend, first["id"])
        log = (backend.store.run_dir(first["id"]) / "logs" / "1.log").read_text()
        assert view["status"] == "success", log
        assert "Retraining requested" in log and "No budget check" in log
        retrains = [p for p in await backend.pipelines(".") if p["id"] != first["id"]]
        assert len(retrains) == 1, retrains  # created by the backend when the monitor job ended
        retrain = retrains[0]
        assert {v["key"]: v["value"] for v in retrain["variables"]} == {
            "DATA_VERSION": "", "TEST_DATA_VERSION": "", "RETRAIN_FOR": "1.0.7", "MONITOR": "false"}
        assert retrain["ref"] == "main" and set(jobs_of(await backend.pipeline(".", retrain["id"]))) == {"train", "test", "build", "deploy"}
        entry = alert_record(backend)["alerts"][-1]
        assert entry["decision"] == "started" and entry["retrain_pipeline_id"] == retrain["id"]
        assert entry["monitor_pipeline_id"] == str(first["id"]) and entry["alerts"][0]["kind"] == "data_drift"
        await wait_for(backend, ".", retrain["id"], finished, timeout=180)  # (it fails: no training data here)

        second = await backend.create(".", "main", variables, None)
        view = await settled(backend, second["id"])
        assert view["status"] == "success"
        assert len(await backend.pipelines(".")) == 3  # no second retrain
        entry = alert_record(backend)["alerts"][-1]
        assert entry["decision"] == "skipped" and entry["reason"] == "cooldown"
        assert not (backend.store.run_dir(second["id"]) / "src" / ".gitlab-ci-local" / "artifacts" / "monitor" /
                    "retrain-request.json").exists()  # fmt: skip
    finally:
        await backend.close()


def test_a_retrain_still_running_blocks_the_next_and_retrain_off_only_records(tmp_path):
    """The decisions of ml/retrain_local.py on the backend's records (no clock: ``now`` passed in)."""
    retrain, local = _module("retrain"), _module("retrain_local")
    helpers = SimpleNamespace(say=retrain.say, iso=retrain.iso, report_uris=retrain.report_uris, budget=retrain.budget)
    pipelines = tmp_path / "pipelines"
    (pipelines / "12").mkdir(parents=True)
    (pipelines / "12" / "pipeline.json").write_text(json.dumps({"id": 12, "status": "running"}))
    report = {"model": MODEL, "version": "1.0.7", "status": "alert", "alerts": [{"kind": "data_drift"}],
              "window": {"to": "2026-12-06"}}  # fmt: skip
    env = {"RETRAIN_ON_ALERT": "true", "RETRAIN_COOLDOWN_HOURS": "0"}
    path = local.record_path(pipelines, MODEL)
    local.save(path, {"model": MODEL, "alerts": [{"decision": "started", "retrain_pipeline_id": 12,
                                                  "started_at_epoch": time.time() - 7200}]})  # fmt: skip
    text, code = local.decide(pipelines, env, report, time.time(), helpers, tmp_path)
    assert code == 0 and "retrain_running" in text and "#12" in text and not (tmp_path / local.REQUEST).exists()
    (pipelines / "12" / "pipeline.json").write_text(json.dumps({"id": 12, "status": "failed"}))
    text, _ = local.decide(pipelines, {**env, "MONITOR_LANG": "ja"}, report, time.time(), helpers, tmp_path)
    assert "再学習を依頼しました" in text and json.loads((tmp_path / local.REQUEST).read_text())["version"] == "1.0.7"
    (tmp_path / local.REQUEST).unlink()
    text, _ = local.decide(pipelines, {}, report, time.time(), helpers, tmp_path)
    assert "RETRAIN_ON_ALERT" in text and not (tmp_path / local.REQUEST).exists()
    decisions = [(e["decision"], e.get("reason")) for e in json.loads(path.read_text())["alerts"]]
    assert decisions == [("started", None), ("skipped", "retrain_running"), ("started", ""), ("off", "retrain_off")]
    with pytest.raises(ValueError):
        local.record_path(pipelines, "../x")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**report, "model": "../x"}))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = retrain.main(["--report", str(bad)], env={**env, "HYBRIDHUB_LOCAL_RUN": "true",
                                                          "HYBRIDHUB_PIPELINES_DIR": str(pipelines)}, now=time.time())
    assert code == 1 and err.getvalue().count("\n") == 1 and "not a model name" in err.getvalue()
