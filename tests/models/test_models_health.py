"""The Models panel's health of a production version (issue 20): the monitoring reports read back
from the real object store (SeaweedFS) in the contract's shape (tests/models/health_reports.py),
merged per day, limited, with store trouble as reason codes (never a 5xx); and "Retrain now"
through the local pipeline backend, with its refusals."""

from __future__ import annotations

import json
import os
import secrets
import socket
import uuid
from types import SimpleNamespace

import pytest
import requests
from mlflow.tracking import MlflowClient

from hybridhub.hub_ext.demo.identities import UserKeys, user_identity
from hybridhub.hub_ext.demo.objectstore import EmbeddedObjectStore, StoreCredentials, StorePorts
from hybridhub.lab_ext.models import health, retrain
from hybridhub.lab_ext.models.errors import ModelsError
from tests.models.conftest import make_service
from tests.models.health_reports import HTML, dates, day, health_lab, put, report
from tests.models.registry_writer import register
from tests.storage.conftest import minio_for, new_bucket, storage_config

pytestmark = [pytest.mark.models, pytest.mark.monitoring]


def reports_of(object_store, **extra) -> health.Reports:
    return health.Reports(storage_config(object_store, **extra))


# ---- the core against the real store -----------------------------------------------------------
def test_days_are_merged_from_the_reports_the_latest_report_winning(object_store):
    admin = minio_for(object_store, object_store.credentials.admin_access_key, object_store.credentials.admin_secret_key)
    bucket = new_bucket(admin)
    prefix = "predictions/m/1.0.3/monitoring/"
    first = dates("2026-12-03", 3)  # 01..03
    put(admin, bucket, f"{prefix}2026-12-03.json", report("m", "1.0.3", "2026-12-03", [day(d, 10) for d in first]))
    # the next run sees 02..05; its figure for 02 and 03 replaces the older report's
    later = [day(d, 20, drift_share=0.7) for d in dates("2026-12-05", 4)]
    alert = [{"kind": "data_drift", "value": 0.7, "threshold": 0.5}]
    put(admin, bucket, f"{prefix}2026-12-05.json", report("m", "1.0.3", "2026-12-05", later, "alert", alert))
    put(admin, bucket, f"{prefix}2026-12-05.html", HTML.format(date="2026-12-05", status="alert"), "text/html")
    put(admin, bucket, f"{prefix}notes.txt", "not a report")  # other objects are ignored
    answer = reports_of(object_store).health(bucket, prefix)
    assert [(d["date"], d["requests"]) for d in answer["days"]] == [
        ("2026-12-01", 10), ("2026-12-02", 20), ("2026-12-03", 20), ("2026-12-04", 20), ("2026-12-05", 20)]
    assert answer["days"][-1]["drift_share"] == 0.7 and answer["days"][-1]["features"] == {"temp": 0.03, "vibration": 0.05}
    latest = answer["latest"]
    assert latest["date"] == "2026-12-05" and latest["status"] == "alert" and latest["has_html"] is True
    assert latest["alerts"] == alert and latest["thresholds"]["drift_share"] == 0.5
    assert latest["json_uri"] == f"s3://{bucket}/{prefix}2026-12-05.json" and latest["generated_at"] == "2026-12-05T10:00:00Z"
    assert answer["problems"] == []


