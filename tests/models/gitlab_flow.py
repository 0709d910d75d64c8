"""The Models flow's GitLab world, shared by the service-level and the REST-level tests: the
GitLab stand-in (tests/gitlab_standin: its MLflow API subset, environments and deployments, CI)
with the template project, and the test runner that runs each job's script for real.

The runner stands for a GitLab Runner (tests/gitlab_standin/ci_state.py): it runs each job's
``script`` lines from the template's .gitlab-ci.yml for real in a checkout at the pipeline's commit,
with GitLab's predefined variables (doc/ci/variables/predefined_variables.md) and the registry at
``${CI_SERVER_URL}/api/v4/projects/${CI_PROJECT_ID}/ml/mlflow`` with MLFLOW_TRACKING_TOKEN as a
masked project variable would give it. The stand-in has no container registry: the build job runs
the way a local run does (image context digest, ``built: false``; never a pretended image), and the
deploy job's on-prem container swap is not run here (the serving swap is the local flow's test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines import ci_file
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.environments import install as install_environments
from tests.gitlab_standin.mlflow import install as install_mlflow
from tests.gitlab_standin.pipelines import install as install_ci
from tests.gitlab_standin.state import DEVELOPER, MAINTAINER, REPORTER
from tests.pipelines.conftest import push_template

PROJECT = "ml-team/sensors"
MODEL = "sensor-failure"


class Runner:
    """The stand-in's runner: each job's script, for real, in a checkout at the pipeline's commit."""

    def __init__(self, standin, ci, project, token: str, work: Path) -> None:
        self.standin, self.ci, self.project, self.token, self.work = standin, ci, project, token, work
        self.logs: dict[int, str] = {}

    def checkout(self, record) -> Path:
        folder = self.work / f"p{record.id}"
        if not folder.exists():
            subprocess.run(["git", "clone", "-q", str(self.project.repo), str(folder)], check=True, capture_output=True)
            subprocess.run(["git", "checkout", "-q", "--detach", record.sha], cwd=folder, check=True, capture_output=True)
        return folder

    def env(self, record, job, folder: Path, data: dict) -> dict:
        predefined = {  # doc/ci/variables/predefined_variables.md
            "CI": "true", "GITLAB_CI": "true", "CI_SERVER_URL": self.standin.url, "CI_PROJECT_ID": str(self.project.id),
            "CI_PROJECT_PATH": PROJECT, "CI_PROJECT_DIR": str(folder), "CI_JOB_ID": str(job.id),
            "CI_JOB_NAME": job.name, "CI_PIPELINE_ID": str(record.id), "CI_COMMIT_SHA": record.sha,
            "CI_COMMIT_REF_NAME": record.ref,
        }  # fmt: skip
        values = {v["key"]: v["value"] for v in ci_file.variables(data)}
        values.update({v["key"]: v["value"] for v in record.variables})
        values = {k: ci_file.expand(v, {**predefined, **values}) for k, v in values.items()}
        keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        return {**keep, **values, **predefined, "MLFLOW_TRACKING_TOKEN": self.token, "HYBRIDHUB_PYTHON": sys.executable}

    def run(self, record, name: str) -> str:
        """Run the job to its end; its status is the scripts' result."""
        job = self.ci.job(record, name)
        folder = self.checkout(record)
        data = ci_file.load((folder / ".gitlab-ci.yml").read_text())
        env = self.env(record, job, folder, data)
        self.ci.start(job)
        if name == "build":  # no container registry here: the image context is checked, no image claimed
            env.update(HYBRIDHUB_LOCAL_RUN="true", HYBRIDHUB_MLFLOW_TRACKING_URI=env["MLFLOW_TRACKING_URI"])
        scripts = [] if name == "deploy" else data[name]["script"]
        status, log = "success", []
        for line in scripts:
            done = subprocess.run(["sh", "-c", line], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
            log.append(done.stdout + done.stderr)
            if done.returncode:
                status = "failed"
                break
        self.logs[job.id] = "".join(log)
        self.ci.finish(job, status)
        return status

    def pipeline(self, record, stages=("train", "test", "build")) -> dict[str, str]:
        results = {}
        for name in stages:
            results[name] = self.run(record, name)
            if results[name] != "success":
                break
        return results


def variables(train: Path, test: Path, **extra) -> list[dict]:
    values = {"DATA_URI": str(train), "TEST_DATA_URI": str(test), "MAX_ITER": "200", **extra}
    return [{"key": k, "value": v} for k, v in values.items()]


@contextmanager
def gitlab_world(base: Path):
    """The stand-in with the template project ``ml-team/sensors`` (a Developer ``dev``, a Reporter
    ``reporter``), their API tokens, the training data (original, changed) and a runner; stopped at
    the end, and it must have seen no request it does not understand."""
    standin = GitLabStandIn(base / "gitlab").start()
    try:
        ci = install_ci(standin)
        install_environments(standin)
        install_mlflow(standin)
        w = standin.world
        users = {n: w.add_user(n) for n in ("dev", "reporter")}
        project = w.add_project("ml-team", "sensors", {users["dev"]: DEVELOPER, users["reporter"]: REPORTER})
        push_template(project.repo, base / "seed")
        project.protect("main", push=MAINTAINER, merge=DEVELOPER)
        tokens = {n: w.issue(u, ["api"]).value for n, u in users.items()}
        for name, rows, seed in (("train.csv", 2000, 1), ("test.csv", 500, 2), ("train-changed.csv", 2400, 7)):
            (base / name).write_bytes(sensor_csv(rows, seed=seed))
        yield SimpleNamespace(standin=standin, ci=ci, project=project, users=users, tokens=tokens, base=base,
                              runner=Runner(standin, ci, project, tokens["dev"], base / "runner"))  # fmt: skip
    finally:
        standin.stop()
    assert standin.violations == [], standin.violations
