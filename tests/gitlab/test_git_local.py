"""The git core against a local bare remote, as in the demo: no GitLab, no token."""

from __future__ import annotations

import asyncio
import os

import pytest

from hybridhub.lab_ext.git import runner
from hybridhub.lab_ext.git.errors import GitError
from hybridhub.lab_ext.git.repo import GitService
from hybridhub.lab_ext.git.settings import GitSettings

from .conftest import git

pytestmark = pytest.mark.gitlab


@pytest.fixture
def demo(local_workspace) -> GitService:
    return GitService(local_workspace.parent, GitSettings())


async def test_status_lists_notebooks_by_name(demo, local_workspace):
    (local_workspace / "analysis.ipynb").write_text('{"changed": true}\n')
    (local_workspace / "runs").mkdir()
    (local_workspace / "runs" / "exp 1.ipynb").write_text("{}\n")
    (local_workspace / "README.md").unlink()
    status = await demo.status("demo/runs")  # any folder inside the repository
    assert status["repository"] == "demo" and status["branch"] == "main" and status["upstream"] == "origin/main"
    files = {f["path"]: f for f in status["files"]}
    assert files["runs/exp 1.ipynb"]["name"] == "exp 1.ipynb" and files["runs/exp 1.ipynb"]["untracked"]
    assert files["analysis.ipynb"]["notebook"] and files["analysis.ipynb"]["worktree"] == "M"
    assert files["README.md"]["worktree"] == "D" and not files["README.md"]["notebook"]
    assert status["on_gitlab"] is False and status["gitlab_configured"] is False


async def test_demo_commit_push_pull_round_trip(demo, local_workspace, tmp_path):
    (local_workspace / "new.ipynb").write_text("{}\n")
    staged = await demo.stage("demo", ["new.ipynb"])
    assert staged["staged"] == 1
    unstaged = await demo.unstage("demo", ["new.ipynb"])
    assert unstaged["staged"] == 0
    await demo.stage("demo", ["new.ipynb"])
    commit = await demo.commit("demo", "Add a notebook")
    assert commit["summary"] == "Add a notebook"
    assert (await demo.status("demo"))["ahead"] == 1
    await demo.push("demo")
    remote = tmp_path / "git" / "demo.git"
    assert git(remote, "rev-parse", "main").strip() == commit["commit"]
    assert (await demo.status("demo"))["ahead"] == 0


async def test_commit_needs_a_message_and_staged_changes(demo, local_workspace):
    with pytest.raises(GitError) as info:
        await demo.commit("demo", "   ")
    assert info.value.reason == "empty_message"
    with pytest.raises(GitError) as info:
        await demo.commit("demo", "nothing")
    assert info.value.reason == "nothing_to_commit"
    (local_workspace / "analysis.ipynb").write_text("changed but not staged\n")
    (local_workspace / "untracked.ipynb").write_text("{}\n")
    with pytest.raises(GitError) as info:
        await demo.commit("demo", "nothing staged")
    assert info.value.reason == "nothing_to_commit"


async def test_commit_identity_falls_back_to_the_hub_user(demo, local_workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no global git identity
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    (local_workspace / "x.ipynb").write_text("{}\n")
    await demo.stage("demo", ["x.ipynb"])
    await demo.commit("demo", "as alice")
    assert git(local_workspace, "log", "-1", "--format=%an <%ae>").strip() == "alice <alice@users.noreply.hybridhub.invalid>"


async def test_demo_non_fast_forward_and_conflicting_pull(demo, local_workspace, tmp_path):
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "git" / "demo.git"), str(other))
    (other / "analysis.ipynb").write_text('{"theirs": 1}\n')
    git(other, "commit", "-q", "-am", "theirs")
    git(other, "push", "-q", "origin", "main")
    (local_workspace / "analysis.ipynb").write_text('{"mine": 1}\n')
    await demo.stage("demo", ["analysis.ipynb"])
    await demo.commit("demo", "mine")
    with pytest.raises(GitError) as info:
        await demo.push("demo")
    assert info.value.reason == "non_fast_forward"
    with pytest.raises(GitError) as info:
        await demo.pull("demo")
    assert info.value.reason == "merge_conflict" and "analysis.ipynb" in info.value.details
    status = await demo.status("demo")
    assert [f["path"] for f in status["files"] if f.get("conflicted")] == ["analysis.ipynb"]


