"""Alert -> GitLab issue -> retrain (the template's ml/retrain.py) against the GitLab stand-in: its
issues (tests/gitlab_standin/issues.py) and CI (pipelines.py; jobs driven as gitlab_flow.py's
runner does), and the budget check against the REAL cost service in a real hub (the fixtures of
tests/cost/test_hub_service.py: a budget of 100 JPY, over at once).

Times are passed in (``now``): the cool-down is tested without sleeping.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import requests

from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR
from tests.cost.test_hub_service import PREFIX, hub, kube  # noqa: F401  (the real cost service's fixtures)
from tests.gitlab_standin.issues import install as install_issues
from tests.hubclient import login
from tests.harness.hub import USER_PASSWORD
from tests.gitlab_standin.state import DEVELOPER, REPORTER
from tests.pipelines.conftest import ci_standin

pytestmark = pytest.mark.monitoring

SCRIPT = TEMPLATE_DIR / "ml" / "retrain.py"
_spec = importlib.util.spec_from_file_location("template_ml_retrain", SCRIPT)
retrain = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(retrain)

T0 = time.time()
HOUR = 3600.0


def report(status="alert", version="1.0.3") -> dict:
    """A report of the contract's schema (hybridhub.monitoring/1), as ml/monitor.py writes it."""
    features = {"temperature": {"method": "wasserstein", "statistic": 0.41, "drift": True},
                "vibration": {"method": "wasserstein", "statistic": 0.22, "drift": True},
                "pressure": {"method": "wasserstein", "statistic": 0.02, "drift": False}}  # fmt: skip
    return {
        "schema": "hybridhub.monitoring/1", "model": "sensor-failure", "version": version,
        "generated_at": "2026-12-06T10:00:00Z",
        "window": {"days": 7, "from": "2026-11-30", "to": "2026-12-06", "read": ["2026-12-06"], "missing": []},
        "reference": {"uri": "s3://datasets/sensors/train.csv", "version_id": "v1", "rows": 2000},
        "daily": [{"date": "2026-12-06", "requests": 1234, "drift_share": 0.67, "features": {}, "accuracy": None,
                   "labelled": 0}],
        "drift": {"drift_share": 0.67 if status == "alert" else 0.0, "drifted_features": 2, "features": features},
        "accuracy": None, "estimate": {"prediction_shift": 0.1, "drift": True},
        "thresholds": {"drift_share": 0.5, "min_accuracy": None},
        "alerts": [{"kind": "data_drift", "value": 0.67, "threshold": 0.5}] if status == "alert" else [],
        "status": status, "problems": [],
    }  # fmt: skip


@pytest.fixture
def world(tmp_path):
    """The stand-in with CI and issues, ml-team/sensors holding the template (main protected, Developers
    may merge: they run pipelines there), a Developer ``dev`` and a Reporter ``reporter`` with api tokens;
    ci_standin asserts at the end that the stand-in saw no request it does not understand."""
    with ci_standin(tmp_path, {"dev": DEVELOPER, "reporter": REPORTER}) as (standin, ci, project, users):
        tokens = {name: standin.world.issue(user, ["api"]).value for name, user in users.items()}
        yield SimpleNamespace(standin=standin, ci=ci, project=project, tokens=tokens, issues=install_issues(standin))


def env_for(w, token_name="dev", **extra) -> dict:
    values = {"CI_API_V4_URL": w.standin.url + "/api/v4", "CI_PROJECT_ID": str(w.project.id),
              "CI_DEFAULT_BRANCH": "main", "MONITOR_GITLAB_TOKEN": w.tokens[token_name], "RETRAIN_ON_ALERT": "true",
              "RETRAIN_COOLDOWN_HOURS": "24", "PREDICTION_LOG_URI": "s3://logs/predictions"}  # fmt: skip
    return {**values, **extra}


def run(w, tmp_path, env, now, rep=None) -> tuple[int, str]:
    """ml/retrain.py's main in this process with ``env`` and ``now``; (exit code, its output)."""
    path = tmp_path / "monitoring-report.json"
    path.write_text(json.dumps(rep or report()))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = retrain.main(["--report", str(path)], env=env, now=now)
    return code, out.getvalue()


def open_issues(w):
    return [i for i in w.issues.issues if i.state == "opened"]


def markers(issue) -> list[dict]:
    return [json.loads(m.group(1)) for n in issue.notes for m in retrain._MARKER.finditer(n.body)]


