"""Tokens that stay valid, through a real JupyterHub and the GitLab stand-in: a server that runs
for three (simulated) hours still pushes, opens a merge request and launches a pipeline, because
it renews its GitLab token through the hub with its own credentials; that route gives a server
its own user's access token only, never the refresh token, and nothing else gets an answer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from hybridhub.lab_ext.gitlab_token import GitLabTokenSource
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.pipelines import install
from tests.gitlab_standin.state import DEVELOPER
from tests.pipelines.conftest import push_template

from .hub import clone_home, gitlab_login, serving, server_environ, stop_server, wait_ready

pytestmark = pytest.mark.gitlab

THREE_HOURS = 3 * 3600


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokens")
    gitlab = GitLabStandIn(root / "gitlab").start()
    install(gitlab)
    w = gitlab.world
    users = {name: w.add_user(name) for name in ("alice", "bob")}
    w.add_group("ml-team", {users["alice"]: DEVELOPER, users["bob"]: DEVELOPER})
    project = w.add_project("ml-team", "notebooks", {users["alice"]: DEVELOPER, users["bob"]: DEVELOPER})
    push_template(project.repo, root / "seed")  # a .gitlab-ci.yml to launch
    for name in users:
        clone_home(root, gitlab, project, name)
    with serving(root, gitlab) as hub:
        yield gitlab, users, hub, project


def start_server(hub, gitlab, user) -> requests.Session:
    """Log ``user`` in, start their server; a session that reaches it with a user API token."""
    gitlab_login(hub, gitlab, user)
    assert hub.api("POST", f"users/{user.username}/server").status_code in (201, 202)
    wait_ready(hub, user.username)
    scope = f"access:servers!user={user.username}"
    token = hub.api("POST", f"users/{user.username}/tokens", json={"scopes": [scope]}).json()["token"]
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    return session


def secrets_of(gitlab, user) -> list[str]:
    return [t for token in gitlab.world.tokens.values() if token.user is user for t in (token.value, token.refresh)]


def ask_hub(hub, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.post(urljoin(hub.url, "hub/api/hybridhub/gitlab-token"), headers=headers, timeout=30, **kwargs)


def files_holding(folder: Path, needles: list[str]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}" for needle in needles if needle.encode() in data]
    return found


def test_a_server_running_three_hours_pushes_opens_a_merge_request_and_launches_a_pipeline(setup):
    gitlab, users, hub, project = setup
    alice = users["alice"]
    browser = start_server(hub, gitlab, alice)
    try:
        first = hub.api("GET", "users/alice").json()["auth_state"]["access_token"]
        env = server_environ(hub, "alice")
        assert env["HYBRIDHUB_GITLAB_TOKEN"] == first and float(env["HYBRIDHUB_GITLAB_TOKEN_EXPIRES_AT"]) > 0
        assert not any(value in secrets_of(gitlab, alice) for key, value in env.items() if key != "HYBRIDHUB_GITLAB_TOKEN")

        gitlab.world.clock.advance(THREE_HOURS)  # the server keeps running; GitLab's clock moves on
        assert gitlab.world.tokens[first].expired

        api = urljoin(hub.url, "user/alice/hybridhub/")
        (hub.root / "users" / "alice" / "after-lunch.ipynb").write_text("{}\n")
        answers = []
        for route, body in [
            ("git/branches", {"path": "", "name": "after-lunch"}),
            ("git/stage", {"path": "", "files": ["after-lunch.ipynb"]}),
            ("git/commit", {"path": "", "message": "Three hours later"}),
            ("git/push", {"path": ""}),
            ("git/merge-request", {"path": "", "title": "Three hours later"}),
            ("pipelines/runs", {"backend": "gitlab", "project": str(project.id), "ref": "after-lunch", "variables": []}),
        ]:
            response = browser.post(api + route, json=body, timeout=60)
            answers.append(response.text)
            assert response.status_code in (200, 201), (route, response.text)
        assert project.has_branch("after-lunch")
        assert [mr["source_branch"] for mr in project.merge_requests] == ["after-lunch"]
        assert [p.ref for p in gitlab.ci.pipelines.values()] == ["after-lunch"]

        fresh = hub.api("GET", "users/alice").json()["auth_state"]["access_token"]
        assert fresh != first and not gitlab.world.tokens[fresh].expired
        assert gitlab.world.tokens[first].revoked  # rotated: the refresh token the hub used is spent
        assert browser.get(api + "git/config", timeout=30).json()["token_present"] is True
    finally:
        stop_server(hub, "alice")
    secrets = secrets_of(gitlab, alice)
    assert not any(secret in answer for secret in secrets for answer in answers)  # nothing to the browser
    log = hub.log()
    assert "Renewing alice's GitLab token for their server" in log  # the hub's and the server's log
    assert "GitLab token renewed through the hub" in log
    assert not [secret for secret in secrets if secret in log]
    assert not files_holding(hub.root / "users", secrets)  # never written into a workspace
    assert all(secret not in line for secret in secrets for line in gitlab.log)


def test_the_token_route_answers_a_server_with_its_own_users_access_token_only(setup):
    gitlab, users, hub, _ = setup
    alice, bob = users["alice"], users["bob"]
    start_server(hub, gitlab, alice)
    start_server(hub, gitlab, bob)
    try:
        alice_env, bob_env = server_environ(hub, "alice"), server_environ(hub, "bob")
        mine = ask_hub(hub, alice_env["JUPYTERHUB_API_TOKEN"])
        assert mine.status_code == 200 and set(mine.json()) == {"access_token", "expires_at"}
        assert gitlab.world.tokens[mine.json()["access_token"]].user is alice
        assert mine.headers["Cache-Control"] == "no-store"
        bobs = ask_hub(hub, bob_env["JUPYTERHUB_API_TOKEN"], json={"stale": mine.json()["access_token"]})
        assert bobs.status_code == 200 and gitlab.world.tokens[bobs.json()["access_token"]].user is bob
        # alice's server naming bob's token gets alice's own (there is no way to name another user)
        again = ask_hub(hub, alice_env["JUPYTERHUB_API_TOKEN"], json={"stale": bobs.json()["access_token"]})
        assert gitlab.world.tokens[again.json()["access_token"]].user is alice
        for answer in (mine, bobs, again):
            assert not any(token.refresh in answer.text for token in gitlab.world.tokens.values())

        # anything but a server's own token is refused: alice's own API token, an admin service,
        # her browser's cookie, nothing at all
        own = hub.api("POST", "users/alice/tokens", json={"note": "Server at /user/alice/"}).json()["token"]
        assert ask_hub(hub, own).status_code == 403
        assert ask_hub(hub, hub.service_token).status_code == 403
        browser, _ = gitlab_login(hub, gitlab, alice)
        cookie = browser.post(urljoin(hub.url, "hub/api/hybridhub/gitlab-token"), timeout=30)
        assert cookie.status_code == 403 and "access_token" not in cookie.text
        assert ask_hub(hub).status_code == 403
        bad = ask_hub(hub, alice_env["JUPYTERHUB_API_TOKEN"], json={"stale": 5})
        assert bad.status_code == 400

        # the server side: a token about to expire is renewed through the hub
        source = GitLabTokenSource(
            "not-the-current-token", 1.0, hub_api_url=alice_env["JUPYTERHUB_API_URL"],
            hub_api_token=alice_env["JUPYTERHUB_API_TOKEN"],
        )  # fmt: skip
        assert source.expiring() and asyncio.run(source.renew())
        assert gitlab.world.tokens[source.current()].user is alice and source.expires_at > 1.0
    finally:
        stop_server(hub, "alice")
        stop_server(hub, "bob")
    # a stopped server's token is gone with it
    assert ask_hub(hub, alice_env["JUPYTERHUB_API_TOKEN"]).status_code == 403


def test_a_pipeline_panel_used_before_the_token_expired_still_launches(setup):
    gitlab, users, hub, project = setup
    browser = start_server(hub, gitlab, users["alice"])
    api = urljoin(hub.url, "user/alice/hybridhub/pipelines/runs")
    try:
        listed = browser.get(api, params={"backend": "gitlab", "project": str(project.id)}, timeout=60)
        assert listed.status_code == 200, listed.text
        gitlab.world.clock.advance(THREE_HOURS)
        body = {"backend": "gitlab", "project": str(project.id), "ref": "after-lunch", "variables": []}
        launched = browser.post(api, json=body, timeout=60)
        assert launched.status_code == 201, launched.text
    finally:
        stop_server(hub, "alice")
