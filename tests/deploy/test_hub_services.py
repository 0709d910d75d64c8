"""The culler, cost and console services: least-privilege roles JupyterHub accepts, reachable
pages, and a configuration file every service loads."""

from __future__ import annotations

import importlib.util
import json
from urllib.parse import urlparse

import pytest
from jupyterhub.roles import _validate_role_name
from jupyterhub import scopes as hub_scopes
from jupyterhub.scopes import _check_scopes_exist, expand_scopes
from jupyterhub.services.service import Service

from hybridhub.hub_ext.console.service import ConsoleService
from hybridhub.hub_ext.cost.estimate import load_input
from hybridhub.hub_ext.cost.service import CostService
from hybridhub.hub_ext.culler.service import HybridCuller
from hybridhub.spawner.profiles import ProfileCatalog
from tests.culling.hubproc import CULLER_SCOPES  # what the culler's real-hub tests run with

from .z2jh import REPO, VALUE_SETS, chart_values, config_for

pytestmark = pytest.mark.deploy

NEEDED = {
    "hybridhub-culler": set(CULLER_SCOPES),
    # lists users and their servers to attribute node time; reads nothing else
    "hybridhub-cost": {"list:users", "read:users", "read:servers"},
    # the Services menu and the culler's address (hub API), the culler's decisions (its JSON route)
    "hybridhub-console": {"list:services", "read:services", "access:services!service=hybridhub-culler",
                          "custom:hybridhub-culler:read"},
}
SERVICE_APPS = {"HybridCuller": HybridCuller, "CostService": CostService, "ConsoleService": ConsoleService,
                "ProfileCatalog": ProfileCatalog}
LISTENS = {"hybridhub-culler": "HybridCuller", "hybridhub-cost": "CostService", "hybridhub-console": "ConsoleService"}
# JupyterHub scopes a service's OAuth tokens may carry besides custom ones: the console's navbar
# shows "Admin" to admins (admin-ui: the admin page only, no API access)
BUILTIN_OAUTH_SCOPES = {"hybridhub-console": {"admin-ui"}}
VALUES = chart_values(*VALUE_SETS["aks+site"])
(SERVICES_FILE,) = VALUES["hub"]["extraFiles"].values()


@pytest.fixture
def config():
    """The hub's configuration as the chart's jupyterhub_config.py builds it (JupyterHub section),
    its custom scopes defined as the hub defines them at start (jupyterhub/app.py, init_role_creation)."""
    hub = config_for("aks+site")["JupyterHub"]
    new = {k: v for k, v in hub.get("custom_scopes", {}).items() if k not in hub_scopes.scope_definitions}
    if new:
        hub_scopes.define_custom_scopes(new)
    return hub


def test_services_are_hub_managed_python_modules(config):
    services = {s["name"]: s for s in config["services"]}
    assert set(services) == set(NEEDED)
    fields = set(Service.class_trait_names())
    for service in services.values():
        assert set(service) <= fields, sorted(set(service) - fields)
        assert not service.get("admin"), "services get roles, never admin"
        assert "apiToken" not in VALUES["hub"]["services"][service["name"]], "the chart generates tokens"
        assert set(service["environment"]) == {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                                               "POD_NAMESPACE", "HYBRIDHUB_PROFILE_CATALOG"}
        python, flag, module, config_flag = service["command"]
        assert (python, flag) == ("python3", "-m") and module.startswith("hybridhub.hub_ext.")
        assert importlib.util.find_spec(module + ".__main__") is not None, module
        assert config_flag == f"--config={SERVICES_FILE['mountPath']}"


def test_roles_are_valid_for_jupyterhub(config):
    for role in config["load_roles"]:
        _validate_role_name(role["name"])
        _check_scopes_exist(role["scopes"], who_for=role["name"])


