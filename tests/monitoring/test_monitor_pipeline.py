"""The `monitor` job in the template's .gitlab-ci.yml (design §4 of issue 20): a pipeline with
MONITOR=true runs only it, every other pipeline never does; deploy stays manual through its rule.
Checked where the file is read: ci_file (the panel and the local backend's job list), the GitLab
stand-in's pipeline creation (rules as GitLab evaluates them) and gitlab-ci-local itself."""

from __future__ import annotations

import json

import pytest
import yaml

from hybridhub.lab_ext.pipelines import ci_file, ci_rules
from hybridhub.lab_ext.pipelines.gitlab_backend import GitLabBackend
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR
from tests.gitlab_standin.state import DEVELOPER

from ..pipelines.conftest import backend, ci_standin, finished, jobs_of, tools_present, wait_for, workspace  # noqa: F401

pytestmark = pytest.mark.monitoring

CI = yaml.safe_load((TEMPLATE_DIR / ".gitlab-ci.yml").read_text())
MONITOR = [{"key": "MONITOR", "value": "true"}]


def whens(jobs: dict) -> dict[str, str]:
    return {name: job["when"] for name, job in jobs.items()}


def test_the_ci_file_declares_the_monitoring_settings_with_descriptions():
    declared = {v["key"]: v for v in ci_file.variables(CI)}
    defaults = {"MONITOR": "false", "MONITOR_DAYS": "7", "MONITOR_DRIFT_SHARE": "0.5", "MONITOR_MIN_ACCURACY": "",
                "LABELS_URI": "", "RETRAIN_ON_ALERT": "false", "RETRAIN_COOLDOWN_HOURS": "24", "MONITOR_LANG": "en",
                "HYBRIDHUB_COST_URL": ""}  # fmt: skip
    assert {k: declared[k]["value"] for k in defaults} == defaults
    assert all(declared[k]["description"] for k in defaults)
    assert "HYBRIDHUB_COST_TOKEN" not in declared and "MONITOR_GITLAB_TOKEN" not in declared  # masked project variables
    assert CI["monitor"]["stage"] == "monitor" and CI["monitor"]["tags"] == ["$TEST_RUNNER_TAG"]
    assert all("when" not in CI[job] for job in ("train", "test", "build", "deploy", "monitor"))  # only inside rules


def test_ci_file_jobs_follow_the_rules():
    assert whens(ci_file.jobs(CI)) == {"train": "on_success", "test": "on_success", "build": "on_success", "deploy": "manual"}
    assert whens(ci_file.jobs(CI, MONITOR)) == {"monitor": "on_success"}
    assert whens(ci_file.jobs(CI, MONITOR, source="schedule")) == {"monitor": "on_success"}
    assert "monitor" not in ci_file.jobs(CI, source="schedule")  # a schedule without MONITOR=true trains
    assert ci_file.job_tags(CI, MONITOR) == {"monitor": ["test"]}


@pytest.mark.parametrize("expression, values, expected", [
    ('$A == "x" || $B == "y" && $C', {"A": "x"}, True),  # && binds tighter than ||
    ('($A == "x" || $B == "y") && $C', {"A": "x"}, False),
    ("$A", {"A": "  "}, False),  # present?: a blank string is not
    ("$A && $B", {"A": "", "B": "1"}, True),  # Ruby's &&: "" is truthy, the result is $B
    ("$UNSET != 'true'", {}, True),  # nil != "true"
    ("$UNSET == ''", {}, False),  # nil is not ""
])  # fmt: skip
def test_rules_expressions_as_gitlab_evaluates_them(expression, values, expected):
    from tests.gitlab_standin import ci_rules as standin_rules

    assert ci_rules.matches(expression, values) is expected
    assert standin_rules.evaluate({"rules": [{"if": expression}]}, values)[0] == ("on_success" if expected else "never")


