"""Git never blocks the server: while a push waits on a silent GitLab, other requests (and
other repositories) are answered at once, and the push ends with ``git_timeout``."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import git

pytestmark = pytest.mark.gitlab


@pytest.fixture
def silent_gitlab():
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def jp_root_dir(local_workspace):
    return local_workspace.parent


@pytest.fixture
def jp_server_config(monkeypatch, silent_gitlab, local_workspace):
    git(local_workspace, "remote", "set-url", "origin", f"{silent_gitlab}/group/demo.git")
    monkeypatch.setenv("HYBRIDHUB_GITLAB_URL", silent_gitlab)
    monkeypatch.setenv("HYBRIDHUB_GITLAB_TOKEN", "token-for-a-silent-server")
    return {
        "ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}},
        "CodeHomeConfig": {"git_network_timeout": 3.0},
    }


async def test_a_hanging_push_blocks_nothing(jp_fetch, local_workspace):
    git(local_workspace.parent, "init", "-q", "other")
    push = asyncio.ensure_future(jp_fetch("hybridhub", "git", "push", method="POST", body=json.dumps({"path": "demo"})))
    await asyncio.sleep(0.5)  # the push is now waiting on the network
    start = time.monotonic()
    await jp_fetch("api", "status")
    other = json.loads((await jp_fetch("hybridhub", "git", "status", params={"path": "other"})).body)
    assert other["repository"] == "other"
    assert time.monotonic() - start < 1.0 and not push.done()
    with pytest.raises(HTTPClientError) as info:
        await push
    body = json.loads(info.value.response.body)
    assert info.value.code == 504 and body["reason"] == "git_timeout"
