"""The shipped CI/CD template: valid against GitLab's CI schema, the four stages with the
right runners, metrics report, no Docker daemon, lineage.json and the image digest carried from
job to job; adding it never overwrites silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hybridhub.lab_ext.pipelines import ci_file
from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.pipelines.service import apply_pins
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR, add_template, existing, template_files

pytestmark = pytest.mark.pipelines
CI_FILE = TEMPLATE_DIR / ".gitlab-ci.yml"


def check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(tool), "--builtin-schema", "vendor.gitlab-ci", str(path)], capture_output=True, text=True, timeout=120
    )


def test_template_is_valid_against_the_gitlab_ci_schema(tmp_path):
    result = check_jsonschema(CI_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = yaml.safe_load(CI_FILE.read_text())
    broken["deploy"]["when"] = "after_approval"  # not a GitLab 'when'
    (tmp_path / ".gitlab-ci.yml").write_text(yaml.safe_dump(broken))
    assert check_jsonschema(tmp_path / ".gitlab-ci.yml").returncode != 0


def test_stages_runners_metrics_and_build_without_docker():
    data = yaml.safe_load(CI_FILE.read_text())
    assert data["stages"] == ["train", "test", "build", "deploy", "monitor"]  # monitor: MONITOR=true pipelines only
    tags = ci_file.job_tags(data, [])
    # the tags the runners of helm-values/ are created with (docs/deploy-aks.md)
    assert tags == {"train": ["train"], "test": ["test"], "build": ["build"], "deploy": ["deploy"]}
    assert ci_file.job_tags(data, [{"key": "TRAIN_RUNNER_TAG", "value": "gpu-a"}])["train"] == ["gpu-a"]
    assert data["test"]["artifacts"]["reports"]["metrics"] == "metrics.txt"
    assert "metrics.json" in data["test"]["artifacts"]["paths"] and data["test"]["artifacts"]["when"] == "always"
    assert "kaniko" in data["build"]["image"]["name"] and "services" not in data["build"]
    build = (TEMPLATE_DIR / "ci" / "build.sh").read_text()
    # kaniko's executor from PATH (/kaniko in the debug image), never a Docker daemon
    assert '\nDOCKER_CONFIG="${DOCKER_CONFIG}" executor "$@"' in build and "docker build" not in build
    assert "--reproducible" in build and "CI_REGISTRY_IMAGE" in build
    assert data["deploy"]["rules"][0]["when"] == "manual" and data["deploy"]["environment"]["name"] == "production"
    variables = {v["key"]: v for v in ci_file.variables(data)}
    assert variables["DATA_URI"]["value"].startswith("s3://") and "DATA_VERSION" in variables
    assert all(v["description"] for v in variables.values())
    assert not any(k.startswith("AWS_") for k in variables)  # credentials are CI/CD settings, never in the file


def test_add_template_never_overwrites_without_asking(tmp_path):
    files = template_files()
    assert ".gitlab-ci.yml" in files and "ml/train.py" in files and not any("__pycache__" in f for f in files)
    result = add_template(tmp_path, "")
    assert result["written"] == files and result["replaced"] == []
    (tmp_path / ".gitlab-ci.yml").write_text("# mine\n")
    with pytest.raises(PipelineError) as info:
        add_template(tmp_path, "")
    assert info.value.reason == "files_exist" and ".gitlab-ci.yml" in info.value.details
    assert (tmp_path / ".gitlab-ci.yml").read_text() == "# mine\n"
    assert existing(tmp_path, "") == files
    assert add_template(tmp_path, "", overwrite=True)["replaced"] == files
    assert (tmp_path / ".gitlab-ci.yml").read_text() == CI_FILE.read_text()
    assert (tmp_path / "ci" / "build.sh").stat().st_mode & 0o100
    for outside in ("..", "../x", "../../etc"):
        with pytest.raises(PipelineError) as info:
            add_template(tmp_path, outside)
        assert info.value.reason == "invalid_path"


def test_pins_give_the_data_version_defaults():
    variables = ci_file.variables(yaml.safe_load(CI_FILE.read_text()))
    pins = [
        {"uri": "s3://datasets/sensors/test.csv", "version_id": "v-test", "pinned_at": "2026-11-01T00:00:00Z"},
        {"uri": "s3://datasets/other/train.csv", "version_id": "v-new", "pinned_at": "2026-11-02T00:00:00Z"},
    ]
    values = {v["key"]: v["value"] for v in apply_pins(variables, pins)}
    assert values["TEST_DATA_VERSION"] == "v-test"  # same URI as the template default
    assert values["DATA_URI"] == "s3://datasets/other/train.csv" and values["DATA_VERSION"] == "v-new"  # newest pin
    untouched = {v["key"]: v["value"] for v in apply_pins(ci_file.variables(yaml.safe_load(CI_FILE.read_text())), [])}
    assert untouched["DATA_VERSION"] == "" and untouched["DATA_URI"] == "s3://datasets/sensors/train.csv"


def test_ci_file_errors():
    with pytest.raises(PipelineError) as info:
        ci_file.load("stages: [a\n")
    assert info.value.reason == "invalid_ci_file"
    with pytest.raises(PipelineError):
        ci_file.load("- just\n- a list\n")
    assert ci_file.stages({}) == [".pre", "build", "test", "deploy", ".post"]


def test_every_job_carries_lineage_and_the_build_its_digest(tmp_path):
    """Design §1-§3 of issue 19: lineage.json is an artifact of each job, the registry is GitLab's
    MLflow API (its token a masked CI/CD variable, never in the file), kaniko's digest goes to
    image.json and the deploy job records it on the run (the kaniko image has no Python)."""
    data = yaml.safe_load(CI_FILE.read_text())
    variables = {v["key"]: v for v in ci_file.variables(data)}
    assert variables["MLFLOW_TRACKING_URI"]["value"] == "${CI_SERVER_URL}/api/v4/projects/${CI_PROJECT_ID}/ml/mlflow"
    assert variables["REPRODUCES_VERSION"]["value"] == "" and "MLFLOW_TRACKING_TOKEN" not in variables
    for job in ("train", "test", "build", "deploy"):
        assert "lineage.json" in data[job]["artifacts"]["paths"], job
    assert "image.json" in data["build"]["artifacts"]["paths"]
    build = (TEMPLATE_DIR / "ci" / "build.sh").read_text()
    assert '--digest-file "${DIGEST_FILE}"' in build and "> image.json" in build
    assert "ml/registry.py build --context Dockerfile model" in build  # a local run: the context, no image
    assert "ml/registry.py build --image-json image.json" in (TEMPLATE_DIR / "ci" / "deploy.sh").read_text()
    requirements = (TEMPLATE_DIR / "requirements.txt").read_text()
    assert "mlflow-skinny==3.17.2" in requirements
    assert "mlflow-skinny==3.17.2" in (TEMPLATE_DIR.parents[5] / "images" / "trainer" / "requirements.txt").read_text()

    # what the deploy job runs with the build's image.json (no registry configured here)
    (tmp_path / "lineage.json").write_text('{"jobs": {"train": "1", "test": "2"}, "gate": {"passed": true}}')
    digest = "sha256:" + "ab" * 32
    (tmp_path / "image.json").write_text(f'{{"ref": "reg.example/p/model:abc", "digest": "{digest}", "job_id": "3"}}')
    env = {"PATH": "/usr/bin:/bin", "CI_PIPELINE_ID": "9", "CI_COMMIT_SHA": "c" * 40}
    recorded = subprocess.run([sys.executable, str(TEMPLATE_DIR / "ml" / "registry.py"), "build", "--image-json",
                               "image.json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert "the model was not registered (model/registry.json is missing)" in recorded.stdout
    lineage = yaml.safe_load((tmp_path / "lineage.json").read_text())
    assert lineage["image"] == {"ref": "reg.example/p/model:abc", "digest": digest}
    assert lineage["jobs"] == {"train": "1", "test": "2", "build": "3"} and lineage["gate"] == {"passed": True}
    assert (lineage["pipeline_id"], lineage["commit"]) == ("9", "c" * 40)
    # a build that wrote no digest is never recorded as an image
    (tmp_path / "image.json").write_text('{"ref": "reg.example/p/model:abc", "digest": "", "job_id": "3"}')
    refused = subprocess.run([sys.executable, str(TEMPLATE_DIR / "ml" / "registry.py"), "build", "--image-json",
                              "image.json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 1 and "has no sha256 digest" in refused.stderr
