"""A self-hosted GitLab behind a company CA (HTTPS stand-in), and the authenticator's hooks
in-process: groups from GitLab, the token into the spawner's environment only."""

from __future__ import annotations

import ssl
from types import SimpleNamespace

import pytest

from hybridhub.hub_ext.gitlab import HybridGitLabOAuthenticator
from hybridhub.hub_ext.gitlab.login import login_texts, negotiate
from hybridhub.lab_ext.git.errors import GitError
from hybridhub.lab_ext.git.gitlab_api import GitLabActions
from hybridhub.lab_ext.git.repo import GitService
from hybridhub.lab_ext.git.settings import GitSettings
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.state import DEVELOPER

from .conftest import ALL_SCOPES, git, seed

pytestmark = pytest.mark.gitlab


@pytest.fixture
def tls_gitlab(tmp_path):
    standin = GitLabStandIn(tmp_path / "gitlab", tls=True).start()
    w = standin.world
    alice = w.add_user("alice")
    w.add_group("ml-team", {alice: DEVELOPER})
    for i in range(105):  # more than one page of groups
        w.add_group(f"team-{i:03d}", {alice: 10})
    project = w.add_project("ml-team", "notebooks", {alice: DEVELOPER})
    seed(project.repo, tmp_path)
    root = tmp_path / "server-root"
    root.mkdir()
    git(root, "clone", "-q", str(project.repo), "notebooks")
    git(root / "notebooks", "remote", "set-url", "origin", f"{standin.url}/ml-team/notebooks.git")
    try:
        yield standin, root, w.issue(alice, ALL_SCOPES).value
    finally:
        standin.stop()
    assert standin.violations == []


async def test_git_and_api_over_https_with_the_company_ca(tls_gitlab):
    gitlab, root, token = tls_gitlab
    trusted = GitService(root, GitSettings(gitlab.url, token, str(gitlab.ca_bundle)))
    await trusted.create_branch("notebooks", "tls")
    (root / "notebooks" / "t.ipynb").write_text("{}\n")
    await trusted.stage("notebooks", ["t.ipynb"])
    await trusted.commit("notebooks", "over TLS")
    await trusted.push("notebooks")
    assert [p["path"] for p in await GitLabActions(trusted).projects()] == ["notebooks"]

    untrusted = GitService(root, GitSettings(gitlab.url, token))
    with pytest.raises(GitError) as info:
        await untrusted.pull("notebooks")
    assert info.value.reason == "gitlab_unreachable" and "CA bundle" in info.value.message
    with pytest.raises(GitError) as info:
        await GitLabActions(untrusted).projects()
    assert info.value.reason == "gitlab_unreachable" and "CA bundle" in info.value.message


async def test_authenticator_trusts_the_ca_bundle_and_reads_all_group_pages(tls_gitlab):
    gitlab, _, token = tls_gitlab
    auth = HybridGitLabOAuthenticator(gitlab_url=gitlab.url, gitlab_ca_bundle=str(gitlab.ca_bundle))
    assert auth.http_request_kwargs == {"ca_certs": str(gitlab.ca_bundle)}
    assert auth.enable_auth_state and auth.manage_groups and auth.refresh_pre_spawn
    assert {"read_user", "api", "write_repository"} <= set(auth.scope)
    groups = await auth.get_user_groups({"access_token": token})
    assert len(groups) == 106 and "ml-team" in groups
    strict = HybridGitLabOAuthenticator(gitlab_url=gitlab.url)
    with pytest.raises(ssl.SSLError):
        await strict.get_user_groups({"access_token": token})


class FakeUser:
    name = "alice"

    def __init__(self, auth_state):
        self._state = auth_state

    async def get_auth_state(self):
        return self._state


def _trait_values(spawner) -> dict:
    return {name: repr(getattr(spawner, name)) for name in spawner.trait_names() if name != "environment"}


async def test_pre_spawn_start_puts_the_token_in_the_environment_only():
    from hybridhub.spawner.local import HybridLocalSpawner

    auth = HybridGitLabOAuthenticator(gitlab_url="https://gitlab.example.com")
    state = {
        "access_token": "glpat-secret-value",
        "refresh_token": "refresh-secret",
        "gitlab_user": {"username": "alice", "name": "Alice Analyst", "email": "alice@example.com"},
    }
    user = SimpleNamespace(name="alice", id=1, url="/user/alice/", escaped_name="alice", server=None)
    spawner = HybridLocalSpawner(user=user, hub=SimpleNamespace(api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/"))
    before = _trait_values(spawner)
    await auth.pre_spawn_start(FakeUser(state), spawner)
    env = spawner.environment
    assert env["HYBRIDHUB_GITLAB_TOKEN"] == "glpat-secret-value"
    assert env["HYBRIDHUB_GITLAB_URL"] == "https://gitlab.example.com"
    assert env["GIT_AUTHOR_NAME"] == "Alice Analyst" and env["GIT_COMMITTER_EMAIL"] == "alice@example.com"
    assert _trait_values(spawner) == before  # nothing but the environment changed
    assert "refresh-secret" not in repr(env)

    # a user without GitLab auth_state starts without a stale token
    await auth.pre_spawn_start(FakeUser(None), spawner)
    assert "HYBRIDHUB_GITLAB_TOKEN" not in spawner.environment


def test_language_negotiation():
    assert negotiate("ja") == "ja"
    assert negotiate("en-US,en;q=0.9,ja;q=0.8") == "en"
    assert negotiate("ja-JP;q=0.9,en;q=0.5") == "ja"
    assert negotiate("fr, de;q=0.5") == "en"
    assert negotiate("ja;q=0, en;q=0.1") == "en"
    assert negotiate(None) == "en" and negotiate("garbage;;q=x") == "en"
    assert login_texts("ja", "GitLab")["sign_in"] == "GitLab でログイン"
    assert login_texts("en", "Company GitLab")["sign_in"] == "Log in with Company GitLab"
