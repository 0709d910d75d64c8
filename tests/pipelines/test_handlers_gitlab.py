"""With GitLab configured, the routes offer both backends and drive GitLab through the
stand-in; the user's token never reaches a response or a log line."""

from __future__ import annotations

import json
import logging

import pytest
from tornado.httpclient import HTTPClientError

from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.pipelines import install
from tests.gitlab_standin.state import DEVELOPER, MAINTAINER

from .conftest import push_template

pytestmark = pytest.mark.pipelines


@pytest.fixture
def standin(tmp_path):
    gitlab = GitLabStandIn(tmp_path / "gitlab").start()
    try:
        install(gitlab)
        alice = gitlab.world.add_user("alice")
        project = gitlab.world.add_project("ml-team", "sensors", {alice: DEVELOPER})
        project.protect("main", push=MAINTAINER, merge=DEVELOPER)  # as the team's Maintainer set it up
        push_template(project.repo, tmp_path / "seed")
        gitlab.token = gitlab.world.issue(alice, ["api"]).value
        gitlab.project = project
        yield gitlab
    finally:
        gitlab.stop()
    assert gitlab.violations == []


@pytest.fixture
def jp_server_config(monkeypatch, standin):
    monkeypatch.setenv("HYBRIDHUB_GITLAB_URL", standin.url)
    monkeypatch.setenv("HYBRIDHUB_GITLAB_TOKEN", standin.token)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def test_gitlab_backend_through_the_server(jp_fetch, jp_serverapp, standin, caplog):
    caplog.set_level(logging.DEBUG)
    # the HTTP client's request lines too: kubernetes_asyncio's Configuration() sets "urllib3" to WARNING
    caplog.set_level(logging.DEBUG, logger="urllib3")
    bodies = []

    async def call(*path, body=None, **params):
        if body is None:
            response = await jp_fetch("hybridhub", "pipelines", *path, params=params)
        else:
            response = await jp_fetch("hybridhub", "pipelines", *path, method="POST", body=json.dumps(body))
        bodies.append(response.body.decode())
        return json.loads(response.body)

    config = await call("config")
    assert config["backends"] == ["gitlab", "local"] and config["default"] == "gitlab"
    assert config["gitlab_url"] == standin.url
    project = str(standin.project.id)
    assert (await call("projects"))["projects"][0]["path"] == "ml-team/sensors"
    created = await call("runs", body={"backend": "gitlab", "project": project, "ref": "main",
                                       "variables": [{"key": "DATA_VERSION", "value": "abc"}],
                                       "request_id": "gl-handler-0001"})  # fmt: skip
    assert created["web_url"].startswith(standin.url) and created["backend"] == "gitlab"
    view = await call("runs", str(created["id"]), project=project, backend="gitlab")
    assert view["variables"] == [{"key": "DATA_VERSION", "value": "abc"}]
    standin.offline = True
    with pytest.raises(HTTPClientError) as info:
        await call("runs", str(created["id"]), project=project, backend="gitlab")
    standin.offline = False
    assert info.value.code == 503 and json.loads(info.value.response.body)["reason"] == "gitlab_unreachable"
    service = jp_serverapp.web_app.settings["hybridhub"]["pipelines"]
    await service.close()
    assert standin.token not in "".join(bodies) + caplog.text


async def test_refusals_of_a_protected_or_restricted_project_reach_the_panel_as_their_reasons(jp_fetch, standin):
    project = str(standin.project.id)

    async def launch(variables, request_id):
        body = {"backend": "gitlab", "project": project, "ref": "main", "variables": variables, "request_id": request_id}
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("hybridhub", "pipelines", "runs", method="POST", body=json.dumps(body))
        return info.value.code, json.loads(info.value.response.body)

    standin.project.ci_pipeline_variables_minimum_override_role = "maintainer"
    code, body = await launch([{"key": "EPOCHS", "value": "3"}], "gl-refusal-0001")
    assert (code, body["reason"]) == (403, "variables_not_allowed") and "Settings > CI/CD > Variables" in body["message"]
    standin.project.protect("main")  # fully protected: a Developer may neither push nor merge
    code, body = await launch([], "gl-refusal-0002")
    assert (code, body["reason"]) == (403, "protected_ref") and "new branch" in body["message"]