def finish(w, pipeline, status="success"):
    """The runner runs every job of the pipeline that waits for a runner (a manual deploy waits for a person)."""
    for job in sorted(w.ci.jobs.values(), key=lambda j: j.id):
        if job.pipeline_id == pipeline.id and job.status in ("created", "pending", "running"):
            if job.status != "running":
                w.ci.start(job)
            w.ci.finish(job, status)


def test_no_retraining_storm_one_issue_one_running_retrain_and_a_cool_down(world, tmp_path):
    w, env = world, env_for(world)
    code, out = run(w, tmp_path, env, T0)
    assert code == 0, out
    (issue,) = open_issues(w)
    assert issue.title == "Model sensor-failure: monitoring alert" and issue.labels == ["model-monitoring"]
    assert "**alert**" in issue.description and "data_drift 0.67 (threshold 0.5)" in issue.description
    assert "`temperature` 0.410, `vibration` 0.220" in issue.description and "1234" in issue.description
    assert "s3://logs/predictions/sensor-failure/1.0.3/monitoring/2026-12-06.html" in issue.description
    (pipeline,) = w.ci.pipelines.values()
    assert pipeline.ref == "main" and {v["key"]: v["value"] for v in pipeline.variables} == {
        "DATA_VERSION": "", "TEST_DATA_VERSION": "", "RETRAIN_FOR": "1.0.3", "RETRAIN_ISSUE": str(issue.iid),
        "MONITOR": "false"}
    (decision,) = issue.notes
    assert f"/-/pipelines/{pipeline.id}" in decision.body and "HYBRIDHUB_COST_URL is not set" in decision.body
    assert markers(issue)[-1]["decision"] == "started" and markers(issue)[-1]["pipeline_id"] == pipeline.id

    # a second alert while the retrain runs: a note on the same issue, no pipeline
    w.ci.start(w.ci.job(pipeline, "train"))
    assert run(w, tmp_path, env, T0 + 600)[0] == 0
    assert open_issues(w) == [issue] and len(w.ci.pipelines) == 1 and w.ci.create_calls == 1
    assert len(issue.notes) == 3 and "**alert**" in issue.notes[1].body
    assert markers(issue)[-1] == {"decision": "skipped", "reason": "retrain_running", "at": retrain.iso(T0 + 600),
                                  "version": "1.0.3"}
    assert "still running" in issue.notes[2].body

    # it finished, but inside the cool-down: nothing starts
    finish(w, pipeline)
    assert pipeline.status == "success"
    assert run(w, tmp_path, env, T0 + 2 * HOUR)[0] == 0
    assert w.ci.create_calls == 1 and markers(issue)[-1]["reason"] == "cooldown"
    assert "RETRAIN_COOLDOWN_HOURS=24" in issue.notes[-1].body and retrain.iso(T0 + 24 * HOUR) in issue.notes[-1].body

    # after the cool-down: a new retrain, recorded on the same issue
    assert run(w, tmp_path, env, T0 + 25 * HOUR)[0] == 0
    assert len(w.ci.pipelines) == 2 and len(open_issues(w)) == 1
    second = max(w.ci.pipelines.values(), key=lambda p: p.id)
    assert markers(issue)[-1]["pipeline_id"] == second.id

    # an ok report: not one request to GitLab
    requests_before, notes_before = len(w.standin.log), len(issue.notes)
    code, out = run(w, tmp_path, env, T0 + 26 * HOUR, report("ok"))
    assert code == 0 and "status ok" in out
    assert len(w.standin.log) == requests_before and len(issue.notes) == notes_before


