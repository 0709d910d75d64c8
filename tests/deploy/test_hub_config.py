"""The chart's own jupyterhub_config.py over our values gives JupyterHub a valid hybridhub configuration."""

from __future__ import annotations

import json
import re
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

from .z2jh import (NO_S3_USERS, S3_USERS_KEY, S3_USERS_SECRET, SITE_SECRET_VALUES, VALUE_SETS, HubConfigError, HubPod,
                   chart_values, config_for, hub_config)

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
    # each user's own keys from the mounted Secret; no shared key in the hub at all
    assert settings.storage_credentials_file == "/usr/local/etc/hybridhub/s3-users/users.json"
    assert settings.storage_access_key == "" and settings.storage_secret_key == ""


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


def test_users_keys_secret_is_mounted_where_the_spawner_reads_it():
    """The Secret's directory is mounted read-only (no subPath, so the kubelet brings updates into
    the running pod) and its users.json is the spawner's storage_credentials_file."""
    values = chart_values(*VALUE_SETS["aks+site"])
    hub = values["hub"]
    (volume,) = [v for v in hub["extraVolumes"] if v.get("secret", {}).get("secretName") == S3_USERS_SECRET]
    (mount,) = [m for m in hub["extraVolumeMounts"] if m["name"] == volume["name"]]
    assert "subPath" not in mount and mount["readOnly"] is True
    (item,) = volume["secret"]["items"]
    assert item["key"] == S3_USERS_KEY
    assert volume["secret"]["defaultMode"] & 0o007 == 0  # nobody outside the hub's user and fsGroup
    assert volume["secret"]["defaultMode"] & 0o040  # the hub (uid 1000) reads through the pod's fsGroup
    assert hub["podSecurityContext"]["fsGroup"] == hub["containerSecurityContext"]["runAsGroup"]
    path = Path(mount["mountPath"]) / item["path"]
    assert config_for("aks+site")["HybridSpawner"]["storage_credentials_file"] == str(path)
    # no shared MinIO key reaches the hub: none in its environment, none in its configuration
    assert not [name for name in hub["extraEnv"] if "MINIO" in name or "S3" in name]
    assert not [code for code in hub["extraConfig"].values() if re.search(r"storage_(access|secret)_key", code)]
    # the pod's file is where the spawner looks (the test pod lays the Secret out as the kubelet does)
    with tempfile.TemporaryDirectory() as root:
        pod = HubPod(Path(root), values, mounted_secrets={S3_USERS_SECRET: {S3_USERS_KEY: '{"alice": {}}'}})
        pod.write()
        assert (pod.etc / path.relative_to("/usr/local/etc")).read_text() == '{"alice": {}}'


def test_hub_without_the_users_keys_secret_does_not_start():
    """Without the Secret the kubelet does not start the hub pod (the volume is not optional)."""
    values = chart_values(*VALUE_SETS["aks"])
    (volume,) = [v for v in values["hub"]["extraVolumes"] if v.get("secret", {}).get("secretName") == S3_USERS_SECRET]
    assert not volume["secret"].get("optional")
    with tempfile.TemporaryDirectory() as root, pytest.raises(ValueError, match=S3_USERS_SECRET):
        hub_config(values, Path(root), site_secret=SITE_SECRET_VALUES)


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
        hub_config(values, Path(root), site_secret=SITE_SECRET_VALUES, mounted_secrets=NO_S3_USERS)


def test_budget_guard_reads_what_the_cost_service_writes():
    c = config_for("aks")
    assert c["Spawner"]["pre_spawn_hook"] == "hybridhub.hub_ext.cost.guard.budget_pre_spawn_hook"
    (services_file,) = chart_values(*VALUE_SETS["aks"])["hub"]["extraFiles"].values()
    cost = CostService(config=Config({"CostService": services_file["data"]["CostService"]}))
    assert BudgetGuard(config=Config(c)).summary_path == cost.summary_path