def test_a_rerun_the_same_day_is_read_again_and_bad_reports_are_left_out(object_store):
    admin = minio_for(object_store, object_store.credentials.admin_access_key, object_store.credentials.admin_secret_key)
    bucket = new_bucket(admin)
    prefix = "p/monitoring/"
    put(admin, bucket, f"{prefix}2026-12-01.json", report("m", "1.0.0", "2026-12-01", [day("2026-12-01", 5)]))
    reports = reports_of(object_store)
    assert reports.health(bucket, prefix)["days"][0]["requests"] == 5
    # the job overwrites the day's report: the new ETag is read, not the parsed copy kept
    put(admin, bucket, f"{prefix}2026-12-01.json", report("m", "1.0.0", "2026-12-01", [day("2026-12-01", 9)]))
    put(admin, bucket, f"{prefix}2026-12-02.json", b"{not json")
    put(admin, bucket, f"{prefix}2026-12-03.json", {"schema": "other/2", "daily": []})
    broken = report("m", "1.0.0", "2026-12-04", [day("bad-date"), {"date": "2026-12-04", "requests": -3,
                                                                    "drift_share": "high", "features": [1]}])  # fmt: skip
    broken["status"] = "exploded"
    put(admin, bucket, f"{prefix}2026-12-04.json", broken)
    answer = reports.health(bucket, prefix)
    assert [p["code"] for p in answer["problems"]] == ["monitoring_bad_report"] * 2
    assert [p["date"] for p in answer["problems"]] == ["2026-12-02", "2026-12-03"]
    assert answer["days"] == [
        {"date": "2026-12-01", "requests": 9, "drift_share": 0.1, "features": {"temp": 0.03, "vibration": 0.05}, "accuracy": None},
        {"date": "2026-12-04", "requests": 0, "drift_share": None, "features": {}, "accuracy": None}]  # fmt: skip
    assert answer["latest"]["date"] == "2026-12-04" and answer["latest"]["status"] == "no_data"
    assert answer["latest"]["has_html"] is False


def test_at_most_the_last_90_reports_are_read(object_store):
    admin = minio_for(object_store, object_store.credentials.admin_access_key, object_store.credentials.admin_secret_key)
    bucket = new_bucket(admin)
    all_days = dates("2026-12-06", health.MAX_REPORTS + 3)
    for date in all_days:
        put(admin, bucket, f"m/{date}.json", report("m", "1.0.0", date, [day(date, 1, accuracy=0.9)]))
    reports = reports_of(object_store)
    answer = reports.health(bucket, "m/")
    assert [d["date"] for d in answer["days"]] == all_days[3:]
    assert answer["days"][0]["accuracy"] == 0.9 and len(reports.cache) == health.MAX_REPORTS


def test_no_reports_yet_is_no_days_and_no_latest(object_store):
    admin = minio_for(object_store, object_store.credentials.admin_access_key, object_store.credentials.admin_secret_key)
    bucket = new_bucket(admin)
    assert reports_of(object_store).health(bucket, "predictions/m/1.0.0/monitoring/") == {"days": [], "latest": None, "problems": []}
    missing = reports_of(object_store).health("no-such-" + uuid.uuid4().hex[:8], "x/")
    assert [p["code"] for p in missing["problems"]] == ["monitoring_no_bucket"] and missing["latest"] is None


def test_an_unreachable_store_and_wrong_keys_are_reason_codes(object_store):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down = reports_of(object_store, endpoint=f"http://127.0.0.1:{closed}").health("some-bucket", "p/")
    assert down["days"] == [] and [p["code"] for p in down["problems"]] == ["monitoring_unreachable"]
    wrong = reports_of(object_store, secret="not-the-secret").health("some-bucket", "p/")
    assert [p["code"] for p in wrong["problems"]] == ["monitoring_denied"]
    assert "not-the-secret" not in json.dumps(wrong)
    none = health.Reports(None).health("some-bucket", "p/")
    assert [p["code"] for p in none["problems"]] == ["monitoring_not_configured"]


@pytest.fixture(scope="module")
def restricted_store(tmp_path_factory):
    """A store with the demo's per-user identities: alice may use only home-alice
    (hub_ext/demo/identities.py, SeaweedFS's ``Action:bucket`` grants)."""
    creds = StoreCredentials("admin" + secrets.token_hex(4), secrets.token_urlsafe(20), "", "")
    alice = UserKeys("hhu" + secrets.token_hex(8), secrets.token_urlsafe(24))
    store = EmbeddedObjectStore(tmp_path_factory.mktemp("restricted"), StorePorts.free(), creds,
                                identities=[user_identity("alice", alice, [])])  # fmt: skip
    store.start()
    try:
        yield SimpleNamespace(store=store, alice=alice, admin=minio_for(store, creds.admin_access_key, creds.admin_secret_key))
    finally:
        store.stop()


def test_a_user_without_access_to_the_bucket_gets_monitoring_denied(restricted_store):
    admin, alice = restricted_store.admin, restricted_store.alice
    for bucket in ("home-alice", "home-bob"):
        admin.make_bucket(bucket)
        put(admin, bucket, "p/m/1.0.0/monitoring/2026-12-01.json", report("m", "1.0.0", "2026-12-01", [day("2026-12-01")]))
    mine = health.Reports(storage_config(restricted_store.store, alice.access_key, alice.secret_key))
    assert len(mine.health("home-alice", "p/m/1.0.0/monitoring/")["days"]) == 1
    other = mine.health("home-bob", "p/m/1.0.0/monitoring/")
    assert other["days"] == [] and other["latest"] is None
    assert [p["code"] for p in other["problems"]] == ["monitoring_denied"]