def test_each_service_holds_exactly_what_it_needs(config):
    granted: dict[str, set[str]] = {}
    roles = {role["name"]: role for role in config["load_roles"]}
    # JupyterHub's default "user" role, redefined: every user keeps "self" and may reach the cost
    # service, where their servers report data transfer with their own token (docs/cost.md);
    # the hub gives this role to every user itself (jupyterhub/roles.py, assign_default_roles)
    user = roles.pop("user")
    assert set(user) <= {"name", "scopes"}, "the user role names no one: the hub assigns it to all"
    assert set(user["scopes"]) == {"self", "access:services!service=hybridhub-cost"}
    for role in roles.values():
        assert set(role) <= {"name", "description", "scopes", "services"}, "other roles bind services only"
        for service in role["services"]:
            granted.setdefault(service, set()).update(role["scopes"])
    assert granted == NEEDED
    for service, scopes in granted.items():
        expanded = expand_scopes(scopes)
        assert not any(s.startswith(("admin", "tokens", "servers", "users")) for s in expanded), service
    # no service may reach into user servers: servers report to the culler, not the other way
    assert not any(s.startswith("access:servers") for g in granted.values() for s in expand_scopes(g))


def test_user_servers_know_where_to_report():
    """The culler listens on hub:10100 (hub.services); user servers report there (docs/culling.md)."""
    culler_url = VALUES["singleuser"]["extraEnv"]["HYBRIDHUB_CULLER_URL"]
    service = urlparse(VALUES["hub"]["services"]["hybridhub-culler"]["url"])
    assert culler_url == f"http://{service.hostname}:{service.port}/services/hybridhub-culler/"


def test_custom_scope_is_defined(config):
    custom = config["custom_scopes"]
    for service in config["services"]:
        for scope in service.get("oauth_client_allowed_scopes", []):
            if scope in BUILTIN_OAUTH_SCOPES.get(service["name"], ()):
                assert not scope.startswith("custom:") and expand_scopes({scope}) == {scope}
                continue
            assert scope in custom and custom[scope]["description"]
    for role in config["load_roles"]:
        assert all(custom[s]["description"] for s in role["scopes"] if s.startswith("custom:"))


def test_service_pages_are_reachable_through_the_hub_service():
    hub = VALUES["hub"]
    extra_ports = {p["port"]: p for p in hub["service"]["extraPorts"]}
    listen = {app: urlparse(settings["service_url"]) for app, settings in SERVICES_FILE["data"].items()
              if "service_url" in settings}
    for name, service in hub["services"].items():
        url = urlparse(service["url"])
        assert url.hostname == "hub" and url.port in extra_ports and extra_ports[url.port]["targetPort"] == url.port
        assert url.port in hub["networkPolicy"]["allowedIngressPorts"]
        app = LISTENS[name]
        assert listen[app].port == url.port and listen[app].hostname == "0.0.0.0"  # the Service's name is not bindable


def test_services_file_loads_in_every_service(tmp_path):
    data = SERVICES_FILE["data"]
    assert SERVICES_FILE["mountPath"].endswith(".json")  # the chart renders data to JSON by extension
    for section, settings in data.items():
        traits = SERVICE_APPS[section].class_traits(config=True)
        assert set(settings) <= set(traits), sorted(set(settings) - set(traits))
    path = tmp_path / "services.json"
    path.write_text(json.dumps(data))
    for app_class in (HybridCuller, CostService, ConsoleService):
        app = app_class()
        app.load_config_file(str(path))  # the code path of --config
        section = app_class.__name__
        for key, value in data.get(section, {}).items():
            assert getattr(app, key) == value, (section, key)


def test_services_file_keeps_no_second_catalog():
    """The services get the hub's catalog from the hub (hub_ext/handover.py), never a copy in their file."""
    assert "ProfileCatalog" not in SERVICES_FILE["data"]


def test_cost_service_terms_match_the_reference():
    cost = SERVICES_FILE["data"]["CostService"]
    assert cost["state_path"].startswith("/srv/jupyterhub/")  # the hub's persistent volume
    example = load_input(REPO / "examples" / "cost-paper-table1.yaml")
    assert float(example.lb_price_per_hour) == cost["lb_price_per_hour"]
    assert float(example.public_ip_price_per_hour) == cost["public_ip_price_per_hour"]
    assert example.public_ips == cost["public_ips"] and float(example.other) == cost["other_per_month"]
    system = cost["extra_pools"]["system"]
    same_vm = [p for p in ProfileCatalog().pool_map().values() if p.vm_size == system["vm_size"]]
    assert same_vm and same_vm[0].vm_price_per_hour == system["vm_price_per_hour"]
