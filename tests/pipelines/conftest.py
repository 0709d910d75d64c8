"""Fixtures of the pipeline suite: sample data files, a workspace repository holding the
template, a local backend that always stops what it started."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import pytest_asyncio

from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.local_backend import LocalBackend
from hybridhub.lab_ext.pipelines.template import add_template


def git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.com", "-c", "init.defaultBranch=main"]
    return subprocess.run(command + list(args), cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_all(repo: Path, message: str = "update") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def push_template(project_repo: Path, work: Path) -> None:
    """Clone a stand-in GitLab project into ``work``, add the ML template, push it as a maintainer."""
    subprocess.run(["git", "clone", "-q", str(project_repo), str(work)], check=True, capture_output=True)
    add_template(work, "")
    env = {**os.environ, "STANDIN_ACCESS_LEVEL": "50"}
    for args in (["add", "-A"], ["commit", "-q", "-m", "template"], ["push", "-q", "origin", "main"]):
        subprocess.run(["git", "-c", "user.name=F", "-c", "user.email=f@e", *args], cwd=work, check=True, env=env,
                       capture_output=True)  # fmt: skip


@contextlib.contextmanager
def ci_standin(tmp_path: Path, roles: dict[str, int]):
    """A GitLab stand-in with the CI routes and ml-team/sensors holding the template, members
    by role. GitLab protects main for Maintainers; like a team's Maintainer, the project lets
    Developers merge into it, which lets them run pipelines there (can_update_branch?)."""
    from tests.gitlab_standin import GitLabStandIn
    from tests.gitlab_standin.pipelines import install
    from tests.gitlab_standin.state import DEVELOPER, MAINTAINER

    standin = GitLabStandIn(tmp_path / "gitlab").start()
    try:
        ci = install(standin)
        users = {name: standin.world.add_user(name) for name in roles}
        project = standin.world.add_project("ml-team", "sensors", {users[n]: level for n, level in roles.items()})
        push_template(project.repo, tmp_path / "seed")
        project.protect("main", push=MAINTAINER, merge=DEVELOPER)
        yield standin, ci, project, users
    finally:
        standin.stop()
    assert standin.violations == []


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory) -> dict[str, Path]:
    """The demo's sensors/train.csv and sensors/test.csv as local files."""
    base = tmp_path_factory.mktemp("sample-data")
    (base / "train.csv").write_bytes(sensor_csv(2000, seed=1))
    (base / "test.csv").write_bytes(sensor_csv(500, seed=2))
    return {"train": base / "train.csv", "test": base / "test.csv"}


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A user's home: a git repository (branch main) with the template committed."""
    root = tmp_path / "userhome"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    add_template(root, "")
    commit_all(root, "Add the hybridhub pipeline template")
    return root


def data_variables(sample_data, **extra) -> list[dict]:
    values = {"DATA_URI": str(sample_data["train"]), "TEST_DATA_URI": str(sample_data["test"]), "MAX_ITER": "200"}
    values.update(extra)
    return [{"key": k, "value": v} for k, v in values.items()]


@pytest_asyncio.fixture
async def backend(workspace):
    local = LocalBackend(workspace, timeout=120)
    try:
        yield local
    finally:
        await local.close()


async def wait_for(backend, project: str, pipeline_id: int, done, timeout: float = 60.0) -> dict:
    """Poll like the panel does until ``done(view)``; returns the last view."""
    deadline = time.monotonic() + timeout
    while True:
        view = await backend.pipeline(project, pipeline_id)
        if done(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"pipeline {pipeline_id} stuck: {view['status']} {jobs_of(view)}")
        await asyncio.sleep(0.2)


def infer(url: str, rows: list[list[float]], timeout: float = 10) -> dict:
    """One V2 inference request (MLServer's REST API: POST /v2/models/<name>/infer, the input
    tensor as flat data with its shape; https://mlserver.readthedocs.io/en/stable/user-guide/content-type.html)."""
    body = {"inputs": [{"name": "sensors", "shape": [len(rows), 3], "datatype": "FP64", "data": [v for r in rows for v in r]}]}
    request = urllib.request.Request(f"{url}/v2/models/sensor-failure/infer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def jobs_of(view: dict) -> dict[str, str]:
    return {job["name"]: job["status"] for stage in view["stages"] for job in stage["jobs"]}


def finished(view: dict) -> bool:
    return view["status"] not in ("pending", "running")


@pytest.fixture(scope="session")
def tools_present() -> None:
    """The local backend's tools are part of the dev environment; missing ones fail loudly."""
    from hybridhub.lab_ext.pipelines.local_run import check_tools

    check_tools()
    assert shutil.which("git")