def test_the_location_is_the_tag_else_the_request_log(monkeypatch):
    assert health.location({health.REPORTS_TAG: "s3://logs/pred/m/1.0.0/monitoring/"}, "m", "1.0.0") == (
        "logs", "pred/m/1.0.0/monitoring/")
    monkeypatch.setenv("HYBRIDHUB_PREDICTION_LOG_URI", "s3://home-a/predictions/")
    assert health.location({}, "m", "1.0.0") == ("home-a", "predictions/m/1.0.0/monitoring/")
    for bad in ("http://x/y", "s3://b/a/../c", "s3:///p", "s3://b/a//c"):
        with pytest.raises(ModelsError) as refused:
            health.location({health.REPORTS_TAG: bad}, "m", "1.0.0")
        assert refused.value.reason == "monitoring_not_configured"
    monkeypatch.delenv("HYBRIDHUB_PREDICTION_LOG_URI")
    with pytest.raises(ModelsError) as unset:
        health.location({}, "m", "1.0.0")
    assert unset.value.reason == "monitoring_not_configured"


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "../2026-12-01", "2026-12-01/../x", "", None, "20261201"])
def test_a_date_that_is_no_calendar_day_is_invalid(bad):
    with pytest.raises(ModelsError) as refused:
        health.check_date(bad)
    assert refused.value.reason == "invalid_request"


# ---- the service: the version from the registry, its tag ---------------------------------------
async def test_the_service_reads_the_versions_tagged_reports(object_store, workspace, mlflow_server):
    admin = minio_for(object_store, object_store.credentials.admin_access_key, object_store.credentials.admin_secret_key)
    bucket = new_bucket(admin)
    name = f"h-{uuid.uuid4().hex[:8]}"
    made = register(mlflow_server.url, name, 1, project=workspace.name)
    MlflowClient(mlflow_server.url).set_tag(made["run_id"], health.REPORTS_TAG, f"s3://{bucket}/logs/{name}/1.0.1/monitoring/")
    put(admin, bucket, f"logs/{name}/1.0.1/monitoring/2026-12-02.json",
        report(name, "1.0.1", "2026-12-02", [day("2026-12-01"), day("2026-12-02", 50)]))  # fmt: skip
    put(admin, bucket, f"logs/{name}/1.0.1/monitoring/2026-12-02.html", HTML.format(date="2026-12-02", status="ok"), "text/html")
    service = make_service(workspace, mlflow_server.url, storage=storage_config(object_store))
    try:
        answer = await health.version_health(service, ".", name, "1.0.1")
        assert [d["requests"] for d in answer["days"]] == [100, 50] and answer["latest"]["has_html"] is True
        html = await health.version_report(service, ".", name, "1.0.1", "2026-12-02")
        assert b"Drift report 2026-12-02" in html
        assert json.loads(await health.version_report(service, ".", name, "1.0.1", "2026-12-02", "json"))["schema"] == health.SCHEMA
        for call, reason in ((health.version_health(service, ".", name, "9.9.9"), "no_such_version"),
                             (health.version_health(service, ".", name, "latest"), "invalid_version"),
                             (health.version_health(service, ".", "../x", "1.0.1"), "invalid_request"),
                             (health.version_report(service, ".", name, "1.0.1", "2026-12-01"), "no_such_report"),
                             (health.version_report(service, ".", name, "1.0.1", "../../etc"), "invalid_request"),
                             (health.version_report(service, ".", name, "1.0.1", "2026-12-02", "pdf"), "invalid_request")):  # fmt: skip
            with pytest.raises(ModelsError) as refused:
                await call
            assert refused.value.reason == reason
    finally:
        await service.pipelines.close()


