"""The Models flow against the GitLab stand-in through the REST routes, as a user server runs it.

A real JupyterHub (tests/gitlab/hub.py) logs the users in through the stand-in's OAuth and spawns
their servers the way production does: the authenticator hands the user's GitLab access token to
the server in ``HYBRIDHUB_GITLAB_TOKEN`` and the spawner sets ``HYBRIDHUB_GITLAB_URL``
(spawner/hybridhub/spawner/envvars.py, docs/environment.md); no ``HYBRIDHUB_MLFLOW_TRACKING_URI``,
so the registry is the project's GitLab registry reached with that token. Every request is the
Models panel's (lab_ext/src/models/api.ts): the browser's cookies with the server's XSRF token on
POST, the project as the pipelines panel lists it (its GitLab id). The runner
(tests/models/gitlab_flow.py) runs the template's job scripts for real: the build pushes the model
image, the deploy swaps it in on the serving machine, and the version answering on SERVE_PORT is
checked after every deploy. The tests share one world
(one hub, one server per user) and run in file order: the refusals follow the flow's deployments,
the token tests come last (they age and revoke the user's token).
"""

from __future__ import annotations

import json

import pytest
import requests

from hybridhub.lab_ext.models.errors import ModelsError
from tests.gitlab.hub import clone_home, gitlab_login, server_environ, start_hub, wait_ready
from tests.gitlab_standin.state import DEVELOPER, REPORTER
from tests.models.gitlab_flow import MODEL, gitlab_world, variables
from tests.models.serving_machine import PROJECT_IMAGE
from tests.models.test_models_rest import refused

pytestmark = [pytest.mark.models, pytest.mark.gitlab, pytest.mark.timeout(600)]
METRICS = ("accuracy", "precision", "recall", "f1")


class Panel:
    """One user's Models panel in the browser: GETs with the session's cookies, POSTs with the
    server's XSRF token as JupyterLab's ServerConnection sends it (``X-XSRFToken`` from ``_xsrf``)."""

    def __init__(self, hub, gitlab, user) -> None:
        self.session, callback = gitlab_login(hub, gitlab, user)
        assert callback.status_code == 302, callback.text
        assert hub.api("POST", f"users/{user.username}/server").status_code in (201, 202)
        wait_ready(hub, user.username)
        server = f"{hub.url}user/{user.username}/"
        lab = self.session.get(server + "lab", timeout=60)  # JupyterLab's page sets the server's _xsrf cookie
        assert lab.status_code == 200, lab.text[:500]
        self.xsrf = self.session.cookies.get("_xsrf", path=f"/user/{user.username}/")
        assert self.xsrf
        self.api, self.answers = f"{server}hybridhub/", []

    def get(self, path: str, **params) -> requests.Response:
        return self._kept(self.session.get(self.api + path, params=params, timeout=60))

    def post(self, path: str, body: dict, xsrf: bool = True) -> requests.Response:
        headers = {"X-XSRFToken": self.xsrf} if xsrf else {}
        return self._kept(self.session.post(self.api + path, json=body, headers=headers, timeout=60))

    def _kept(self, response: requests.Response) -> requests.Response:
        self.answers.append(response.text)
        return response

    def ok(self, response: requests.Response, status: int = 200) -> dict:
        assert response.status_code == status, (response.status_code, response.text[:2000])
        return response.json()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("models-gitlab-rest")
    with gitlab_world(base) as world:
        users, standin = world.users, world.standin
        # the hub admits members of the group ml-team (tests/gitlab/hub.py's allowed_groups)
        standin.world.add_group("ml-team", {users["dev"]: DEVELOPER, users["reporter"]: REPORTER})
        for name in users:
            clone_home(base, standin, world.project, name)
        hub = start_hub(base / "hub", standin)
        try:
            world.hub = hub
            world.panels = {name: Panel(hub, standin, user) for name, user in users.items()}
            yield world
        finally:
            hub.stop()


@pytest.fixture(scope="module")
def project(lab) -> str:
    """The project as the panel names it: its id in the pipelines panel's list."""
    listed = lab.panels["dev"].ok(lab.panels["dev"].get("pipelines/projects", backend="gitlab"))["projects"]
    (found,) = [p["id"] for p in listed if p["path"] == "ml-team/sensors"]
    assert found == str(lab.project.id)
    return found


def launch(lab, project: str, train: str, **extra) -> object:
    """Run the training pipeline from the Pipelines panel's route; the runner runs train, test, build."""
    panel = lab.panels["dev"]
    body = {"backend": "gitlab", "project": project, "ref": "main",
            "variables": variables(lab.base / train, lab.base / "test.csv", **extra)}  # fmt: skip
    record = lab.ci.pipelines[panel.ok(panel.post("pipelines/runs", body), 201)["id"]]
    lab.runner.pipeline(record)
    return record