def test_a_failed_retrain_also_waits_for_the_cool_down_and_a_closed_issue_ends_the_episode(world, tmp_path):
    w, env = world, env_for(world, RETRAIN_COOLDOWN_HOURS="6")
    run(w, tmp_path, env, T0)
    (pipeline,) = w.ci.pipelines.values()
    finish(w, pipeline, "failed")
    run(w, tmp_path, env, T0 + 5 * HOUR)
    (issue,) = open_issues(w)
    assert w.ci.create_calls == 1 and markers(issue)[-1]["reason"] == "cooldown"
    # someone closes the issue: the next alert opens a new one (and its own retrain state)
    r = requests.put(f"{w.standin.url}/api/v4/projects/{w.project.id}/issues/{issue.iid}",
                     headers={"PRIVATE-TOKEN": w.tokens["dev"]}, json={"state_event": "close"}, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    run(w, tmp_path, env, T0 + 5.5 * HOUR)
    (fresh,) = open_issues(w)
    assert fresh.iid == issue.iid + 1 and len(w.ci.pipelines) == 2


def test_retrain_off_writes_the_issue_only(world, tmp_path):
    w, env = world, env_for(world, RETRAIN_ON_ALERT="false")
    for at in (T0, T0 + 48 * HOUR):
        code, out = run(w, tmp_path, env, at)
        assert code == 0 and "issue only" in out
    (issue,) = open_issues(w)
    assert w.ci.create_calls == 0 and len(issue.notes) == 1  # the second alert
    assert "RETRAIN_ON_ALERT" in issue.description and markers(issue) == []


def test_japanese_notes(world, tmp_path):
    w = world
    rep = {**report(), "reports": "s3://logs/p/sensor-failure/1.0.3/monitoring/"}  # as ml/monitor.py writes it
    run(w, tmp_path, env_for(w, MONITOR_LANG="ja"), T0, rep)
    (issue,) = open_issues(w)
    assert "監視アラート" in issue.description and "ドリフト率" in issue.description
    assert "`s3://logs/p/sensor-failure/1.0.3/monitoring/2026-12-06.json` (JSON)" in issue.description
    assert "再学習を開始しました" in issue.notes[0].body and "予算の確認なし" in issue.notes[0].body


def test_over_budget_in_the_real_cost_service_starts_no_pipeline(world, tmp_path, hub):  # noqa: F811
    carol = login(hub.url, "carol", USER_PASSWORD)  # a cost reader (custom:hybridhub-cost:read)
    r = carol.api("POST", "users/carol/tokens", json={"note": "retrain budget check"})
    assert r.status_code == 201, r.text
    cost_token = r.json()["token"]
    w = world
    env = env_for(w, HYBRIDHUB_COST_URL=hub.url + PREFIX.rstrip("/"), HYBRIDHUB_COST_TOKEN=cost_token)
    code, out = run(w, tmp_path, env, T0)
    assert code == 0, out
    (issue,) = open_issues(w)
    assert w.ci.create_calls == 0 and markers(issue)[-1]["reason"] == "budget_over"
    assert "over the budget of 100.00 JPY" in issue.notes[-1].body
    assert cost_token not in out and all(cost_token not in n.body for n in issue.notes)

    # a token the cost service refuses (not a cost reader) is no budget: fail safe
    alice = login(hub.url, "alice", USER_PASSWORD)
    refused = alice.api("POST", "users/alice/tokens", json={"note": "not a reader"}).json()["token"]
    run(w, tmp_path, {**env, "HYBRIDHUB_COST_TOKEN": refused}, T0 + 60)
    assert w.ci.create_calls == 0 and markers(issue)[-1]["reason"] == "budget_unknown"
    assert "answered 403" in issue.notes[-1].body


def test_cost_service_down_starts_no_pipeline(world, tmp_path):
    (port,) = free_ports(1)  # nothing listens there
    w = world
    env = env_for(w, HYBRIDHUB_COST_URL=f"http://127.0.0.1:{port}/services/hybridhub-cost", HYBRIDHUB_COST_TOKEN="x")
    assert run(w, tmp_path, env, T0)[0] == 0
    (issue,) = open_issues(w)
    assert w.ci.create_calls == 0 and markers(issue)[-1]["reason"] == "budget_unknown"
    assert "unreachable" in issue.notes[-1].body


def test_a_reporter_token_writes_the_issue_and_gitlab_refuses_the_pipeline(world, tmp_path):
    w = world
    code, out = run(w, tmp_path, env_for(w, "reporter"), T0)
    assert code == 1, out
    (issue,) = open_issues(w)
    assert issue.labels == ["model-monitoring"] and w.ci.pipelines == {}
    assert f"POST /api/v4/projects/{w.project.id}/pipeline" in w.standin.log  # asked, and refused
    assert markers(issue)[-1]["reason"] == "pipeline_refused" and "403" in issue.notes[-1].body
    # a marker someone else pastes does not count (a forged retrain would block retraining for a year)
    forged = retrain.marker({"decision": "started", "pipeline_id": 1, "started_at_epoch": T0 + 365 * 24 * HOUR})
    r = requests.post(f"{w.standin.url}/api/v4/projects/{w.project.id}/issues/{issue.iid}/notes",
                      headers={"PRIVATE-TOKEN": w.tokens["reporter"]}, json={"body": forged}, timeout=10)
    assert r.status_code == 201
    # no retrain was recorded: the next alert with a Developer token starts one at once
    assert run(w, tmp_path, env_for(w), T0 + 60)[0] == 0 and len(w.ci.pipelines) == 1


def test_the_cli_never_prints_the_token_and_a_refused_token_is_one_line(world, tmp_path):
    w = world
    path = tmp_path / "monitoring-report.json"
    path.write_text(json.dumps(report()))
    base = {"PATH": "/usr/bin:/bin", "MONITOR_LANG": "en"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--report", str(path)], capture_output=True, text=True,
                          env={**base, **env_for(w, MONITOR_GITLAB_TOKEN="", MLFLOW_TRACKING_TOKEN=w.tokens["dev"])},
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "opened issue #1" in done.stdout and "Retraining started" in done.stdout
    assert w.tokens["dev"] not in done.stdout + done.stderr
    assert all(w.tokens["dev"] not in n.body for n in open_issues(w)[0].notes)

    w.standin.world.tokens[w.tokens["dev"]].revoked = True
    done = subprocess.run([sys.executable, str(SCRIPT), "--report", str(path)], capture_output=True, text=True,
                          env={**base, **env_for(w)}, timeout=60)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "GitLab refused GET /user (401" in done.stderr and w.tokens["dev"] not in done.stderr


def test_without_gitlab_the_alert_stays_in_the_report(world, tmp_path):
    code, out = run(world, tmp_path, {"RETRAIN_ON_ALERT": "true"}, T0)
    assert code == 0 and "no GitLab API here" in out
    code, out = run(world, tmp_path, {**env_for(world), "MONITOR_GITLAB_TOKEN": ""}, T0)
    assert code == 1 and "no GitLab token" in out and world.issues.issues == []


def test_the_standin_issues_api_follows_gitlabs_roles_and_shapes(tmp_path):
    """tests/gitlab_standin/issues.py itself: doc/user/permissions.md roles, filters, strictness."""
    from tests.gitlab_standin.state import GUEST

    with ci_standin(tmp_path, {"dev": DEVELOPER, "guest": GUEST}) as (standin, _ci, project, users):
        install_issues(standin)
        outsider = standin.world.add_user("outsider")
        token = {n: standin.world.issue(u, ["api"]).value for n, u in {**users, "outsider": outsider}.items()}
        token["reader"] = standin.world.issue(users["dev"], ["read_api"]).value
        base = f"{standin.url}/api/v4/projects/{project.id}/issues"

        def call(method, url, who, **kw):
            return requests.request(method, url, headers={"PRIVATE-TOKEN": token[who]}, timeout=10, **kw)

        mine = call("POST", base, "dev", json={"title": "Model m: monitoring alert", "labels": "model-monitoring,ops",
                                               "description": "drift"}).json()  # fmt: skip
        assert mine["iid"] == 1 and mine["labels"] == ["model-monitoring", "ops"] and mine["state"] == "opened"
        assert mine["web_url"].endswith("/ml-team/sensors/-/issues/1") and mine["author"]["username"] == "dev"
        # a Guest may create issues and comment, but not set labels (dropped) nor edit others' issues
        theirs = call("POST", base, "guest", json={"title": "Model x: monitoring alert", "labels": "model-monitoring"})
        assert theirs.status_code == 201 and theirs.json()["labels"] == []
        assert call("POST", f"{base}/1/notes", "guest", json={"body": "seen"}).status_code == 201
        assert call("PUT", f"{base}/1", "guest", json={"description": "x"}).status_code == 403
        assert call("PUT", f"{base}/2", "guest", json={"description": "mine"}).json()["description"] == "mine"
        # filters: every label, state, search in title or description
        found = call("GET", base, "dev", params={"labels": "model-monitoring", "state": "opened", "search": "DRIFT"})
        assert [i["iid"] for i in found.json()] == [1] and found.headers["X-Total"] == "1"
        assert [i["iid"] for i in call("GET", base, "dev").json()] == [2, 1]  # created_at desc
        notes = call("GET", f"{base}/1/notes", "dev").json()
        assert [(n["body"], n["noteable_iid"], n["author"]["username"]) for n in notes] == [("seen", 1, "guest")]
        # not a member: the project does not exist; a read_api token may not write
        assert call("GET", base, "outsider").json() == {"message": "404 Project Not Found"}
        assert call("POST", base, "reader", json={"title": "t"}).json()["error"] == "insufficient_scope"
        assert call("POST", base, "dev", json={}).json() == {"error": "title is missing"}
        assert call("PUT", f"{base}/9", "dev", json={"title": "t"}).status_code == 404
        # what the double does not know fails loudly
        assert call("POST", base, "dev", json={"title": "t", "assignee_ids": [1]}).status_code == 400
        assert standin.violations == ["unsupported issue attribute(s) ['assignee_ids']"]
        standin.violations.clear()