# ---- REST: a real jupyter server over the local backend ---------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory, mlflow_server, object_store):
    name, bare = f"rest-{os.urandom(4).hex()}", f"bare-{os.urandom(4).hex()}"
    with health_lab(tmp_path_factory.mktemp("models-health"), mlflow_server.url, object_store, {name: 1, bare: 2}) as served:
        folder = f"predictions/{name}/1.0.1/monitoring/"
        put(served.admin, served.bucket, folder + "2026-12-05.json",
            report(name, "1.0.1", "2026-12-05", [day(d) for d in dates("2026-12-05", 5)]))  # fmt: skip
        put(served.admin, served.bucket, folder + "2026-12-05.html", HTML.format(date="2026-12-05", status="ok"), "text/html")
        session = requests.Session()
        session.headers["Authorization"] = f"token {served.token}"
        yield SimpleNamespace(url=f"{served.url}hybridhub/", session=session, name=name, bare=bare, root=served.root,
                              log=served.log, secret=served.secret)  # fmt: skip


def refused(response: requests.Response, reason: str) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    body = response.json()
    assert body["reason"] == reason and response.status_code == ModelsError.REASONS[reason][0], (response.status_code, body)
    return body


def test_rest_health_and_the_report(lab):
    get = lambda path, **params: lab.session.get(lab.url + path, params=params, timeout=60)  # noqa: E731
    answer = get("models/health", project=".", name=lab.name, version="1.0.1")
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["days"]) == 5 and answer.json()["latest"]["date"] == "2026-12-05"
    page = get("models/health/report", project=".", name=lab.name, version="1.0.1", date="2026-12-05")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"].startswith("sandbox") and "Drift report 2026-12-05" in page.text
    # a version without reports yet (the same folder convention): empty, never an error
    none = get("models/health", project=".", name=lab.bare, version="1.0.2")
    assert none.status_code == 200 and none.json() == {"days": [], "latest": None, "problems": []}
    refused(get("models/health", project=".", name=lab.name, version="2.0.0"), "no_such_version")
    refused(get("models/health", project=".", name="../" + lab.name, version="1.0.1"), "invalid_request")
    refused(get("models/health/report", project=".", name=lab.name, version="1.0.1", date="../../x"), "invalid_request")
    refused(get("models/health/report", project=".", name=lab.name, version="1.0.1", date="2026-12-04"), "no_such_report")
    refused(get("models/health/report", project=".", name=lab.name, version="1.0.1"), "invalid_request")


def test_rest_retrain_starts_the_training_pipeline_with_the_newest_data(lab):
    post = lambda body: lab.session.post(lab.url + "models/retrain", json=body, timeout=60)  # noqa: E731
    refused(post({"project": ".", "name": lab.bare}), "no_production")
    refused(post({"project": ".", "name": "no-such-model"}), "no_such_model")
    refused(post({"project": "."}), "invalid_request")
    refused(post({"project": "../elsewhere", "name": lab.name}), "unknown_project")
    runs = lambda: [p for p in (lab.root / ".hybridhub/pipelines").iterdir() if p.name.isdigit()]  # noqa: E731
    assert runs() == [], "a refused retrain started nothing"
    started = post({"project": ".", "name": lab.name})
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["retrain_for"] == "1.0.1" and body["backend"] == "local" and body["ref"] == "main"
    pipeline_id = body["pipeline"]["id"]
    run = lab.session.get(f"{lab.url}pipelines/runs/{pipeline_id}", params={"project": "."}, timeout=30).json()
    assert {v["key"]: v["value"] for v in run["variables"]} == {"DATA_VERSION": "", "TEST_DATA_VERSION": "",
                                                                "RETRAIN_FOR": "1.0.1"}  # fmt: skip
    assert run["ref"] == "main"
    lab.session.post(f"{lab.url}pipelines/runs/{pipeline_id}/cancel", json={"project": "."}, timeout=30)


def test_the_server_logged_no_traceback_and_no_secret(lab):
    text = lab.log.read_text(errors="replace")
    assert "Traceback" not in text and "Uncaught exception" not in text, text[-3000:]
    assert lab.secret not in text


