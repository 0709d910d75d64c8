"""The services the hub starts (culler, cost): what the hub hands them, and the cost settings."""

from __future__ import annotations

import json

from traitlets import TraitError
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from hybridhub.hub_ext.handover import SERVICE_PREFIX
from hybridhub.spawner.profiles import CATALOG_ENV, ProfileCatalog

from .check import FAIL, PASS, WARN, Context, Result, configured

COST_SERVICE = "hybridhub-cost"
KUBE_ADDRESS = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


def hub_services(context: Context) -> list[dict]:
    """The hybridhub services the hub runs itself (a command), as configured."""
    from jupyterhub.app import JupyterHub

    services = configured(context.config, JupyterHub, "services", []) or []
    return [s for s in services if s.get("name", "").startswith(SERVICE_PREFIX) and s.get("command")]


def services_share_catalog(context: Context) -> Result:
    """Each hybridhub service gets the hub's own catalog and the Kubernetes API's address.

    JupyterHub starts services with a bare environment (hub_ext/handover.py): without the hand-over
    they use the built-in catalog and cannot find the cluster.
    """
    name = "services"
    services = hub_services(context)
    if not services:
        return Result(name, WARN, "saw_no_services", {}, "fix_no_services")
    hub_catalog = json.loads(ProfileCatalog(config=context.config).as_json())
    for service in services:
        env = service.get("environment") or {}
        text = env.get(CATALOG_ENV)
        if not text or json.loads(text) != hub_catalog:
            return Result(name, FAIL, "saw_service_catalog_differs" if text else "saw_service_catalog_missing",
                          {"service": service["name"], "variable": CATALOG_ENV}, "fix_service_handover")
        missing = [v for v in KUBE_ADDRESS if not env.get(v)]
        if missing:
            return Result(name, FAIL, "saw_service_kube", {"service": service["name"], "missing": ", ".join(missing)},
                          "fix_service_handover")
    return Result(name, PASS, "saw_services_ok", {"services": ", ".join(s["name"] for s in services)})


def cost_settings(context: Context):
    """The cost service's effective settings: its own command line and config file, as it loads them.

    Returns ``(service, None)``, or ``(None, Result)`` when they cannot be read.
    """
    from hybridhub.hub_ext.cost.service import CostService

    service = next((s for s in hub_services(context) if s["name"] == COST_SERVICE), None)
    if service is None:
        return None, Result("budget", FAIL, "saw_no_cost_service", {"service": COST_SERVICE}, "fix_no_cost_service")
    app = CostService()  # its own settings only, as the service process loads them
    try:
        app.parse_command_line([a for a in service["command"] if a.startswith("--")])
        if app.config_file:
            # the loader Application.load_config_file picks by extension; called directly, so a
            # bad value is a TraitError here instead of the application's exit
            loader = (JSONFileConfigLoader if app.config_file.endswith(".json") else PyFileConfigLoader)
            app.update_config(loader(app.config_file).load_config())
    except (OSError, ValueError, TraitError, ConfigFileNotFound, SystemExit) as e:
        return None, Result("budget", FAIL, "saw_cost_config_error", {"error": type(e).__name__ + ": " + str(e)[:200]},
                            "fix_cost_config")
    return app, None


def budget_and_prices(context: Context) -> Result:
    """A budget set on purpose, and a price for every billed item (the guard and page depend on them)."""
    name = "budget"
    app, failed = cost_settings(context)
    if failed:
        return failed
    unset = [t for t in ("budget", "lb_price_per_hour", "public_ip_price_per_hour") if t not in app.config.CostService]
    env = next(s for s in hub_services(context) if s["name"] == COST_SERVICE).get("environment") or {}
    catalog = json.loads(env.get(CATALOG_ENV) or ProfileCatalog(config=context.config).as_json())
    unpriced = [p["name"] for p in catalog["pools"] if not p.get("vm_price_per_hour")]
    if unset or unpriced:
        return Result(name, FAIL, "saw_budget_unset",
                      {"unset": ", ".join([f"CostService.{t}" for t in unset] + [f"pool {p}" for p in unpriced])},
                      "fix_budget")
    return Result(name, PASS, "saw_budget_ok", {"budget": f"{app.budget:,.0f}", "currency": app.currency,
                                                "pools": len(catalog["pools"])})


def time_zone(context: Context) -> Result:
    """The accounting month's time zone is chosen, and agrees with the hub's ``TZ`` when that is set."""
    name = "timezone"
    app, failed = cost_settings(context)
    if failed:
        return Result(name, WARN, "saw_timezone_unknown", {}, "fix_timezone")
    if "timezone" not in app.config.CostService:
        return Result(name, WARN, "saw_timezone_unset", {"zone": app.timezone}, "fix_timezone")
    hub_tz = context.environ.get("TZ")
    if hub_tz and hub_tz.lstrip(":") != app.timezone:
        return Result(name, WARN, "saw_timezone_differs", {"zone": app.timezone, "tz": hub_tz}, "fix_timezone_differs")
    return Result(name, PASS, "saw_timezone_ok", {"zone": app.timezone})
