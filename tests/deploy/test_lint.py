"""yamllint-clean YAML and no secret written inline in any deployment file."""

from __future__ import annotations

import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from .secrets_scan import scan_data, scan_file
from .z2jh import HERE, REPO, VALUES_DIR

pytestmark = pytest.mark.deploy

YAML_FILES = sorted(VALUES_DIR.rglob("*.yaml")) + sorted(HERE.glob("*.yaml"))
DEPLOY_FILES = YAML_FILES + sorted(VALUES_DIR.rglob("*.toml")) + sorted((REPO / "images").glob("*/Dockerfile"))


def lint_config() -> YamlLintConfig:
    return YamlLintConfig(file=str(VALUES_DIR / ".yamllint"))


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_yamllint_clean(path):
    problems = list(linter.run(path.read_text(encoding="utf-8"), lint_config(), str(path)))
    assert [f"{p.line}:{p.column} {p.rule} {p.desc}" for p in problems] == []


def test_yamllint_config_has_teeth():
    problems = list(linter.run("a: yes\nb:  [1,2]\n", lint_config()))
    assert {p.rule for p in problems} >= {"truthy", "colons"}


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_inline_secret(path):
    assert scan_file(path) == []


@pytest.mark.parametrize("bad", [
    {"hub": {"config": {"HybridGitLabOAuthenticator": {"client_secret": "s3cr3t"}}}},
    {"hub": {"extraEnv": {"OAUTH_CLIENT_SECRET": "abc"}}},
    {"proxy": {"secretToken": "0123456789abcdef0123456789abcdef"}},
    {"hub": {"extraConfig": {"x": "c.HybridSpawner.storage_secret_key = 'minio123'"}}},
    {"runnerToken": "glrt-abcdefghijklmnop"},
    {"runners": {"secret": "Not A Name!"}},
    {"note": "token glpat-abcdefghij1234567890 pasted"},
])
def test_scanner_finds_inline_secrets(bad):
    assert scan_data(bad) != []


def test_scanner_accepts_references():
    good = {"hub": {"extraEnv": {"OAUTH_CLIENT_SECRET": {"valueFrom": {"secretKeyRef": {
        "name": "hybridhub-secrets", "key": "gitlab-oauth-client-secret"}}}},
        "existingSecret": "hub-secret"}, "runners": {"secret": "gitlab-runner-cloud-token"}}
    assert scan_data(good) == []