# ---- Retrain now through GitLab (the stand-in: tests/gitlab_standin) -----------------------------
@pytest.mark.gitlab
@pytest.mark.timeout(600)
async def test_retrain_through_gitlab_and_its_refusals(tmp_path):
    """GitLab: a pipeline on the default branch with the newest data and RETRAIN_FOR; a Reporter is
    refused before anything is created (GitLab lets Developer+ create pipelines:
    doc/user/permissions.md, "Run CI/CD pipeline"), and so is a model with nothing in production."""
    from tests.models.gitlab_flow import MODEL, PROJECT, gitlab_world, variables
    from tests.models.test_models_gitlab import make_service as gitlab_service

    with gitlab_world(tmp_path) as flow:
        dev = gitlab_service(flow.standin, flow.tokens["dev"], flow.base)
        reporter = gitlab_service(flow.standin, flow.tokens["reporter"], flow.base)
        try:
            backend = dev.pipelines.backend(None)
            first = flow.ci.pipelines[(await backend.create(PROJECT, "main", variables(flow.base / "train.csv", flow.base / "test.csv"), None))["id"]]
            assert flow.runner.pipeline(first)["build"] == "success", flow.runner.logs
            with pytest.raises(ModelsError) as nothing:
                await retrain.retrain(dev, PROJECT, MODEL)
            assert nothing.value.reason == "no_production"
            await dev.promote(PROJECT, MODEL, f"1.0.{first.id}")
            assert flow.runner.run(first, "deploy") == "success", flow.runner.logs
            before = set(flow.ci.pipelines)
            with pytest.raises(ModelsError) as refused:
                await retrain.retrain(reporter, PROJECT, MODEL)
            assert refused.value.reason == "retrain_not_allowed" and "Reporter" in refused.value.details
            assert set(flow.ci.pipelines) == before
            started = await retrain.retrain(dev, PROJECT, MODEL)
            record = flow.ci.pipelines[started["pipeline"]["id"]]
            assert record.ref == "main" and started["retrain_for"] == f"1.0.{first.id}" and started["backend"] == "gitlab"
            assert {v["key"]: v["value"] for v in record.variables} == {
                "DATA_VERSION": "", "TEST_DATA_VERSION": "", "RETRAIN_FOR": f"1.0.{first.id}"}  # fmt: skip
            assert started["pipeline"]["web_url"].endswith(f"/-/pipelines/{record.id}")
        finally:
            await dev.pipelines.close()
            await reporter.pipelines.close()


# ---- the monitoring job's own reports (the template's ml/monitor.py, helper M's) ---------------
async def test_the_jobs_reports_are_read_through_the_tag_it_sets(object_store, workspace, mlflow_server, tmp_path):
    """The job runs as its pipeline runs it (tests/monitoring/test_monitor_job.py's Project: logs of
    the model server's format, the reference at its recorded version, production from the local
    backend's record): the panel's service finds its report through the tag the job set on the
    version's run, and charts each day as the job's report figures it."""
    from tests.monitoring.test_monitor_job import DAYS, MODEL, VERSION, Project, day_log

    admin = minio_for(object_store, object_store.credentials.admin_access_key, object_store.credentials.admin_secret_key)
    bucket = new_bucket(admin, versioned=True)
    made = register(mlflow_server.url, MODEL, int(VERSION.rsplit(".", 1)[1]), project=workspace.name)
    project = Project(object_store, bucket, tmp_path, made["run_id"])
    project.log(DAYS[0], day_log(DAYS[0], seed=50)[0])
    project.log(DAYS[2], day_log(DAYS[2], seed=51, shift=(6.0, 1.5, 2.0))[0])
    done, report = project.run(HYBRIDHUB_MLFLOW_TRACKING_URI=mlflow_server.url)
    assert done.returncode == 0 and report["status"] == "alert", done.stderr
    service = make_service(workspace, mlflow_server.url, storage=storage_config(object_store))
    try:
        answer = await health.version_health(service, ".", MODEL, VERSION)
    finally:
        await service.pipelines.close()
    assert answer["problems"] == []
    assert [(d["date"], d["requests"], d["drift_share"]) for d in answer["days"]] == [
        (d["date"], d["requests"], d["drift_share"]) for d in report["daily"]]
    assert answer["days"][-1]["features"] == report["daily"][-1]["features"] and answer["days"][-1]["drift_share"] >= 0.5
    latest = answer["latest"]
    assert latest["status"] == "alert" and latest["date"] == DAYS[2] and latest["has_html"] is True
    assert latest["alerts"] == report["alerts"] and latest["thresholds"]["drift_share"] == report["thresholds"]["drift_share"]