@pytest.fixture(scope="module")
def first(lab, project):
    record = launch(lab, project, "train.csv")
    assert [lab.ci.job(record, n).status for n in ("train", "test", "build")] == ["success"] * 3, lab.runner.logs
    return record


def jobs(ci) -> tuple:
    """Every pipeline and job with its status: a refused request changes none of it."""
    return sorted(ci.pipelines), {j.id: j.status for j in ci.jobs.values()}


def production(panel, project: str) -> str | None:
    found = panel.ok(panel.get("models/versions", project=project, name=MODEL))["production"]
    return found and found["version"]


def test_config_names_the_projects_gitlab_registry(lab):
    """The server is configured as production configures it: the hub's GitLab URL and the user's
    access token from the login, no tracking URI (so: the project's own GitLab registry)."""
    env = server_environ(lab.hub, "dev")
    assert env["HYBRIDHUB_GITLAB_URL"] == lab.standin.url
    assert env["HYBRIDHUB_GITLAB_TOKEN"] == lab.hub.api("GET", "users/dev").json()["auth_state"]["access_token"]
    assert not {"HYBRIDHUB_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN"} & set(env)
    panel = lab.panels["dev"]
    config = panel.ok(panel.get("models/config"))
    assert config == {"enabled": True, "backend": "gitlab", "registry": "gitlab", "environment": "production",
                      "registry_url": f"{lab.standin.url}/api/v4/projects/<id>/ml/mlflow", "reason": None}  # fmt: skip


