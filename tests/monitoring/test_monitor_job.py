"""The monitoring job (ml/monitor.py, design §2/§3/§5 of issue 20) against a real SeaweedFS store and a
real MLflow tracking server: logs of several days in the model server's line format, the reference
at the object version lineage.json recorded, the production version from the local backend's
environments/production.json. Bad input: malformed lines, a deleted reference version, a schema
change, the store going down mid-job."""

from __future__ import annotations

import datetime
import importlib
import io
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

from ..models.mlflow_server import mlflow_server  # noqa: F401 (fixture)
from ..pipelines.conftest import tools_present, workspace  # noqa: F401 (fixtures)
from ..harness.wait import wait_until
from .conftest import admin, s3_env

pytestmark = pytest.mark.monitoring

ML = TEMPLATE_DIR / "ml"
MODEL, VERSION = "sensor-failure", "1.0.7"
END = datetime.date(2026, 12, 6)
DAYS = [(END - datetime.timedelta(days=n)).isoformat() for n in (2, 1, 0)]


def rows_of(csv_bytes: bytes) -> tuple[list[list[float]], list[int]]:
    lines = csv_bytes.decode().strip().splitlines()[1:]
    rows = [[float(v) for v in line.split(",")[1:4]] for line in lines]
    return rows, [int(line.split(",")[4]) for line in lines]


def log_line(rows, predict, request_id: str, day: str) -> bytes:
    """A line exactly as ml/prediction_log.py (_line) writes it: id, ts, model, version, request_id, inputs, outputs."""
    return json.dumps({"id": uuid.uuid4().hex, "ts": f"{day}T10:00:00.000Z", "model": MODEL, "version": VERSION,
                       "request_id": request_id, "inputs": rows, "outputs": {"predict": predict}}).encode()  # fmt: skip


def day_log(day: str, seed: int, shift=(0.0, 0.0, 0.0), predict=None) -> tuple[bytes, list[str]]:
    rows, labels = rows_of(sensor_csv(2000, seed=seed))
    lines, ids = [], []
    for i, (row, label) in enumerate(zip(rows, labels)):
        request_id = f"{day}-{i}"
        moved = [round(v + s, 3) for v, s in zip(row, shift)]
        lines.append(log_line([moved], [label if predict is None else predict(i, label)], request_id, day))
        ids.append(request_id)
    return b"\n".join(lines) + b"\n", ids


class Project:
    """The store's data and logs, the local backend's production.json and the deploy job's lineage.json."""

    def __init__(self, store, bucket: str, tmp: Path, run_id: str = "", pipelines: Path | None = None):
        self.store, self.bucket, self.tmp = store, bucket, tmp
        self.client = admin(store)
        self.train = sensor_csv(2000, seed=1)
        first = self.put("sensors/train.csv", self.train)
        self.put("sensors/train.csv", sensor_csv(2000, seed=99).replace(b"\n4", b"\n9"))  # a newer version: not the reference
        self.version_id = first
        self.pipelines = pipelines or tmp / "pipelines"  # the local backend's store (local_store.STORE_DIR)
        environments = self.pipelines / "environments"
        environments.mkdir(parents=True)
        (environments / "production.json").write_text(json.dumps({"deployments": [
            {"id": 1, "status": "success", "pipeline_id": 7, "job": "deploy", "finished_at": "2026-12-01T10:00:00Z"},
            {"id": 2, "status": "failed", "pipeline_id": 8, "job": "deploy", "finished_at": "2026-12-02T10:00:00Z"}]}))
        self.lineage(run_id)

    def lineage(self, run_id: str, version_id: str | None = None) -> None:
        folder = self.pipelines / "7" / "src" / ".gitlab-ci-local" / "artifacts" / "deploy"
        folder.mkdir(parents=True, exist_ok=True)
        document = {"model": {"name": MODEL, "version": VERSION, "run_id": run_id},
                    "data": {"train": {"uri": f"s3://{self.bucket}/sensors/train.csv",
                                       "version_id": self.version_id if version_id is None else version_id}}}  # fmt: skip
        (folder / "lineage.json").write_text(json.dumps(document))

    def put(self, key: str, data: bytes) -> str:
        return self.client.put_object(self.bucket, key, io.BytesIO(data), len(data)).version_id

    def log(self, day: str, data: bytes) -> None:
        self.put(f"logs/{MODEL}/{VERSION}/{day}.jsonl", data)

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HYBRIDHUB_", "AWS_", "S3_"))}
        return {**env, **s3_env(self.store), "HYBRIDHUB_LOCAL_RUN": "true", "HYBRIDHUB_PIPELINES_DIR": str(self.pipelines),
                "PREDICTION_LOG_URI": f"s3://{self.bucket}/logs", "MONITOR_DAYS": "3", **extra}  # fmt: skip

    def run(self, **extra) -> tuple[subprocess.CompletedProcess, dict | None]:
        out = self.tmp / "monitoring-report.json"
        out.unlink(missing_ok=True)
        done = subprocess.run([sys.executable, str(ML / "monitor.py"), "--end", END.isoformat(), "--out", str(out)],
                              env=self.env(**extra), cwd=self.tmp, capture_output=True, text=True, timeout=180)  # fmt: skip
        return done, json.loads(out.read_text()) if out.is_file() else None

    def stored(self, suffix: str) -> bytes | None:
        key = f"logs/{MODEL}/{VERSION}/monitoring/{END.isoformat()}.{suffix}"
        try:
            response = self.client.get_object(self.bucket, key)
        except Exception:  # noqa: BLE001 - minio's S3Error NoSuchKey: there is no report
            return None
        try:
            return response.read()
        finally:
            response.close()


