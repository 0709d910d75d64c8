"""Push and pull over real smart-HTTP git (git http-backend behind the stand-in), with the token
handed to git through GIT_ASKPASS only."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hybridhub.lab_ext.git import runner
from hybridhub.lab_ext.git.errors import GitError
from hybridhub.lab_ext.git.repo import GitService

from .conftest import git

pytestmark = pytest.mark.gitlab


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def commit_change(service: GitService, name: str, text: str, repo: str = "notebooks") -> None:
    write(service.root / repo / name, text)
    await service.stage(repo, [name])
    await service.commit(repo, f"change {name}")


def remote_branch(world, branch: str) -> str:
    return git(world.project.repo, "rev-parse", f"refs/heads/{branch}").strip()


def files_under(path: Path):
    for item in path.rglob("*"):
        if item.is_file():
            yield item


async def test_push_with_the_token_leaves_no_trace(service, workspace, world, tmp_path, monkeypatch):
    home = tmp_path / "fake-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    repo = workspace / "notebooks"
    # a user-configured helper that would store credentials on disk must not see the token
    git(repo, "config", "credential.helper", "store")
    await service.create_branch("notebooks", "feature")
    await commit_change(service, "model.ipynb", '{"cells": []}\n')
    assert await service.push("notebooks") == {"branch": "feature", "remote": "origin"}
    assert remote_branch(world, "feature") == git(repo, "rev-parse", "HEAD").strip()

    token = world.token
    assert token not in git(repo, "remote", "get-url", "origin")
    for path in [*files_under(repo / ".git"), *files_under(home), runner.askpass_program()]:
        assert token.encode() not in path.read_bytes(), path
    assert not (home / ".git-credentials").exists()
    assert all(token not in line for line in world.gitlab.log)
    assert any(line.startswith("POST /ml-team/notebooks.git/git-receive-pack") for line in world.gitlab.log)
    status = await service.status("notebooks")
    assert status["on_gitlab"] and status["ahead"] == 0 and status["upstream"] == "origin/feature"


async def test_local_git_commands_never_see_the_token(service, workspace, world, tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDHUB_GITLAB_TOKEN", world.token)  # as in a real user server
    dump = tmp_path / "hook-env"
    hook = workspace / "notebooks" / ".git" / "hooks" / "post-commit"
    hook.write_text(f"#!/bin/sh\nenv > {dump}\n")
    hook.chmod(0o755)
    await commit_change(service, "a.ipynb", "{}\n")
    env_text = dump.read_text()
    assert world.token not in env_text and "HYBRIDHUB_" not in env_text
    assert "GIT_TERMINAL_PROMPT=0" in env_text


async def test_push_hands_the_token_only_to_the_askpass_variable(service, workspace, world, tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDHUB_GITLAB_TOKEN", world.token)
    dump = tmp_path / "pre-push-env"
    hook = workspace / "notebooks" / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\nenv > {dump}\n")
    hook.chmod(0o755)
    await service.create_branch("notebooks", "hooked")
    await commit_change(service, "h.ipynb", "{}\n")
    await service.push("notebooks")
    lines = [line for line in dump.read_text().splitlines() if world.token in line]
    assert lines == [f"{runner.PASSWORD_VAR}={world.token}"]  # what git's askpass needs, nothing else
    assert f"GIT_ASKPASS={runner.askpass_program()}" in dump.read_text()


async def test_pull_brings_remote_commits(service, workspace, world, tmp_path):
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(world.project.repo), str(other))
    write(other / "from-colleague.ipynb", "{}\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "colleague")
    git(other, "push", "-q", "origin", "main")
    result = await service.pull("notebooks")
    assert result["branch"] == "main" and not result["up_to_date"]
    assert (workspace / "notebooks" / "from-colleague.ipynb").exists()
    assert (await service.pull("notebooks"))["up_to_date"]


async def test_protected_branch_push_is_rejected_with_its_reason(service, world):
    await commit_change(service, "a.ipynb", "{}\n")
    with pytest.raises(GitError) as info:
        await service.push("notebooks")
    assert info.value.reason == "protected_branch"
    assert "merge request" in info.value.message
    assert "not allowed to push code to protected branches" in info.value.details


async def test_maintainer_may_push_to_the_protected_branch(workspace, world):
    carol_token = world.gitlab.world.issue(world.carol, ["api"]).value
    service = GitService(workspace, world.settings(token=carol_token))
    await commit_change(service, "b.ipynb", "{}\n")
    await service.push("notebooks")
    assert remote_branch(world, "main") == git(workspace / "notebooks", "rev-parse", "HEAD").strip()


async def test_non_fast_forward_push_says_pull_first(service, world, tmp_path):
    await service.create_branch("notebooks", "feature")
    await commit_change(service, "mine.ipynb", "{}\n")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(world.project.repo), str(other))
    git(other, "switch", "-q", "-c", "feature")
    write(other / "theirs.ipynb", "{}\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "theirs")
    git(other, "push", "-q", "origin", "feature")
    with pytest.raises(GitError) as info:
        await service.push("notebooks")
    assert info.value.reason == "non_fast_forward" and "Pull first" in info.value.message
    await service.pull("notebooks")  # merges theirs
    await service.push("notebooks")


async def test_expired_token_gives_token_expired_quickly(service, world):
    world.gitlab.world.expire(world.token)
    await service.create_branch("notebooks", "feature")
    await commit_change(service, "a.ipynb", "{}\n")
    with pytest.raises(GitError) as info:
        await service.push("notebooks")
    assert info.value.reason == "token_expired" and "Stop and start your server" in info.value.message
    assert world.token not in info.value.details


async def test_wrong_token_is_a_clear_error_not_a_hang(workspace, world):
    service = GitService(workspace, world.settings(token="not-a-real-token", network_timeout=20))
    with pytest.raises(GitError) as info:
        await service.pull("notebooks")
    assert info.value.reason == "token_expired"


async def test_missing_token_is_reported_before_git_runs(workspace, world):
    service = GitService(workspace, world.settings(token=""))
    with pytest.raises(GitError) as info:
        await service.push("notebooks")
    assert info.value.reason == "token_expired" and "no GitLab token" in info.value.message


async def test_unreachable_gitlab(workspace, world):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = f"http://127.0.0.1:{port}"
    git(workspace / "notebooks", "remote", "set-url", "origin", f"{dead}/ml-team/notebooks.git")
    service = GitService(workspace, world.settings().__class__(gitlab_url=dead, gitlab_token=world.token))
    with pytest.raises(GitError) as info:
        await service.pull("notebooks")
    assert info.value.reason == "gitlab_unreachable" and "could not be reached" in info.value.message


async def test_a_silent_server_hits_the_timeout(workspace, world):
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        git(workspace / "notebooks", "remote", "set-url", "origin", f"{url}/ml-team/notebooks.git")
        service = GitService(workspace, world.settings().__class__(gitlab_url=url, gitlab_token="t", network_timeout=1.5))
        with pytest.raises(GitError) as info:
            await service.pull("notebooks")
    assert info.value.reason == "git_timeout"


def test_the_token_only_goes_to_the_configured_gitlab(world):
    settings = world.settings()
    assert settings.credentials_for(world.remote).token == world.token
    assert settings.credentials_for("https://evil.example.com/ml-team/notebooks.git") is None
    host, port = world.gitlab.url.rsplit(":", 1)
    assert settings.credentials_for(f"{host}:{int(port) + 1}/x.git") is None
    assert settings.credentials_for("/srv/git/demo.git") is None
    assert "token" not in repr(settings.credentials_for(world.remote)).replace("token=<hidden>", "")
    assert world.token not in repr(settings)
