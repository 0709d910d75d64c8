"""The Models flow's GitLab world, shared by the service-level and the REST-level tests: the
GitLab stand-in (tests/gitlab_standin: its MLflow API subset, environments and deployments, CI)
with the template project, the on-prem serving machine (tests/models/serving_machine.py: the
podman stand-in, REAL nginx and MLServer) and the test runner that runs each job's script for real.

The runner stands for GitLab Runners (tests/gitlab_standin/ci_state.py): it runs each job's
``script`` lines from the template's .gitlab-ci.yml for real in a checkout at the pipeline's commit,
with GitLab's predefined variables (doc/ci/variables/predefined_variables.md), in GitLab's order of
precedence (doc/ci/variables/_index.md, "CI/CD variable precedence"), and the registry at
``${CI_SERVER_URL}/api/v4/projects/${CI_PROJECT_ID}/ml/mlflow`` with MLFLOW_TRACKING_TOKEN as a
masked project variable would give it. The build job runs kaniko's executor (the stand-in,
tests/kaniko_standin) and pushes the model image to the container registry both stand-ins share;
the deploy job runs ``ci/deploy.sh`` on the serving machine: the image is pulled by digest and
swapped in behind the nginx front, and predictions come from SERVE_PORT. Each job gets its own job
token, which is the registry password while the job runs (doc/ci/jobs/ci_job_token.md).
"""

from __future__ import annotations

import os
import secrets
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
from tests.kaniko_standin import HERE as KANIKO, register_model_server_base
from tests.models.serving_machine import MLSERVER, PROJECT_IMAGE, REGISTRY, ServingMachine
from tests.pipelines.conftest import infer, push_template
from tests.podman_standin import register_login

PROJECT = "ml-team/sensors"
MODEL = "sensor-failure"
SHELL_KEEPS = ("PATH", "HOME", "LANG", "TMPDIR")  # what a shell runner's environment brings


