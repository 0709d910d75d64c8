"""GitLab login through a real JupyterHub against the GitLab stand-in: group rules, encrypted
auth_state with refresh, the token in the user server's environment (and nowhere else), the
localized login page, and a push from the spawned server with the refreshed token."""

from __future__ import annotations

import sqlite3
from urllib.parse import urljoin

import pytest
import requests

from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.state import DEVELOPER, MAINTAINER, REPORTER

from .conftest import seed
from .hub import clone_home, gitlab_login, serving, stop_server, wait_ready

pytestmark = pytest.mark.gitlab


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("login")
    gitlab = GitLabStandIn(root / "gitlab").start()
    w = gitlab.world
    users = {name: w.add_user(name) for name in ("alice", "bob", "carol")}
    w.add_group("ml-team", {users["alice"]: DEVELOPER, users["carol"]: MAINTAINER})
    w.add_group("hub-admins", {users["carol"]: REPORTER})
    project = w.add_project("ml-team", "notebooks", {users["alice"]: DEVELOPER})
    seed(project.repo, root)
    clone_home(root, gitlab, project, "alice")
    with serving(root, gitlab) as hub:
        yield gitlab, users, hub, project


def issued_tokens(gitlab, user) -> list[str]:
    return [t for token in gitlab.world.tokens.values() if token.user is user for t in (token.value, token.refresh)]


def test_login_page_speaks_the_browser_language(setup):
    _, _, hub, _ = setup
    ja = requests.get(urljoin(hub.url, "hub/login"), headers={"Accept-Language": "ja,en-US;q=0.8"}, timeout=30)
    page = ja.content.decode("utf-8")  # the page declares <meta charset="utf-8">
    assert "GitLab でログイン" in page and 'lang="ja"' in page
    en = requests.get(urljoin(hub.url, "hub/login"), headers={"Accept-Language": "fr-FR,en;q=0.5"}, timeout=30)
    assert "Log in with GitLab" in en.text and 'lang="en"' in en.text
    assert "hub/oauth_login" in en.text


def test_member_of_the_allowed_group_logs_in(setup):
    gitlab, users, hub, _ = setup
    browser, callback = gitlab_login(hub, gitlab, users["alice"])
    assert callback.status_code == 302, callback.text
    model = hub.api("GET", "users/alice").json()
    assert model["admin"] is False and "ml-team" in model["groups"]
    # auth_state: the token response is kept, encrypted at rest
    state = hub.api("GET", "users/alice").json()["auth_state"]
    assert state["access_token"] in issued_tokens(gitlab, users["alice"]) and state["refresh_token"]
    db = sqlite3.connect(hub.root / "jupyterhub.sqlite")
    rows = db.execute("select name, encrypted_auth_state from users").fetchall()
    db.close()
    blob = dict(rows)["alice"]
    assert blob and state["access_token"].encode() not in blob and state["refresh_token"].encode() not in blob
    # what the browser sees of itself holds no token
    for path in ("hub/api/user", "hub/home", "hub/token"):
        page = browser.get(urljoin(hub.url, path), timeout=30)
        assert page.status_code == 200, path
        assert state["access_token"] not in page.text and state["refresh_token"] not in page.text
    assert "auth_state" not in browser.get(urljoin(hub.url, "hub/api/user"), timeout=30).json()


def test_user_outside_the_allowed_groups_is_refused(setup):
    gitlab, users, hub, _ = setup
    _, callback = gitlab_login(hub, gitlab, users["bob"])
    assert callback.status_code == 403
    assert hub.api("GET", "users/bob").status_code == 404


def test_member_of_the_admin_group_is_admin(setup):
    gitlab, users, hub, _ = setup
    _, callback = gitlab_login(hub, gitlab, users["carol"])
    assert callback.status_code == 302
    assert hub.api("GET", "users/carol").json()["admin"] is True


def test_spawn_refreshes_the_token_and_the_server_pushes_with_it(setup):
    gitlab, users, hub, project = setup
    alice = users["alice"]
    gitlab_login(hub, gitlab, alice)
    old = hub.api("GET", "users/alice").json()["auth_state"]["access_token"]
    gitlab.world.expire(old)  # two hours later...
    assert hub.api("POST", "users/alice/server").status_code in (201, 202)
    try:
        wait_ready(hub, "alice")
        fresh = hub.api("GET", "users/alice").json()["auth_state"]["access_token"]
        assert fresh != old and not gitlab.world.tokens[fresh].expired
        token = hub.api("POST", "users/alice/tokens", json={"scopes": ["access:servers!user=alice"]}).json()["token"]
        api = urljoin(hub.url, "user/alice/hybridhub/git/")
        headers = {"Authorization": f"token {token}"}
        (hub.root / "users" / "alice" / "trained.ipynb").write_text("{}\n")
        for step, body in [
            ("branches", {"path": "", "name": "experiment"}),
            ("stage", {"path": "", "files": ["trained.ipynb"]}),
            ("commit", {"path": "", "message": "Train"}),
            ("push", {"path": ""}),
        ]:
            response = requests.post(api + step, json=body, headers=headers, timeout=60)
            assert response.status_code == 200, (step, response.text)
            assert fresh not in response.text and old not in response.text
        assert project.has_branch("experiment")
        status = requests.get(api + "config", headers=headers, timeout=30).json()
        assert status == {"gitlab_configured": True, "gitlab_url": gitlab.url, "token_present": True}
    finally:
        stop_server(hub, "alice")
    log = hub.log()
    assert "GitLab token handed to alice's server environment" in log  # the debug log was written
    for secret in issued_tokens(gitlab, alice):
        assert secret not in log
    assert all(fresh not in line for line in gitlab.log)