def template_module(name: str):
    sys.path.insert(0, str(ML))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ML))


def test_unshifted_logs_are_ok_and_the_figures_go_to_the_registry(store, bucket, tmp_path, mlflow_server):  # noqa: F811
    client = mlflow_server.client()
    experiment = client.create_experiment(f"[model]{MODEL}-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment).info.run_id
    project = Project(store, bucket, tmp_path, run_id)
    for n, day in enumerate(DAYS):
        if day != DAYS[1]:  # the middle day has no log: missing
            project.log(day, day_log(day, seed=10 + n)[0])
    done, report = project.run(HYBRIDHUB_MLFLOW_TRACKING_URI=mlflow_server.url)
    assert done.returncode == 0, done.stderr
    assert report["schema"] == "hybridhub.monitoring/1" and report["status"] == "ok" and report["alerts"] == []
    assert report["window"] == {"days": 3, "from": DAYS[0], "to": DAYS[2], "read": [DAYS[0], DAYS[2]], "missing": [DAYS[1]]}
    assert report["reference"] == {"uri": f"s3://{bucket}/sensors/train.csv", "version_id": project.version_id, "rows": 2000}
    assert [d["date"] for d in report["daily"]] == [DAYS[0], DAYS[2]]
    assert [d["requests"] for d in report["daily"]] == [2000, 2000]
    assert report["drift"]["drift_share"] < 0.5 and report["estimate"]["drift"] is False
    assert json.loads(project.stored("json")) == report  # the store's report is the artifact's
    assert b"<!DOCTYPE html>" in project.stored("html")
    run = client.get_run(run_id)
    assert run.data.metrics["monitor_requests"] == 4000
    assert run.data.metrics["monitor_drift_share"] == report["drift"]["drift_share"]
    assert run.data.tags["hybridhub.monitoring.reports"] == f"s3://{bucket}/logs/{MODEL}/{VERSION}/monitoring/"
    assert run.data.tags["hybridhub.monitoring.last_status"] == "ok"
    [point] = client.get_metric_history(run_id, "monitor_requests")
    assert datetime.datetime.fromtimestamp(point.timestamp / 1000, datetime.timezone.utc).date() == END  # the window's end
    assert "monitor_accuracy" not in run.data.metrics  # no labels: no accuracy


def test_a_shift_alerts_with_the_right_per_day_figures(store, bucket, tmp_path):
    drift = template_module("drift")
    project = Project(store, bucket, tmp_path, run_id="0" * 32)
    logs = {DAYS[0]: day_log(DAYS[0], seed=20)[0], DAYS[1]: day_log(DAYS[1], seed=21, shift=(6.0, 1.5, 2.0))[0],
            DAYS[2]: day_log(DAYS[2], seed=22, shift=(6.0, 1.5, 2.0))[0]}  # fmt: skip
    for day, data in logs.items():
        project.log(day, data)
    done, report = project.run(MONITOR_LANG="ja")
    assert done.returncode == 0, done.stderr
    assert report["status"] == "alert"
    assert report["alerts"] == [{"kind": "data_drift", "value": report["drift"]["drift_share"], "threshold": 0.5}]
    assert report["drift"]["drift_share"] >= 0.5 and "no model registry configured" in done.stdout  # said in the log
    reference = drift.Reference.from_csv(project.train, features=["temperature_c", "vibration_mm_s", "current_a"], target="failure")
    for entry in report["daily"]:  # each day's figures are drift() of that day alone
        alone = drift.drift(reference, logs[entry["date"]].splitlines())
        assert entry["drift_share"] == alone["drift_share"]
        assert entry["features"] == {name: f["statistic"] for name, f in alone["features"].items()}
    assert report["daily"][0]["drift_share"] < 0.5 <= report["daily"][1]["drift_share"]
    window = drift.drift(reference, b"".join(logs.values()).splitlines())
    for name, figures in window["features"].items():  # the window: the fold of every day's lines (chunked by day:
        assert report["drift"]["features"][name]["statistic"] == pytest.approx(figures["statistic"], rel=1e-9)  # sums' order)
    assert "データドリフト" in project.stored("html").decode()


def test_labels_give_accuracy_per_day_and_for_the_window(store, bucket, tmp_path):
    project = Project(store, bucket, tmp_path)
    wrong = set(range(0, 300, 3))  # 100 of the first 300 requests of the last day are answered wrong
    data, ids = day_log(DAYS[2], seed=30, predict=lambda i, label: 1 - label if i in wrong else label)
    project.log(DAYS[2], data)
    _, labels = rows_of(sensor_csv(2000, seed=30))
    csv = "request_id,label\n" + "".join(f"{ids[i]},{labels[i]}\n" for i in range(300)) + "broken-line-without-label,\n"
    project.put("labels/verdicts.csv", csv.encode())
    done, report = project.run(LABELS_URI=f"s3://{bucket}/labels/verdicts.csv", MONITOR_MIN_ACCURACY="0.9")
    assert done.returncode == 0, done.stderr
    assert report["accuracy"]["labelled"] == 300 and report["accuracy"]["matched"] == 200
    assert report["accuracy"]["accuracy"] == pytest.approx(2 / 3)
    assert report["daily"][0]["labelled"] == 300 and report["daily"][0]["accuracy"] == pytest.approx(2 / 3)
    assert {"kind": "accuracy", "value": pytest.approx(2 / 3), "threshold": 0.9} in report["alerts"]
    assert {"code": "malformed_labels", "count": 1} in report["problems"]


def test_malformed_lines_are_counted_and_log_values_escaped_in_the_html(store, bucket, tmp_path):
    project = Project(store, bucket, tmp_path)
    data, _ = day_log(DAYS[2], seed=40)
    evil = log_line([[40.0, 2.0, 12.0]], ["<script>alert(1)</script>"], "evil", DAYS[2])
    project.log(DAYS[2], data + b"\n" + b"not json at all\n" + b'{"inputs": 3}\n' + evil + b"\n")
    done, report = project.run()
    assert done.returncode == 0, done.stderr
    assert {"code": "malformed_lines", "count": 3} in report["problems"]
    assert report["daily"][0]["requests"] == 2001  # 2000 + the evil one; the malformed lines are not requests
    page = project.stored("html").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_a_feature_name_with_markup_is_escaped():
    monitor_report = template_module("monitor_report")
    report = {"model": "m<b>", "version": "1", "generated_at": "x", "status": "ok", "alerts": [], "daily": [],
              "reference": {"uri": "s3://b/k", "version_id": "", "rows": 1}, "problems": [], "accuracy": None,
              "window": {"days": 1, "from": "d", "to": "d", "read": [], "missing": []}, "estimate": {},
              "drift": {"features": {"<script>x</script>": {"method": "ks", "statistic": 0.1, "drift": True}}}}  # fmt: skip
    page = monitor_report.render(report, "en")
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page and "m&lt;b&gt;" in page


def test_a_deleted_reference_version_fails_the_job_naming_it(store, bucket, tmp_path):
    project = Project(store, bucket, tmp_path)
    project.log(DAYS[2], day_log(DAYS[2], seed=50)[0])
    project.client.remove_object(bucket, "sensors/train.csv", version_id=project.version_id)
    done, report = project.run()
    assert done.returncode == 1 and report is None
    [line] = done.stderr.strip().splitlines()
    assert f"s3://{bucket}/sensors/train.csv version {project.version_id}" in line and "is gone" in line
    assert project.stored("json") is None


def test_a_schema_change_is_an_alert_not_a_crash(store, bucket, tmp_path):
    project = Project(store, bucket, tmp_path)
    lines = [log_line([[40.0 + i % 7, 2.0]], [0], f"r{i}", DAYS[2]) for i in range(50)]  # two features, not three
    project.log(DAYS[2], b"\n".join(lines) + b"\n")
    done, report = project.run()
    assert done.returncode == 0, done.stderr
    assert report["status"] == "alert" and report["alerts"][0]["kind"] == "schema_changed"
    assert report["drift"]["drift_kind"] == "schema_changed"
    assert {"code": "wrong_width_rows", "count": 50} in report["problems"]


def readable(project, day: str) -> bool:
    """Whether the store serves the day's log object (read whole, through the admin client)."""
    try:
        response = project.client.get_object(project.bucket, f"logs/{MODEL}/{VERSION}/{day}.jsonl")
    except Exception:  # noqa: BLE001 - minio's S3Error or a connection error while the store starts
        return False
    try:
        return bool(response.read())
    finally:
        response.close()
        response.release_conn()


def test_the_store_going_down_mid_job_fails_cleanly_and_the_next_run_catches_up(store, bucket, tmp_path, monkeypatch, capsys):
    project = Project(store, bucket, tmp_path)
    for n, day in enumerate(DAYS):
        project.log(day, day_log(day, seed=60 + n)[0])
    for key, value in project.env().items():
        monkeypatch.setenv(key, value)
    monitor, s3io = template_module("monitor"), template_module("s3io")
    real_open = s3io.open_object

    def read_then_stop(uri: str, version: str = ""):
        stream = real_open(uri, version)
        if uri.endswith(f"/{DAYS[0]}.jsonl"):  # the first day read: the store goes down before the next
            with stream:
                data = stream.read()
            store.stop()
            return io.BytesIO(data)
        return stream

    monkeypatch.setattr(s3io, "open_object", read_then_stop)
    out = tmp_path / "monitoring-report.json"
    try:
        assert monitor.main(["--end", END.isoformat(), "--out", str(out)]) == 1
    finally:
        store.start()
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("monitoring failed: the object store failed") and f"{DAYS[1]}.jsonl" in line
    assert not out.exists() and project.stored("json") is None and project.stored("html") is None
    monkeypatch.setattr(s3io, "open_object", real_open)
    # the store back: its S3 gateway answers before its volumes are loaded again, so the next run
    # (a day later in production) starts once the logs can be read
    wait_until(lambda: readable(project, DAYS[-1]), timeout=60, what="the restarted store serves the logs")
    assert monitor.main(["--end", END.isoformat(), "--out", str(out)]) == 0  # the next run: the whole window
    report = json.loads(out.read_text())
    assert report["window"]["read"] == DAYS and json.loads(project.stored("json")) == report


def test_random_order_of_days_does_not_matter_for_the_window():
    """The window's figures are a fold: reading the days in another order gives the same statistics."""
    drift = template_module("drift")
    reference = drift.Reference.from_csv(sensor_csv(2000, seed=1), features=["temperature_c", "vibration_mm_s", "current_a"],
                                         target="failure")  # fmt: skip
    logs = [(day, day_log(day, seed=70 + n)[0].splitlines()) for n, day in enumerate(DAYS)]
    forward, _ = drift.drift_by_day(reference, logs)
    shuffled = logs[:]
    random.Random(1).shuffle(shuffled)
    backward, per_day = drift.drift_by_day(reference, shuffled)
    for name, figures in forward["features"].items():
        assert backward["features"][name]["statistic"] == pytest.approx(figures["statistic"], rel=1e-9)
    assert sorted(per_day) == DAYS


async def test_a_local_monitoring_pipeline_reports_on_the_local_production_version(store, bucket, workspace, tools_present):  # noqa: F811
    """The local backend's gitlab-ci-local runs the `monitor` job of the template (MONITOR=true): it finds
    production in the backend's environments/production.json (through HYBRIDHUB_SERVING_DIR) and the
    deploy job's lineage.json, and writes today's report to the store and its artifact."""
    from hybridhub.lab_ext.pipelines.local_backend import LocalBackend

    from ..pipelines.conftest import finished, jobs_of, wait_for

    project = Project(store, bucket, workspace, pipelines=workspace / ".hybridhub" / "pipelines")
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    project.log(today, day_log(today, seed=80)[0])
    backend = LocalBackend(workspace, timeout=120, env=s3_env(store))
    try:
        variables = [{"key": "MONITOR", "value": "true"}, {"key": "PREDICTION_LOG_URI", "value": f"s3://{bucket}/logs"}]
        created = await backend.create(".", "main", variables, None)
        view = await wait_for(backend, ".", created["id"], finished, timeout=120)
    finally:
        await backend.close()
    src = backend.store.run_dir(created["id"]) / "src" / ".gitlab-ci-local"
    assert jobs_of(view) == {"monitor": "success"}, (src / "output" / "monitor.log").read_text()[-2000:]
    artifact = json.loads((src / "artifacts" / "monitor" / "monitoring-report.json").read_text())
    assert artifact["status"] == "ok" and artifact["window"]["to"] == today and artifact["window"]["read"] == [today]
    stored = project.client.get_object(bucket, f"logs/{MODEL}/{VERSION}/monitoring/{today}.json")
    try:
        assert json.loads(stored.read()) == artifact
    finally:
        stored.close()


def test_memory_stays_flat_in_the_number_of_days(monkeypatch):
    """Peak traced memory of the window's fold over 2 and over 8 days of 20,000 lines each: one day's
    object at a time (plus the accumulators), so 4x the days is not 4x the memory."""
    import tracemalloc

    monitor, drift, s3io = template_module("monitor"), template_module("drift"), template_module("s3io")
    reference = drift.Reference.from_csv(sensor_csv(2000, seed=1), features=["temperature_c", "vibration_mm_s", "current_a"],
                                         target="failure")  # fmt: skip
    day = b"\n".join(log_line([[40.0 + i % 13, 2.0 + i % 7 / 10, 12.0]], [0], f"r{i}", "2026-12-01") for i in range(20_000))
    monkeypatch.setattr(s3io, "open_object", lambda uri, version="": io.BytesIO(bytes(day)))  # a fresh copy per day

    def peak(days: int) -> int:
        tracemalloc.start()
        try:
            names = [f"2026-11-{n + 1:02d}" for n in range(days)]
            result, per_day = drift.drift_by_day(reference, monitor.stream_days("s3://b/p", names, None, [], []))
            assert result["rows"]["read"] == 20_000 * days and len(per_day) == days
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    two, eight = peak(2), peak(8)
    assert eight < 1.3 * two, (two, eight)


def test_nothing_in_production_is_one_line_and_exit_1(store, bucket, tmp_path):
    project = Project(store, bucket, tmp_path)
    (project.pipelines / "environments" / "production.json").write_text(json.dumps({"deployments": [
        {"id": 1, "status": "failed", "pipeline_id": 7, "job": "deploy", "finished_at": "2026-12-01T10:00:00Z"}]}))
    done, report = project.run(MONITOR_DAYS="x")
    assert done.returncode == 1 and report is None
    assert done.stderr.strip().splitlines() == [f"monitoring failed: nothing was deployed to production yet "
                                                f"({project.pipelines / 'environments' / 'production.json'})"]  # fmt: skip