def test_promote_rollback_and_reproduce_through_rest(lab, project, first):
    dev, ci, runner, web = lab.panels["dev"], lab.ci, lab.runner, f"{lab.standin.url}/ml-team/sensors"
    v1 = f"1.0.{first.id}"
    (model,) = [m for m in dev.ok(dev.get("models", project=project))["models"] if m["name"] == MODEL]
    assert model["latest_version"] == v1 and model["production"] is None
    listed = dev.ok(dev.get("models/versions", project=project, name=MODEL))
    assert [v["version"] for v in listed["versions"]] == [v1] and listed["production"] is None
    assert listed["can_deploy"] == {"allowed": True, "role": "Developer", "needs": "Developer"}
    assert listed["versions"][0]["gate"]["passed"] is True and listed["versions"][0]["commit"] == first.sha
    assert set(METRICS) <= set(listed["versions"][0]["metrics"])

    # promote: the deploy job of the version's pipeline is played; production follows the job
    promoted = dev.ok(dev.post("models/promote", {"project": project, "name": MODEL, "version": v1}))
    deploy = ci.job(first, "deploy")
    assert promoted["pipeline_id"] == first.id and promoted["job"] == "deploy" and deploy.status == "pending"
    assert promoted["deployment_status"] == "created"
    states = [v["deploy"] for v in dev.ok(dev.get("models/versions", project=project, name=MODEL))["versions"]]
    assert states == [{"allowed": False, "reason": "deploy_in_progress"}]  # what the panel shows before a click
    busy = refused(dev.post("models/promote", {"project": project, "name": MODEL, "version": v1}), "deploy_in_progress")
    assert ci.job(first, "deploy").id == deploy.id and busy["details"]  # played once, not again
    assert production(dev, project) is None  # not before the runner has run the job
    assert runner.run(first, "deploy") == "success", runner.logs
    assert production(dev, project) == v1 and runner.served() == v1  # the model answers on SERVE_PORT

    lineage = dev.ok(dev.get("models/lineage", project=project, name=MODEL, version=v1))
    assert lineage["links"]["commit"] == f"{web}/-/commit/{first.sha}"
    assert lineage["links"]["pipeline"] == f"{web}/-/pipelines/{first.id}"
    assert {k: lineage["links"]["jobs"][k] for k in ("train", "test", "build")} == {
        k: f"{web}/-/jobs/{ci.job(first, k).id}" for k in ("train", "test", "build")}  # fmt: skip
    assert [(d["status"], d["url"]) for d in lineage["deployments"]] == [("success", f"{web}/-/jobs/{deploy.id}")]
    # the image the build job pushed (kaniko's digest in image.json), recorded by the deploy job, pulled by digest
    built = json.loads((runner.checkout(first) / "image.json").read_text())
    assert lineage["image"] == {"ref": f"{PROJECT_IMAGE}/model:{first.sha[:8]}", "digest": built["digest"]}
    assert lineage["links"]["registry"] == f"{web}/-/ml/models" and lineage["links"]["image"] == f"{web}/container_registry"
    assert lineage["model"]["version"] == v1 and lineage["data"]["train"]["uri"].endswith("train.csv")
    assert lineage["serving"] is True and lineage["reproducibility"] == "weaker"  # a file: no version ids

    # a second pipeline on changed data, promoted
    second = launch(lab, project, "train-changed.csv")
    v2 = f"1.0.{second.id}"
    listed = dev.ok(dev.get("models/versions", project=project, name=MODEL))
    assert [v["version"] for v in listed["versions"]] == [v2, v1]
    by_version = {v["version"]: v for v in listed["versions"]}
    assert all(set(METRICS) <= set(by_version[v]["metrics"]) for v in (v1, v2))  # side by side
    assert by_version[v1]["serving"] is True and by_version[v2]["serving"] is False
    dev.ok(dev.post("models/promote", {"project": project, "name": MODEL, "version": v2}))
    assert runner.run(second, "deploy") == "success"
    assert production(dev, project) == v2 and runner.served() == v2

    # roll back (no version named): the previous successful deployment's job is retried
    rolled = dev.ok(dev.post("models/rollback", {"project": project, "name": MODEL}))
    assert rolled["pipeline_id"] == first.id and rolled["version"] == v1
    retried = ci.job(first, "deploy")
    assert retried.id != deploy.id and retried.id == rolled["job_id"] and retried.status == "pending"
    assert runner.run(first, "deploy") == "success"
    assert production(dev, project) == v1 and runner.served() == v1  # the first image again, by its digest
    statuses = [d["status"] for d in dev.ok(dev.get("models/lineage", project=project, name=MODEL, version=v1))["deployments"]]
    assert statuses == ["success", "success"]

    # reproduce the first: a tag at its commit, a pipeline with the data it read
    started = dev.ok(dev.post("models/reproduce", {"project": project, "name": MODEL, "version": v1}), 201)
    record = ci.pipelines[started["pipeline"]["id"]]
    assert started["pipeline"]["web_url"] == f"{web}/-/pipelines/{record.id}"
    assert record.ref == f"reproduce-{v1}-1" and record.sha == first.sha
    given = {v["key"]: v["value"] for v in record.variables}
    assert given["REPRODUCES_VERSION"] == v1 and given["DATA_URI"] == str(lab.base / "train.csv")
    assert runner.pipeline(record, ("train", "test")) == {"train": "success", "test": "success"}, runner.logs
    copy = f"1.0.{record.id}"
    by_version = {v["version"]: v for v in dev.ok(dev.get("models/versions", project=project, name=MODEL))["versions"]}
    assert by_version[copy]["reproduces"] == v1
    assert {k: by_version[copy]["metrics"][k] for k in METRICS} == {k: by_version[v1]["metrics"][k] for k in METRICS}
    lineage = dev.ok(dev.get("models/lineage", project=project, name=MODEL, version=v1))
    assert [(r["version"], r["same_metrics"]) for r in lineage["reproduced_by"]] == [(copy, True)]
    assert production(dev, project) == v1  # reproducing deploys nothing


def test_refusals_are_the_catalogs_json_and_touch_nothing(lab, project, first):
    dev, reporter, ci = lab.panels["dev"], lab.panels["reporter"], lab.ci
    v1 = f"1.0.{first.id}"
    before = jobs(ci)
    # a Reporter sees the versions, may not deploy: refused before GitLab is asked to play
    seen = reporter.ok(reporter.get("models/versions", project=project, name=MODEL))
    assert v1 in [v["version"] for v in seen["versions"]]
    assert seen["can_deploy"] == {"allowed": False, "role": "Reporter", "needs": "Developer"}
    assert {v["deploy"]["reason"] for v in seen["versions"]} == {"deploy_not_allowed"}
    body = refused(reporter.post("models/promote", {"project": project, "name": MODEL, "version": v1}), "deploy_not_allowed")
    assert "Reporter" in body["details"]
    # after the flow above (production v1, v2 deployed before it): the rollback to v2 is refused the same way
    refused(reporter.post("models/rollback", {"project": project, "name": MODEL}), "deploy_not_allowed")
    # the XSRF token is required on a POST, as for every jupyter-server route
    no_xsrf = dev.post("models/promote", {"project": project, "name": MODEL, "version": v1}, xsrf=False)
    assert no_xsrf.status_code == 403 and no_xsrf.json()["reason"] == "forbidden", no_xsrf.text[:300]
    # unknown and malformed versions
    refused(dev.post("models/promote", {"project": project, "name": MODEL, "version": "9.9.9"}), "no_such_version")
    refused(dev.get("models/lineage", project=project, name=MODEL, version="9.9.9"), "no_such_version")
    refused(dev.post("models/reproduce", {"project": project, "name": MODEL, "version": "9.9.9"}), "no_such_version")
    refused(dev.post("models/promote", {"project": project, "name": MODEL, "version": "latest"}), "invalid_version")
    refused(dev.get("models/versions", project=project, name="no-such-model"), "no_such_model")
    assert jobs(ci) == before

    # a version whose test gate failed: refused with why, its deploy job untouched
    failed = launch(lab, project, "train.csv", MIN_ACCURACY="0.9999")
    assert ci.job(failed, "test").status == "failed"
    waiting = ci.job(failed, "deploy").status
    body = refused(dev.post("models/promote", {"project": project, "name": MODEL, "version": f"1.0.{failed.id}"}), "gate_failed")
    assert "0.9999" in body["details"]
    (shown,) = [v for v in dev.ok(dev.get("models/versions", project=project, name=MODEL))["versions"]
                if v["version"] == f"1.0.{failed.id}"]  # fmt: skip
    assert shown["gate"]["passed"] is False and shown["deploy"] == {"allowed": False, "reason": "gate_failed"}
    assert ci.job(failed, "deploy").status == waiting


