"""The classes the hub's config names (``JupyterHub.spawner_class``, ``authenticator_class``)."""

from __future__ import annotations

from importlib.metadata import entry_points

from traitlets.utils.importstring import import_item


def resolve(value, group: str):
    """A class from a config value as JupyterHub takes it: the class, a dotted name or an entry
    point name of ``group`` (``jupyterhub.spawners``, ``jupyterhub.authenticators``)."""
    if isinstance(value, type):
        return value
    name = str(value)
    for entry in entry_points(group=group):
        if entry.name == name:
            return entry.load()
    return import_item(name)


def hub_default(name: str):
    """The JupyterHub class trait's default (when the config sets none)."""
    from jupyterhub.app import JupyterHub

    return JupyterHub.class_traits()[name].default_value


def hub_class(context, name: str, group: str):
    """``c.JupyterHub.<name>`` as a class; the hub's default when unset."""
    hub = context.config.JupyterHub if "JupyterHub" in context.config else {}
    return resolve(hub.get(name) or hub_default(name), group)


def qualname(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
