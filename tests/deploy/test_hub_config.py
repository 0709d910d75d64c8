"""The chart's own jupyterhub_config.py over our values gives JupyterHub a valid hybridhub configuration."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from jupyterhub.app import JupyterHub
from jupyterhub.auth import Authenticator
from jupyterhub.crypto import CryptKeeper
from jupyterhub.proxy import ConfigurableHTTPProxy
from jupyterhub.spawner import Spawner
from kubespawner import KubeSpawner
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from hybridhub.hub_ext.cost.guard import BudgetGuard
from hybridhub.hub_ext.cost.service import CostService
from hybridhub.hub_ext.gitlab import HybridGitLabOAuthenticator
from hybridhub.spawner.kube import HybridKubeSpawner
from hybridhub.spawner.profiles import CATALOG_ENV, DEFAULT_PROFILES, ProfileCatalog
from hybridhub.spawner.settings import HybridSpawner

from .z2jh import (SITE_SECRET_VALUES, VALUE_SETS, HubConfigError, chart_values, config_for, hub_config)

pytestmark = pytest.mark.deploy

# every section the values may configure, and the class that owns it
CONFIGURABLES = {
    cls.__name__: cls
    for cls in (JupyterHub, KubeSpawner, HybridKubeSpawner, HybridSpawner, ProfileCatalog, HybridGitLabOAuthenticator,
                Authenticator, CryptKeeper, Spawner, BudgetGuard, ConfigurableHTTPProxy)
}
SITE_ENV = chart_values(*VALUE_SETS["aks+site"])["hub"]["extraEnv"]


def test_extra_config_snippets_compile():
    for key, code in chart_values(*VALUE_SETS["aks"])["hub"]["extraConfig"].items():
        compile(code, f"hub.extraConfig.{key}", "exec")


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_configured_trait_exists(value_set):
    c = config_for(value_set)
    for section in c:
        assert section in CONFIGURABLES, f"unknown configurable {section}"
        traits = CONFIGURABLES[section].class_traits(config=True)
        unknown = sorted(set(c[section]) - set(traits))
        assert unknown == [], f"{section} has no config trait(s) {unknown}"


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_spawner_authenticator_and_catalog(value_set):
    c = config_for(value_set)
    assert import_item(c["JupyterHub"]["spawner_class"]) is HybridKubeSpawner
    hub = JupyterHub(config=Config({"JupyterHub": {"authenticator_class": c["JupyterHub"]["authenticator_class"]}}))
    assert hub.authenticator_class is HybridGitLabOAuthenticator  # not the stock GitLabOAuthenticator
    auth = HybridGitLabOAuthenticator(config=Config(c))
    assert auth.enable_auth_state is True
    assert {"read_user", "api", "write_repository"} <= set(auth.scope)
    # the chart's default profileList ([]) must not replace the catalog's profiles
    assert "profile_list" not in c["KubeSpawner"]
    catalog = ProfileCatalog(config=Config(c))
    assert [p.slug for p in catalog.all_profiles()] == [p["slug"] for p in DEFAULT_PROFILES]
    settings = HybridSpawner(config=Config(c))
    assert settings.storage_access_key == SITE_SECRET_VALUES["minio-access-key"]
    assert settings.storage_secret_key == SITE_SECRET_VALUES["minio-secret-key"]


def test_the_chart_init_container_is_kept():
    """singleuser.cloudMetadata.blockWithIptables (default true) stays: user pods cannot read Azure's IMDS."""
    (init,) = config_for("aks+site")["KubeSpawner"]["init_containers"]
    assert init["name"] == "block-cloud-metadata" and "169.254.169.254" in init["command"]


def test_site_settings_reach_the_spawner_and_authenticator():
    c = Config(config_for("aks+site"))
    settings = HybridSpawner(config=c)
    assert settings.storage_endpoint.startswith("https://")
    assert settings.gitlab_url.startswith("https://")
    auth = HybridGitLabOAuthenticator(config=c)
    assert auth.gitlab_url == settings.gitlab_url
    assert auth.oauth_callback_url.endswith("/hub/oauth_callback")
    assert auth.allowed_groups


def test_missing_storage_secret_stops_the_hub():
    values = chart_values(*VALUE_SETS["aks"])
    secret = {k: v for k, v in SITE_SECRET_VALUES.items() if k != "minio-secret-key"}
    with tempfile.TemporaryDirectory() as root, pytest.raises(HubConfigError, match="MINIO_SECRET_KEY"):
        hub_config(values, Path(root), site_secret=secret)


def test_image_registry_and_tag_from_the_environment():
    c = config_for("aks+site", HYBRIDHUB_IMAGE_REGISTRY=SITE_ENV["HYBRIDHUB_IMAGE_REGISTRY"],
                   HYBRIDHUB_IMAGE_TAG=SITE_ENV["HYBRIDHUB_IMAGE_TAG"])
    catalog = ProfileCatalog(config=Config(c))
    for profile, default in zip(catalog.all_profiles(), DEFAULT_PROFILES, strict=True):
        name = default["image"].rpartition("/")[2].partition(":")[0]
        expected = f"{SITE_ENV['HYBRIDHUB_IMAGE_REGISTRY']}/{name}:{SITE_ENV['HYBRIDHUB_IMAGE_TAG']}"
        assert profile.image == expected
        # everything else is the catalog's own definition, untouched
        assert {**default, "image": expected} == {**catalog.profiles[catalog.all_profiles().index(profile)]}


def test_services_get_the_hubs_catalog_and_the_cluster():
    """Hub-managed services start with a bare environment: the hub hands them what they need."""
    c = config_for("aks+site", HYBRIDHUB_IMAGE_REGISTRY="registry.corp.example/ml", HYBRIDHUB_IMAGE_TAG="7")
    hub_catalog = ProfileCatalog(config=Config(c))
    services = {s["name"]: s for s in c["JupyterHub"]["services"]}
    for name in ("hybridhub-culler", "hybridhub-cost"):
        env = services[name]["environment"]
        assert env["KUBERNETES_SERVICE_HOST"] and env["KUBERNETES_SERVICE_PORT"] and env["POD_NAMESPACE"] == "jhub"
        handed = json.loads(env[CATALOG_ENV])
        assert handed == {"pools": hub_catalog.pools, "profiles": hub_catalog.profiles}
        assert all(p["image"].startswith("registry.corp.example/ml/") for p in handed["profiles"])


def test_without_registry_the_catalog_is_unchanged():
    c = config_for("aks")
    assert "profiles" not in c.get("ProfileCatalog", {})
    assert ProfileCatalog(config=Config(c)).profiles == DEFAULT_PROFILES


def test_invalid_catalog_fails_at_hub_start():
    values = chart_values(*VALUE_SETS["aks"])
    values["hub"]["config"]["ProfileCatalog"] = {"profiles": [{"slug": "x", "pool": "nope"}]}
    with tempfile.TemporaryDirectory() as root, pytest.raises(HubConfigError, match="pool|missing"):
        hub_config(values, Path(root), site_secret=SITE_SECRET_VALUES)


def test_budget_guard_reads_what_the_cost_service_writes():
    c = config_for("aks")
    assert c["Spawner"]["pre_spawn_hook"] == "hybridhub.hub_ext.cost.guard.budget_pre_spawn_hook"
    (services_file,) = chart_values(*VALUE_SETS["aks"])["hub"]["extraFiles"].values()
    cost = CostService(config=Config({"CostService": services_file["data"]["CostService"]}))
    assert BudgetGuard(config=Config(c)).summary_path == cost.summary_path