def test_an_expired_token_is_renewed_through_the_hub_and_the_registry_uses_the_new_one(lab, project, first):
    """Three hours on (GitLab's OAuth tokens live two): GitLab refuses the server's token, the server
    gets a fresh one from the hub, and the registry's calls that follow use it."""
    dev = lab.panels["dev"]
    old = lab.hub.api("GET", "users/dev").json()["auth_state"]["access_token"]
    seen = len(lab.hub.log())
    lab.standin.world.clock.advance(3 * 3600)  # after the last job the runner runs with its own token
    assert lab.standin.world.tokens[old].expired
    listed = dev.ok(dev.get("models/versions", project=project, name=MODEL))
    assert f"1.0.{first.id}" in [v["version"] for v in listed["versions"]] and listed["production"]
    lineage = dev.ok(dev.get("models/lineage", project=project, name=MODEL, version=f"1.0.{first.id}"))
    assert lineage["metrics"]["accuracy"] > 0  # read from the registry's run with the new token
    fresh = lab.hub.api("GET", "users/dev").json()["auth_state"]["access_token"]
    assert fresh != old and not lab.standin.world.tokens[fresh].expired
    assert "GitLab token renewed through the hub" in lab.hub.log()[seen:]


def test_a_token_gitlab_revoked_is_refused_with_a_reason_and_nothing_runs(lab, project, first):
    """The user revoked the hub's access in GitLab (Doorkeeper revokes the access and the refresh
    token together): the server asks the hub for a fresh token, the hub's refresh is refused, and
    every route says ``token_expired`` (the catalog's text: log in again) — the project is the first
    thing a route asks GitLab, before the registry."""
    dev, ci = lab.panels["dev"], lab.ci
    token = lab.hub.api("GET", "users/dev").json()["auth_state"]["access_token"]
    lab.standin.world.tokens[token].revoked = True
    seen, before = len(lab.hub.log()), jobs(ci)
    for response in (
        dev.get("models", project=project),
        dev.get("models/versions", project=project, name=MODEL),
        dev.get("models/lineage", project=project, name=MODEL, version=f"1.0.{first.id}"),
        dev.post("models/promote", {"project": project, "name": MODEL, "version": f"1.0.{first.id}"}),
        dev.post("models/rollback", {"project": project, "name": MODEL}),
        dev.post("models/reproduce", {"project": project, "name": MODEL, "version": f"1.0.{first.id}"}),
    ):
        refused(response, "token_expired")
    assert jobs(ci) == before
    log = lab.hub.log()[seen:]
    assert "Renewing dev's GitLab token for their server" in log  # the hub was asked, as production does
    assert "The hub did not renew the GitLab token (HTTP 401)" in log
    assert dev.ok(dev.get("models/config"))["registry"] == "gitlab"  # the panel still opens, and says why


def test_no_traceback_and_no_token_in_the_log_or_the_answers(lab):
    secrets = [t for token in lab.standin.world.tokens.values() for t in (token.value, token.refresh)]
    log = lab.hub.log()  # the hub's log holds its spawned servers' output (LocalProcessSpawner)
    assert "hybridhub" in log and "/hybridhub/models" in log
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-4000:]
    assert not [s for s in secrets if s in log]
    answers = [a for panel in lab.panels.values() for a in panel.answers]
    assert answers and not [s for s in secrets for a in answers if s in a]