async def test_the_gitlab_standin_creates_only_the_jobs_whose_rules_match(tmp_path):
    with ci_standin(tmp_path, {"alice": DEVELOPER}) as (standin, ci, project, users):
        token = standin.world.issue(users["alice"], ["api"]).value
        gitlab = GitLabBackend(standin.url, token, timeout=10)
        try:
            monitoring = await gitlab.create(str(project.id), "main", MONITOR, None)
            training = await gitlab.create(str(project.id), "main", [], None)
        finally:
            await gitlab.close()
        assert jobs_of(monitoring) == {"monitor": "created"}
        assert jobs_of(training) == {"train": "created", "test": "created", "build": "created", "deploy": "manual"}
        deploy = ci.job(ci.pipelines[training["id"]], "deploy")
        assert ci.job_json(deploy)["allow_failure"] is True  # the rule's allow_failure
        assert ci.pipelines[monitoring["id"]].source == "api"


async def test_gitlab_ci_local_runs_only_monitor_with_monitor_true(backend, tools_present):  # noqa: F811
    """The local backend's real gitlab-ci-local: MONITOR=true runs `monitor` alone (here it fails at
    once: no PREDICTION_LOG_URI, one line), the four jobs never start."""
    created = await backend.create(".", "main", MONITOR + [{"key": "PREDICTION_LOG_URI", "value": ""}], None)
    assert jobs_of(created) == {"monitor": "created"}
    view = await wait_for(backend, ".", created["id"], finished, timeout=120)
    assert jobs_of(view) == {"monitor": "failed"}
    log = (backend.store.run_dir(created["id"]) / "src" / ".gitlab-ci-local" / "output" / "monitor.log").read_text()
    assert "monitoring failed: PREDICTION_LOG_URI is not set" in log
    ran = (backend.store.run_dir(created["id"]) / "src" / ".gitlab-ci-local" / "output")
    assert sorted(p.stem for p in ran.glob("*.log")) == ["monitor"]


async def test_the_job_finds_production_through_gitlabs_environments_api(tmp_path, monkeypatch):
    """ml/monitor_source.py against the stand-in's environments API: the version of the deploy that
    last succeeded (a later failed deploy does not count), read from that job's lineage.json artifact."""
    from tests.gitlab_standin.environments import install as install_environments

    from .test_monitor_job import template_module

    with ci_standin(tmp_path, {"alice": DEVELOPER}) as (standin, ci, project, users):
        install_environments(standin)
        token = standin.world.issue(users["alice"], ["api"]).value
        gitlab = GitLabBackend(standin.url, token, timeout=10)
        try:
            served = await gitlab.create(str(project.id), "main", [], None)
            later = await gitlab.create(str(project.id), "main", [], None)
        finally:
            await gitlab.close()
        for created, version, result in ((served, "1.0.5", "success"), (later, "1.0.6", "failed")):
            pipeline = ci.pipelines[created["id"]]
            for name in ("train", "test", "build", "deploy"):
                ci.start(ci.job(pipeline, name))
                lineage = {"model": {"name": "sensor-failure", "version": version, "run_id": f"run-{version}"},
                           "data": {"train": {"uri": "s3://datasets/sensors/train.csv", "version_id": f"v-{version}"}}}  # fmt: skip
                ci.finish(ci.job(pipeline, name), result if name == "deploy" else "success",
                          {"lineage.json": json.dumps(lineage).encode()})  # fmt: skip
        for key in ("HYBRIDHUB_LOCAL_RUN", "MLFLOW_TRACKING_TOKEN"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("CI_API_V4_URL", f"{standin.url}/api/v4")
        monkeypatch.setenv("CI_PROJECT_ID", str(project.id))
        monkeypatch.setenv("MONITOR_GITLAB_TOKEN", token)
        monitor_source = template_module("monitor_source")
        production = monitor_source.production()
        assert production["model"] == "sensor-failure" and production["version"] == "1.0.5"
        assert production["run_id"] == "run-1.0.5" and production["train"]["version_id"] == "v-1.0.5"
        monkeypatch.setenv("MONITOR_GITLAB_TOKEN", "not-a-token")
        with pytest.raises(monitor_source.SourceError, match="HTTP 401"):
            monitor_source.production()
