"""The HYBRIDHUB_* names: one table, documented, secrets marked, read back by the server side."""

import re

import pytest

from hybridhub.lab_ext.config import CodeHomeConfig, StorageConfig
from hybridhub.spawner import envvars
from hybridhub.spawner.settings import HybridSpawner
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.spawner


def test_docs_list_exactly_the_variables_with_their_secrecy():
    text = (REPO_ROOT / "docs" / "environment.md").read_text()
    rows = dict(re.findall(r"^\| `(HYBRIDHUB_[A-Z0-9_]+)` \|\s*(yes)?\s*\|", text, re.M))
    assert set(rows) == {v.name for v in envvars.ALL}
    assert {name for name, secret in rows.items() if secret == "yes"} == envvars.SECRET_NAMES


def test_spawner_settings_become_env_and_server_config_reads_them(monkeypatch):
    settings = HybridSpawner(
        storage_endpoint="https://minio.corp:9000",
        storage_browser_endpoint="https://minio.corp.example:9000",
        storage_access_key="AK",
        storage_secret_key="SK",
        storage_prefix_template="users/{username}/",
        git_remote_template="https://gitlab.corp/{username}/notebooks.git",
        gitlab_url="https://gitlab.corp",
    )
    env = settings.hybrid_env("alice")
    assert env["HYBRIDHUB_S3_PREFIX"] == "users/alice/"
    assert env["HYBRIDHUB_GIT_REMOTE_URL"] == "https://gitlab.corp/alice/notebooks.git"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    storage = StorageConfig()
    assert (storage.endpoint, storage.access_key, storage.secret_key) == ("https://minio.corp:9000", "AK", "SK")
    assert storage.verify_tls is True and storage.prefix == "users/alice/" and storage.configured
    assert storage.browser_endpoint == "https://minio.corp.example:9000"
    assert CodeHomeConfig().gitlab_url == "https://gitlab.corp"


def test_no_storage_variables_without_an_endpoint():
    env = HybridSpawner(storage_access_key="AK", storage_secret_key="SK").hybrid_env("bob")
    assert not [name for name in env if name.startswith("HYBRIDHUB_S3_")]
