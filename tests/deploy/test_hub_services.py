"""The culler and cost services run with least-privilege roles that JupyterHub accepts."""

from __future__ import annotations

import importlib.util

import pytest
from jupyterhub.roles import _validate_role_name
from jupyterhub.scopes import _check_scopes_exist, expand_scopes

from .z2jh import VALUE_SETS, chart_values, hub_config

pytestmark = pytest.mark.deploy

# What each service does with the hub API, and so all it may hold.
NEEDED = {
    "hybridhub-culler": {"list:users", "read:users:activity", "read:servers", "delete:servers"},
    "hybridhub-cost": {"list:users", "read:users", "read:servers"},
}


@pytest.fixture
def config(monkeypatch):
    monkeypatch.setenv("MINIO_ACCESS_KEY", "a")
    monkeypatch.setenv("MINIO_SECRET_KEY", "b")
    return hub_config(chart_values(*VALUE_SETS["aks"]))


def test_services_are_hub_managed_python_modules(config):
    services = {s["name"]: s for s in config.JupyterHub.services}
    assert set(services) == set(NEEDED)
    for service in services.values():
        assert not service.get("admin"), "services get roles, never admin"
        assert "api_token" not in service, "tokens are generated, never written in values"
        python, flag, module = service["command"]
        assert (python, flag) == ("python3", "-m") and module.startswith("hybridhub.hub_ext.")
        package = module.rsplit(".", 1)[0] if module.endswith(".service") else module
        assert importlib.util.find_spec(package) is not None, package


def test_roles_are_valid_for_jupyterhub(config):
    for role in config.JupyterHub.load_roles:
        _validate_role_name(role["name"])
        _check_scopes_exist(role["scopes"], who_for=role["name"])


def test_each_service_holds_exactly_what_it_needs(config):
    granted: dict[str, set[str]] = {}
    for role in config.JupyterHub.load_roles:
        assert set(role) <= {"name", "description", "scopes", "services"}, "roles bind services only"
        for service in role["services"]:
            granted.setdefault(service, set()).update(role["scopes"])
    assert granted == NEEDED
    for service, scopes in granted.items():
        expanded = expand_scopes(scopes)
        assert not any(s.startswith(("admin", "tokens", "access:servers", "servers")) for s in expanded), service