async def test_branches_create_and_switch(demo, local_workspace):
    created = await demo.create_branch("demo", "feature/x")
    assert created["current"] == "feature/x"
    with pytest.raises(GitError) as info:
        await demo.create_branch("demo", "feature/x")
    assert info.value.reason == "branch_exists"
    for bad in ("-rf", "a..b", "with space", ""):
        with pytest.raises(GitError) as info:
            await demo.create_branch("demo", bad)
        assert info.value.reason == "invalid_branch_name"
    switched = await demo.switch_branch("demo", "main")
    assert switched["current"] == "main" and "origin/main" in switched["remote"]
    with pytest.raises(GitError) as info:
        await demo.switch_branch("demo", "nope")
    assert info.value.reason == "no_such_branch"
    (local_workspace / "analysis.ipynb").write_text("dirty\n")
    await demo.create_branch("demo", "other", switch=False)
    git(local_workspace, "stash", "-q")
    await demo.switch_branch("demo", "other")
    (local_workspace / "analysis.ipynb").write_text("changed on other\n")
    git(local_workspace, "commit", "-qam", "other")
    (local_workspace / "analysis.ipynb").write_text("uncommitted\n")
    with pytest.raises(GitError) as info:
        await demo.switch_branch("demo", "main")
    assert info.value.reason == "uncommitted_changes"


async def test_paths_are_confined_to_the_server_root(demo, local_workspace, tmp_path):
    for path in ("..", "../git", "demo/../../", "demo/\0"):
        with pytest.raises(GitError) as info:
            await demo.status(path)
        assert info.value.reason == "invalid_path"
    os.symlink(tmp_path / "git", local_workspace.parent / "link")
    with pytest.raises(GitError) as info:
        await demo.status("link")
    assert info.value.reason == "invalid_path"
    with pytest.raises(GitError) as info:
        await demo.stage("demo", ["../outside.txt"])
    assert info.value.reason == "invalid_path"
    (local_workspace.parent / "plain").mkdir()
    with pytest.raises(GitError) as info:
        await demo.status("plain")
    assert info.value.reason == "not_a_repository"


async def test_no_remote(tmp_path):
    git(tmp_path, "init", "-q", "solo")
    service = GitService(tmp_path, GitSettings())
    with pytest.raises(GitError) as info:
        await service.push("solo")
    assert info.value.reason in ("remote_not_configured", "invalid_request")


async def test_one_operation_at_a_time_per_repository(demo, monkeypatch):
    running, peak = 0, 0
    real = runner.run_git

    async def tracking(args, cwd, timeout, **kwargs):  # the single seam
        nonlocal running, peak
        if args[:2] == ["rev-parse", "--show-toplevel"]:  # finding the repository is not locked
            return await real(args, cwd, timeout, **kwargs)
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.02)
            return await real(args, cwd, timeout, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(runner, "run_git", tracking)
    (demo.root / "demo" / "a.ipynb").write_text("{}\n")
    await asyncio.gather(*(demo.status("demo") for _ in range(4)), demo.stage("demo", ["a.ipynb"]))
    assert peak == 1
    git(demo.root, "init", "-q", "second")  # a second repository is not blocked by the first
    await asyncio.gather(demo.status("demo"), demo.status("second"), demo.status("demo"), demo.status("second"))
    assert peak == 2


async def test_local_timeout_stops_git_and_its_children(demo):
    marker = demo.root / "demo" / "late"
    with pytest.raises(GitError) as info:
        await runner.run_git(["-c", f"alias.slow=!sleep 2 && touch '{marker}'", "slow"], demo.root / "demo", 0.3)
    assert info.value.reason == "git_timeout"
    await asyncio.sleep(2.5)
    assert not marker.exists()  # the whole process group was stopped


async def test_the_repositorys_commit_hooks_run(demo, local_workspace):
    hook = local_workspace / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'notebook outputs must be stripped' >&2\nexit 1\n")
    hook.chmod(0o755)
    (local_workspace / "x.ipynb").write_text("{}\n")
    await demo.stage("demo", ["x.ipynb"])
    with pytest.raises(GitError) as info:
        await demo.commit("demo", "blocked by the hook")
    assert info.value.reason == "git_error" and "outputs must be stripped" in info.value.details