class Runner:
    """The stand-in's runners: each job's script, for real, in a checkout at the pipeline's commit
    (train and test: this Python; build: kaniko's executor first on PATH; deploy: the serving machine)."""

    def __init__(self, standin, ci, project, token: str, work: Path, machine: ServingMachine) -> None:
        self.standin, self.ci, self.project, self.work, self.machine = standin, ci, project, work, machine
        # the project's CI/CD variables (Settings > CI/CD > Variables): the registry token (masked) and
        # the serving machine's ports and folder, which a project sets instead of the file's defaults
        self.project_variables = {"MLFLOW_TRACKING_TOKEN": token, **machine.variables()}
        self.logs: dict[int, str] = {}

    def checkout(self, record) -> Path:
        folder = self.work / f"p{record.id}"
        if not folder.exists():
            subprocess.run(["git", "clone", "-q", str(self.project.repo), str(folder)], check=True, capture_output=True)
            subprocess.run(["git", "checkout", "-q", "--detach", record.sha], cwd=folder, check=True, capture_output=True)
        return folder

    def env(self, record, job, folder: Path, data: dict, job_token: str) -> dict:
        predefined = {  # doc/ci/variables/predefined_variables.md
            "CI": "true", "GITLAB_CI": "true", "CI_SERVER_URL": self.standin.url, "CI_PROJECT_ID": str(self.project.id),
            "CI_API_V4_URL": f"{self.standin.url}/api/v4", "CI_PROJECT_PATH": PROJECT, "CI_PROJECT_DIR": str(folder),
            "CI_JOB_ID": str(job.id), "CI_JOB_NAME": job.name, "CI_JOB_TOKEN": job_token, "CI_PIPELINE_ID": str(record.id),
            "CI_COMMIT_SHA": record.sha, "CI_COMMIT_SHORT_SHA": record.sha[:8], "CI_COMMIT_REF_NAME": record.ref,
            "CI_REGISTRY": REGISTRY, "CI_REGISTRY_IMAGE": PROJECT_IMAGE, "CI_REGISTRY_USER": "gitlab-ci-token",
            "CI_REGISTRY_PASSWORD": job_token,
        }  # fmt: skip
        # precedence, lowest first: predefined, the file's default then job variables, project
        # variables, pipeline variables (doc/ci/variables/_index.md, "CI/CD variable precedence")
        values = dict(predefined)
        values.update({v["key"]: v["value"] for v in ci_file.variables(data)})
        values.update({str(k): "" if v is None else str(v) for k, v in (data[job.name].get("variables") or {}).items()})
        values.update(self.project_variables)
        values.update({v["key"]: v["value"] for v in record.variables})
        values = {k: ci_file.expand(v, values) for k, v in values.items()}
        shell = {k: os.environ[k] for k in SHELL_KEEPS if k in os.environ}
        if job.name == "build":  # the kaniko image: the executor on PATH, DOCKER_CONFIG (kaniko's deploy/Dockerfile_debug)
            config = self.work / f"kaniko-{job.id}"
            config.mkdir(parents=True, exist_ok=True)
            shell.update(PATH=os.pathsep.join([str(KANIKO), shell["PATH"]]), DOCKER_CONFIG=str(config),
                         PODMAN_STANDIN_STATE=str(self.machine.state),
                         KANIKO_STANDIN_PYTHON=sys.executable)  # fmt: skip
        elif job.name == "deploy":  # the shell runner on the serving machine
            shell.update({k: self.machine.env[k] for k in ("PATH", "PODMAN_STANDIN_STATE", "PODMAN_STANDIN_PYTHON")})
        else:
            shell["HYBRIDHUB_PYTHON"] = sys.executable
        return {**shell, **values}

    def run(self, record, name: str) -> str:
        """Run the job to its end; its status is the scripts' result (or GitLab's, when it fails as it starts)."""
        job = self.ci.job(record, name)
        folder = self.checkout(record)
        data = ci_file.load((folder / ".gitlab-ci.yml").read_text())
        job_token = secrets.token_hex(10)
        env = self.env(record, job, folder, data, job_token)
        self.ci.start(job)
        if job.status != "running":  # e.g. an outdated deployment job (ci_state.py start_checks)
            return job.status
        register_login(self.machine.state, REGISTRY, "gitlab-ci-token", job_token)  # valid while the job runs
        # one shell runs the whole script, stopping at the first failing line: the runner's generated
        # script starts with `set -eo pipefail` (gitlab-org/gitlab-runner#30919, "Document how
        # exporting variables in scripts works": an `export` in one line holds for the next ones)
        script = "set -eo pipefail\n" + "\n".join(data[name]["script"])
        done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
        status = "failed" if done.returncode else "success"
        register_login(self.machine.state, REGISTRY, "gitlab-ci-token", secrets.token_hex(10))  # the job's token expired
        self.logs[job.id] = done.stdout + done.stderr
        assert job_token not in self.logs[job.id]
        self.ci.finish(job, status)
        return status

    def pipeline(self, record, stages=("train", "test", "build")) -> dict[str, str]:
        results = {}
        for name in stages:
            results[name] = self.run(record, name)
            if results[name] != "success":
                break
        return results

    def served(self) -> str:
        """The model version that answers a prediction on the serving machine's SERVE_PORT."""
        return infer(f"http://127.0.0.1:{self.machine.port}", [[48.0, 4.1, 12.0]])["model_version"]


def variables(train: Path, test: Path, **extra) -> list[dict]:
    values = {"DATA_URI": str(train), "TEST_DATA_URI": str(test), "MAX_ITER": "200", **extra}
    return [{"key": k, "value": v} for k, v in values.items()]


@contextmanager
def gitlab_world(base: Path):
    """The stand-in with the template project ``ml-team/sensors`` (a Developer ``dev``, a Reporter
    ``reporter``), their API tokens, the training data (original, changed) and a runner; stopped at
    the end, and it must have seen no request it does not understand."""
    standin = GitLabStandIn(base / "gitlab").start()
    machine = ServingMachine(base / "serving")
    register_model_server_base(machine.state, "registry.example.com/hybridhub/model-server:0.1.0", MLSERVER)  # the file's MODEL_SERVER_IMAGE
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
                              runner=Runner(standin, ci, project, tokens["dev"], base / "runner", machine), machine=machine)  # fmt: skip
    finally:
        machine.close()
        standin.stop()
    assert standin.violations == [], standin.violations
