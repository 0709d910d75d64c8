"""The hub hands its services the cluster's address, their namespace and its own catalog."""

from __future__ import annotations

import json

import pytest
from traitlets.config import Config

from hybridhub.hub_ext.handover import hand_over_to_services
from hybridhub.spawner.profiles import CATALOG_ENV, DEFAULT_PROFILES, ProfileCatalog, ProfileError

pytestmark = pytest.mark.deploy


def hub_config_with_services() -> Config:
    c = Config()
    profiles = [dict(p, image=p["image"].replace("registry.example.com", "registry.corp")) for p in DEFAULT_PROFILES]
    c.ProfileCatalog.profiles = profiles
    c.JupyterHub.services = [
        {"name": "hybridhub-cost", "command": ["python3", "-m", "hybridhub.hub_ext.cost"], "environment": {"A": "1"}},
        {"name": "hybridhub-culler", "command": ["python3", "-m", "hybridhub.hub_ext.culler"]},
        {"name": "grafana", "url": "http://grafana:3000"},  # not ours: untouched
        {"name": "hybridhub-external", "url": "http://x"},  # not started by the hub: nothing to hand over
    ]
    return c


def test_services_get_cluster_namespace_and_catalog(monkeypatch):
    c = hub_config_with_services()
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443", "POD_NAMESPACE": "jhub",
               "MINIO_SECRET_KEY": "never-passed"}
    assert hand_over_to_services(c, environ) == ["hybridhub-cost", "hybridhub-culler"]
    cost, culler, grafana, external = c.JupyterHub.services
    assert cost["environment"]["A"] == "1"
    for service in (cost, culler):
        env = service["environment"]
        assert {k: env[k] for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE")} == {
            "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443", "POD_NAMESPACE": "jhub"}
        assert "MINIO_SECRET_KEY" not in env
        # what the service's own ProfileCatalog then reads: the hub's catalog, not the built-in one
        monkeypatch.setenv(CATALOG_ENV, env[CATALOG_ENV])
        assert ProfileCatalog().profiles == c.ProfileCatalog.profiles
    assert "environment" not in grafana and "environment" not in external


def test_a_broken_handover_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(CATALOG_ENV, "{not json")
    with pytest.raises(ProfileError, match=CATALOG_ENV):
        ProfileCatalog().profiles  # noqa: B018


def test_without_handover_the_reference_catalog(monkeypatch):
    monkeypatch.delenv(CATALOG_ENV, raising=False)
    assert ProfileCatalog().profiles == DEFAULT_PROFILES
    assert json.loads(ProfileCatalog().as_json())["profiles"] == DEFAULT_PROFILES
