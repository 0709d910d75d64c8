"""hub.config and hub.extraConfig give JupyterHub a valid hybridhub configuration."""

from __future__ import annotations

import pytest
from jupyterhub.app import JupyterHub
from jupyterhub.auth import Authenticator
from jupyterhub.crypto import CryptKeeper
from jupyterhub.spawner import Spawner
from kubespawner import KubeSpawner
from oauthenticator.gitlab import GitLabOAuthenticator
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from hybridhub.hub_ext.cost.guard import BudgetGuard, budget_pre_spawn_hook
from hybridhub.hub_ext.cost.service import CostService
from hybridhub.spawner.kube import HybridKubeSpawner
from hybridhub.spawner.profiles import DEFAULT_PROFILES, ProfileCatalog
from hybridhub.spawner.settings import HybridSpawner

from .z2jh import VALUE_SETS, chart_values, hub_config

pytestmark = pytest.mark.deploy

# every section the values may configure, and the class that owns it
CONFIGURABLES = {
    cls.__name__: cls
    for cls in (JupyterHub, KubeSpawner, HybridKubeSpawner, HybridSpawner, ProfileCatalog, GitLabOAuthenticator,
                Authenticator, CryptKeeper, Spawner, BudgetGuard)
}
SECRETS_ENV = {"MINIO_ACCESS_KEY": "test-access", "MINIO_SECRET_KEY": "test-secret-key"}


@pytest.fixture
def secrets_env(monkeypatch):
    for name, value in SECRETS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HYBRIDHUB_IMAGE_REGISTRY", raising=False)
    monkeypatch.delenv("HYBRIDHUB_IMAGE_TAG", raising=False)


def config_for(value_set: str):
    return hub_config(chart_values(*VALUE_SETS[value_set]))


def test_extra_config_snippets_compile():
    for key, code in chart_values(*VALUE_SETS["aks"])["hub"]["extraConfig"].items():
        compile(code, f"hub.extraConfig.{key}", "exec")


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_configured_trait_exists(secrets_env, value_set):
    c = config_for(value_set)
    for section in c:
        assert section in CONFIGURABLES, f"unknown configurable {section}"
        traits = CONFIGURABLES[section].class_traits(config=True)
        unknown = sorted(set(c[section]) - set(traits))
        assert unknown == [], f"{section} has no config trait(s) {unknown}"


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_spawner_authenticator_and_catalog(secrets_env, value_set):
    c = config_for(value_set)
    spawner_class = import_item(c.JupyterHub.spawner_class)
    assert spawner_class is HybridKubeSpawner and issubclass(spawner_class, KubeSpawner)
    hub = JupyterHub(config=c)
    assert hub.authenticator_class is GitLabOAuthenticator  # "gitlab" through the entry point
    auth = GitLabOAuthenticator(config=c)
    assert auth.enable_auth_state is True
    assert {"read_user", "api"} <= set(auth.scope)
    catalog = ProfileCatalog(config=c)
    assert [p.slug for p in catalog.all_profiles()] == [p["slug"] for p in DEFAULT_PROFILES]
    settings = HybridSpawner(config=c)
    assert settings.storage_access_key == SECRETS_ENV["MINIO_ACCESS_KEY"]
    assert settings.storage_secret_key == SECRETS_ENV["MINIO_SECRET_KEY"]


def test_site_settings_reach_the_spawner_and_authenticator(secrets_env):
    c = config_for("aks+site")
    settings = HybridSpawner(config=c)
    assert settings.storage_endpoint.startswith("https://")
    assert settings.gitlab_url.startswith("https://")
    auth = GitLabOAuthenticator(config=c)
    assert auth.gitlab_url == settings.gitlab_url
    assert auth.oauth_callback_url.endswith("/hub/oauth_callback")
    assert auth.allowed_gitlab_groups


def test_missing_storage_secret_stops_the_hub(monkeypatch):
    monkeypatch.delenv("MINIO_ACCESS_KEY", raising=False)
    monkeypatch.delenv("MINIO_SECRET_KEY", raising=False)
    with pytest.raises(KeyError):
        config_for("aks")


def test_image_registry_and_tag_from_the_environment(secrets_env, monkeypatch):
    site_env = chart_values(*VALUE_SETS["aks+site"])["hub"]["extraEnv"]
    monkeypatch.setenv("HYBRIDHUB_IMAGE_REGISTRY", site_env["HYBRIDHUB_IMAGE_REGISTRY"])
    monkeypatch.setenv("HYBRIDHUB_IMAGE_TAG", site_env["HYBRIDHUB_IMAGE_TAG"])
    catalog = ProfileCatalog(config=config_for("aks+site"))
    for profile, default in zip(catalog.all_profiles(), DEFAULT_PROFILES, strict=True):
        name = default["image"].rpartition("/")[2].partition(":")[0]
        expected = f"{site_env['HYBRIDHUB_IMAGE_REGISTRY']}/{name}:{site_env['HYBRIDHUB_IMAGE_TAG']}"
        assert profile.image == expected
        # everything else is the catalog's own definition, untouched
        assert {**default, "image": expected} == {**catalog.profiles[catalog.all_profiles().index(profile)]}


def test_without_registry_the_catalog_is_unchanged(secrets_env):
    c = config_for("aks")
    assert "profiles" not in c.ProfileCatalog
    assert ProfileCatalog(config=c).profiles == DEFAULT_PROFILES


def test_invalid_catalog_fails_at_hub_start(secrets_env):
    values = chart_values(*VALUE_SETS["aks"])
    values["hub"]["config"]["ProfileCatalog"] = {"profiles": [{"slug": "x", "pool": "nope"}]}
    with pytest.raises(Exception, match="pool|missing"):
        hub_config(values)


def test_budget_guard_reads_what_the_cost_service_writes(secrets_env, tmp_path):
    c = config_for("aks")
    assert c.Spawner.pre_spawn_hook is budget_pre_spawn_hook
    (services_file,) = chart_values(*VALUE_SETS["aks"])["hub"]["extraFiles"].values()
    cost = CostService(config=Config({"CostService": services_file["data"]["CostService"]}))
    assert BudgetGuard(config=c).summary_path == cost.summary_path
