"""Demo mode through jupyter-server: push to the local remote works, GitLab actions say
"GitLab is not configured"."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import git

pytestmark = pytest.mark.gitlab


@pytest.fixture
def jp_root_dir(local_workspace):
    return local_workspace


@pytest.fixture
def jp_server_config(monkeypatch, local_workspace):
    monkeypatch.delenv("HYBRIDHUB_GITLAB_URL", raising=False)
    monkeypatch.delenv("HYBRIDHUB_GITLAB_TOKEN", raising=False)
    monkeypatch.setenv("HYBRIDHUB_GIT_REMOTE_URL", git(local_workspace, "remote", "get-url", "origin").strip())
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def post(jp_fetch, route, body):
    return json.loads((await jp_fetch("hybridhub", "git", route, method="POST", body=json.dumps(body))).body)


async def test_demo_push_goes_to_the_local_remote(jp_fetch, local_workspace, tmp_path):
    (local_workspace / "demo.ipynb").write_text("{}\n")
    await post(jp_fetch, "stage", {"files": ["demo.ipynb"]})
    commit = await post(jp_fetch, "commit", {"message": "demo commit"})
    assert await post(jp_fetch, "push", {}) == {"branch": "main", "remote": "origin"}
    assert git(tmp_path / "git" / "demo.git", "rev-parse", "main").strip() == commit["commit"]
    status = json.loads((await jp_fetch("hybridhub", "git", "status")).body)
    assert status["gitlab_configured"] is False and status["on_gitlab"] is False


async def test_gitlab_actions_say_not_configured(jp_fetch):
    for route, body in [("merge-request", {"title": "MR"}), ("clone", {"project": "a/b"})]:
        with pytest.raises(HTTPClientError) as info:
            await post(jp_fetch, route, body)
        data = json.loads(info.value.response.body)
        assert info.value.code == 409 and data["reason"] == "gitlab_not_configured"
        assert data["message"].startswith("GitLab is not configured")
    config = json.loads((await jp_fetch("hybridhub", "git", "config")).body)
    assert config == {"gitlab_configured": False, "gitlab_url": "", "token_present": False}
