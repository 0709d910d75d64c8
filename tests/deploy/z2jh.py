"""What the zero-to-jupyterhub chart does with values, reproduced for the deploy tests.

- :func:`chart_values` coalesces the chart's defaults (the schema-required subset in
  ``chart-baseline.yaml``) with ``-f`` files the way Helm does (maps merge, ``null`` deletes).
- :func:`hub_config` builds the traitlets Config the chart's ``jupyterhub_config.py`` builds:
  KubeSpawner defaults, then ``hub.config`` section by section, then ``hub.services`` and
  ``hub.loadRoles`` as JupyterHub lists, then each ``hub.extraConfig`` snippet in key order.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml
from traitlets.config import Config

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VALUES_DIR = REPO / "helm-values"
SCHEMAS = {
    "main": HERE / "schemas" / "z2jh-values.schema.json",
    "4.4.0": HERE / "schemas" / "z2jh-values-4.4.0.schema.json",
}
AKS_VALUES = VALUES_DIR / "jupyterhub-aks.yaml"
SITE_VALUES = VALUES_DIR / "jupyterhub-site.example.yaml"
VALUE_SETS = {"aks": [AKS_VALUES], "aks+site": [AKS_VALUES, SITE_VALUES]}


def load_yaml(path: Path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_schema(name: str) -> dict:
    return json.loads(SCHEMAS[name].read_text(encoding="utf-8"))


def coalesce(base: dict, override: dict) -> dict:
    """Helm's merge of a values file over defaults: maps merge key by key, null removes."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def chart_values(*files: Path) -> dict:
    values = load_yaml(HERE / "chart-baseline.yaml")
    for path in files:
        values = coalesce(values, load_yaml(path) or {})
    return values


def hub_config(values: dict) -> Config:
    """The Config the chart's jupyterhub_config.py hands JupyterHub (the parts values drive)."""
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    single = values.get("singleuser", {})
    image = single.get("image", {})
    c.KubeSpawner.image = f"{image['name']}:{image['tag']}"
    c.KubeSpawner.cmd = single.get("cmd")
    c.KubeSpawner.default_url = single.get("defaultUrl") or ""
    c.KubeSpawner.start_timeout = single.get("startTimeout", 300)
    hub = values.get("hub", {})
    for section, settings in (hub.get("config") or {}).items():
        c[section].update(copy.deepcopy(settings))
    services, roles = [], []
    for name, service in (hub.get("services") or {}).items():
        service = dict(service, name=service.get("name", name))
        if "apiToken" in service:
            service["api_token"] = service.pop("apiToken")
        services.append(service)
    for name, role in (hub.get("loadRoles") or {}).items():
        roles.append(dict(role, name=role.get("name", name)))
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
    for key in sorted(hub.get("extraConfig") or {}):
        code = compile(hub["extraConfig"][key], f"hub.extraConfig.{key}", "exec")
        exec(code, {"c": c, "get_config": lambda: c})
    return c
