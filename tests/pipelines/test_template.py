"""The shipped CI/CD template: valid against GitLab's CI schema, the four stages with the
right runners, metrics report, no Docker daemon; adding it never overwrites silently."""

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
    assert data["stages"] == ["train", "test", "build", "deploy"]
    tags = ci_file.job_tags(data, [])
    # the tags the runners of helm-values/ are created with (docs/deploy-aks.md)
    assert tags == {"train": ["train"], "test": ["test"], "build": ["build"], "deploy": ["deploy"]}
    assert ci_file.job_tags(data, [{"key": "TRAIN_RUNNER_TAG", "value": "gpu-a"}])["train"] == ["gpu-a"]
    assert data["test"]["artifacts"]["reports"]["metrics"] == "metrics.txt"
    assert "metrics.json" in data["test"]["artifacts"]["paths"] and data["test"]["artifacts"]["when"] == "always"
    assert "kaniko" in data["build"]["image"]["name"] and "services" not in data["build"]
    build = (TEMPLATE_DIR / "ci" / "build.sh").read_text()
    assert "/kaniko/executor" in build and "docker build" not in build and "CI_REGISTRY_IMAGE" in build
    assert data["deploy"]["when"] == "manual" and data["deploy"]["environment"]["name"] == "production"
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
