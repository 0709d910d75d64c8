"""The git routes through a real jupyter-server: authentication, authorization, JSON errors
with reason codes, and no token in any response or log line."""

from __future__ import annotations

import json
import logging

import pytest
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.gitlab


@pytest.fixture
def jp_root_dir(workspace):
    return workspace


@pytest.fixture
def jp_server_config(monkeypatch, world):
    monkeypatch.setenv("HYBRIDHUB_GITLAB_URL", world.gitlab.url)
    monkeypatch.setenv("HYBRIDHUB_GITLAB_TOKEN", world.token)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def call(jp_fetch, route: str, body: dict | None = None, **params):
    if body is None:
        response = await jp_fetch("hybridhub", "git", route, params=params)
    else:
        response = await jp_fetch("hybridhub", "git", route, method="POST", body=json.dumps(body))
    return response, json.loads(response.body)


async def expect_error(jp_fetch, route: str, body: dict | None = None, **params) -> tuple[int, dict, str]:
    with pytest.raises(HTTPClientError) as info:
        await call(jp_fetch, route, body, **params)
    text = info.value.response.body.decode()
    return info.value.code, json.loads(text), text


async def test_routes_require_authentication(jp_fetch):
    for route in ("status", "config", "branches"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("hybridhub", "git", route, params={"path": "notebooks"}, headers={"Authorization": "token wrong"})
        assert info.value.code in (401, 403)


async def test_routes_are_authorized_on_the_hybridhub_resource(jp_serverapp, jp_fetch):
    from jupyter_server.auth.authorizer import Authorizer

    class Deny(Authorizer):
        def is_authorized(self, handler, user, action, resource):
            return resource != "hybridhub"

    jp_serverapp.web_app.settings["authorizer"] = Deny(parent=jp_serverapp, identity_provider=jp_serverapp.identity_provider)
    with pytest.raises(HTTPClientError) as info:
        await call(jp_fetch, "push", {"path": "notebooks"})
    assert info.value.code == 403


async def test_commit_and_push_through_the_server(jp_fetch, workspace, world, caplog):
    caplog.set_level(logging.DEBUG)
    # the HTTP client's request lines too: kubernetes_asyncio's Configuration() sets "urllib3" to WARNING
    caplog.set_level(logging.DEBUG, logger="urllib3")
    (workspace / "notebooks" / "new.ipynb").write_text("{}\n")
    seen = []
    _, status = await call(jp_fetch, "status", path="notebooks")
    assert status["on_gitlab"] and [f["name"] for f in status["files"]] == ["new.ipynb"]
    for route, body in [
        ("branches", {"path": "notebooks", "name": "feature"}),
        ("stage", {"path": "notebooks", "files": ["new.ipynb"]}),
        ("commit", {"path": "notebooks", "message": "Add"}),
        ("push", {"path": "notebooks"}),
        ("merge-request", {"path": "notebooks", "title": "Add a notebook"}),
    ]:
        response, data = await call(jp_fetch, route, body)
        seen.append(response.body.decode())
    assert data["web_url"].endswith("/ml-team/notebooks/-/merge_requests/1")
    _, config = await call(jp_fetch, "config")
    assert config == {"gitlab_configured": True, "gitlab_url": world.gitlab.url, "token_present": True}
    _, projects = await call(jp_fetch, "projects", search="note")
    seen += [json.dumps(config), json.dumps(projects)]
    assert all(world.token not in text for text in seen)
    assert world.token not in caplog.text


async def test_rejected_push_answers_with_a_reason(jp_fetch, workspace, world, caplog):
    (workspace / "notebooks" / "x.ipynb").write_text("{}\n")
    await call(jp_fetch, "stage", {"path": "notebooks", "files": ["x.ipynb"]})
    await call(jp_fetch, "commit", {"path": "notebooks", "message": "on main"})
    code, body, text = await expect_error(jp_fetch, "push", {"path": "notebooks"})
    assert code == 403 and body["reason"] == "protected_branch" and "merge request" in body["message"]
    world.gitlab.world.expire(world.token)
    code, body, text = await expect_error(jp_fetch, "pull", {"path": "notebooks"})
    assert code == 401 and body["reason"] == "token_expired"
    assert world.token not in text and world.token not in caplog.text


async def test_bad_requests(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "git", "commit", method="POST", body="not json")
    assert info.value.code == 400 and json.loads(info.value.response.body)["reason"] == "invalid_request"
    code, body, _ = await expect_error(jp_fetch, "status", path="../..")
    assert code == 400 and body["reason"] == "invalid_path"
    code, body, _ = await expect_error(jp_fetch, "stage", {"path": "notebooks", "files": "a"})
    assert code == 400 and body["reason"] == "invalid_request"
