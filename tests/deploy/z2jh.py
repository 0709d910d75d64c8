"""The zero-to-jupyterhub chart's own hub, run over hybridhub's values (chart 4.4.0).

- :func:`chart_values` coalesces the chart's real default ``values.yaml`` with ``-f`` files the way
  Helm does (maps merge key by key, ``null`` deletes a default).
- :class:`HubPod` lays out what the chart mounts into the hub pod (its ``jupyterhub_config.py`` and
  ``z2jh.py``, the Secret with the merged values and generated keys, the ConfigMap with resource
  names, ``hub.extraFiles``, the Secrets of ``hub.extraVolumes``/``extraVolumeMounts``, the
  service-account files, the ``/srv/jupyterhub`` volume) and runs a command in a private mount
  namespace where those paths are where the chart puts them, with the hub container's environment.
  Nothing of the chart is re-implemented: its files are run as they are.
- :func:`hub_config` loads the chart's ``jupyterhub_config.py`` with JupyterHub's own config loader
  in such a pod and returns the resulting configuration as JSON.

The chart's files live outside the repository (``../shared/z2jh-4.4.0``, see its README) and are
never copied into it; ``HYBRIDHUB_Z2JH_DIR`` points elsewhere if needed.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import secrets
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# beside the checkout (../shared), else where this workplace keeps it; HYBRIDHUB_Z2JH_DIR wins
_CHART_PLACES = [REPO.parent / "shared" / "z2jh-4.4.0", Path("/work/shared/z2jh-4.4.0")]
CHART = Path(os.environ.get("HYBRIDHUB_Z2JH_DIR")
             or next((p for p in _CHART_PLACES if (p / "values.yaml").is_file()), _CHART_PLACES[0]))
CHART_VERSION = "4.4.0"
VALUES_DIR = REPO / "helm-values"
SCHEMAS = {
    "main": HERE / "schemas" / "z2jh-values.schema.json",
    "4.4.0": HERE / "schemas" / "z2jh-values-4.4.0.schema.json",
}
AKS_VALUES = VALUES_DIR / "jupyterhub-aks.yaml"
SITE_VALUES = VALUES_DIR / "jupyterhub-site.example.yaml"
VALUE_SETS = {"aks": [AKS_VALUES], "aks+site": [AKS_VALUES, SITE_VALUES]}
RELEASE = {"Name": "hybridhub", "Namespace": "jhub", "Service": "Helm"}
# resource names from the chart's ConfigMap (templates/_helpers-names.tpl with fullnameOverride "")
RESOURCE_NAMES = ("hub", "proxy-api", "proxy-http", "proxy-public", "singleuser", "image-pull-secret",
                  "user-scheduler", "priority")
# the secret holding what hub.extraEnv's secretKeyRefs name (docs/deploy-aks.md, step 4)
SITE_SECRET = "hybridhub-secrets"


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


def _published(values):
    """The published chart's defaults: chartpress replaces "set-by-chartpress" with the version."""
    if isinstance(values, dict):
        return {k: _published(v) for k, v in values.items()}
    if isinstance(values, list):
        return [_published(v) for v in values]
    return CHART_VERSION if values == "set-by-chartpress" else values


@lru_cache
def chart_defaults() -> dict:
    path = CHART / "values.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"the zero-to-jupyterhub {CHART_VERSION} files are missing: {path}")
    return _published(load_yaml(path))


def chart_values(*files: Path | dict) -> dict:
    """The chart's defaults, then each values file (a path, or a dict for a test's own layer)."""
    values = chart_defaults()
    for layer in files:
        values = coalesce(values, layer if isinstance(layer, dict) else (load_yaml(layer) or {}))
    return _without_nulls(values)


def _without_nulls(values):
    """Helm's coalesced .Values hold no null entries (pkg/chartutil/coalesce.go deletes them), so
    the chart's ``nameOverride:`` reaches z2jh.get_config as absent, not as None."""
    if isinstance(values, dict):
        return {k: _without_nulls(v) for k, v in values.items() if v is not None}
    if isinstance(values, list):
        return [_without_nulls(v) for v in values]
    return values


def _render_extra_file(details: dict) -> str:
    """hub.extraFiles: ``data`` rendered by the mount path's extension (JSON, YAML, TOML), else stringData."""
    if "stringData" in details:
        return details["stringData"]
    if "binaryData" in details:
        return base64.b64decode(details["binaryData"]).decode()
    data = details["data"]
    if details["mountPath"].endswith(".json"):
        return json.dumps(data)
    return yaml.safe_dump(data)


class HubPod:
    """The hub pod's files and environment under ``root``; :meth:`command` runs a program in it."""

    def __init__(self, root: Path, values: dict, *, site_secret: dict[str, str] | None = None,
                 service_hosts: dict[str, tuple[str, int]] | None = None, namespace: str = "jhub",
                 kube_api: tuple[str, int] | None = None, kube_ca: Path | None = None,
                 kube_token: str = "hub-service-account-token",
                 mounted_secrets: dict[str, dict[str, str]] | None = None):
        self.root = root
        self.values = values
        self.namespace = namespace
        self.site_secret = site_secret or {}
        self.mounted_secrets = dict(mounted_secrets or {})  # Secret name -> {key: content} (hub.extraVolumes)
        self.service_hosts = service_hosts or {}
        self.kube_api = kube_api
        self.kube_ca = kube_ca
        self.kube_token = kube_token
        self.generated = {
            "hub.config.ConfigurableHTTPProxy.auth_token": secrets.token_hex(32),
            "hub.config.JupyterHub.cookie_secret": secrets.token_hex(32),
            "hub.config.CryptKeeper.keys": secrets.token_hex(32),
        }
        for key in (values.get("hub", {}).get("services") or {}):
            self.generated[f"hub.services.{key}.apiToken"] = secrets.token_hex(32)

    # -- files -------------------------------------------------------------------------
    @property
    def etc(self) -> Path:  # mounted at /usr/local/etc
        return self.root / "usr-local-etc"

    @property
    def srv(self) -> Path:  # mounted at /srv (the hub's PVC at /srv/jupyterhub)
        return self.root / "srv"

    @property
    def serviceaccount(self) -> Path:  # mounted at /var/run/secrets/kubernetes.io/serviceaccount
        return self.root / "serviceaccount"

    @property
    def hosts(self) -> Path:  # the cluster's DNS names of Services, as /etc/hosts
        return self.root / "hosts"

    def write(self) -> None:
        jh = self.etc / "jupyterhub"
        for sub in ("config", "secret"):
            (jh / sub).mkdir(parents=True, exist_ok=True)
        for name in ("jupyterhub_config.py", "z2jh.py"):
            shutil.copyfile(CHART / "files" / "hub" / name, jh / name)  # mounted, run as shipped
        for name in RESOURCE_NAMES:
            (jh / "config" / name).write_text(name)
        # templates/hub/secret.yaml: the merged values plus Chart and Release, and the generated keys
        secret_values = dict(copy.deepcopy(self.values), Chart={"Name": "jupyterhub", "Version": CHART_VERSION,
                                                                 "AppVersion": "5.4.3"}, Release=RELEASE)
        (jh / "secret" / "values.yaml").write_text(yaml.safe_dump(secret_values))
        for key, value in self.generated.items():
            (jh / "secret" / key).write_text(value)
        for details in (self.values.get("hub", {}).get("extraFiles") or {}).values():
            target = Path(details["mountPath"])
            if not str(target).startswith("/usr/local/etc/"):
                raise ValueError(f"this test pod mounts extraFiles under /usr/local/etc only: {target}")
            path = self.etc / target.relative_to("/usr/local/etc")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_render_extra_file(details))
        for volume in self.values.get("hub", {}).get("extraVolumes") or []:
            source = volume.get("secret") or {}
            if source and source["secretName"] not in self.mounted_secrets and not source.get("optional"):
                # the kubelet would not start the pod: the test provides every mounted Secret
                raise ValueError(f"hub.extraVolumes {volume['name']}: Secret {source['secretName']} not provided")
        for name in self.mounted_secrets:
            self.write_secret_volume(name)
        (self.srv / "jupyterhub").mkdir(parents=True, exist_ok=True)
        self.serviceaccount.mkdir(parents=True, exist_ok=True)
        (self.serviceaccount / "namespace").write_text(self.namespace)
        (self.serviceaccount / "token").write_text(self.kube_token)
        if self.kube_ca is not None:
            shutil.copyfile(self.kube_ca, self.serviceaccount / "ca.crt")
        names = sorted({"localhost", *self.service_hosts})
        self.hosts.write_text("127.0.0.1 " + " ".join(names) + "\n::1 localhost\n")

    def secret_mounts(self, secret_name: str) -> list[tuple[dict, dict]]:
        """``(volume, mount)`` pairs of hub.extraVolumes/extraVolumeMounts that show ``secret_name``."""
        hub = self.values.get("hub", {})
        volumes = {v["name"]: v for v in hub.get("extraVolumes") or []}
        return [(volumes[m["name"]], m) for m in hub.get("extraVolumeMounts") or []
                if (volumes.get(m["name"], {}).get("secret") or {}).get("secretName") == secret_name]

    def write_secret_volume(self, name: str) -> None:
        """The kubelet's view of a Secret volume: each item at its path under the mount, with the
        volume's mode, each file replaced whole (its atomic writer swaps a symlink; a reader never
        sees half a file). Called again after :meth:`update_secret`, as the kubelet's periodic sync
        does for a mounted Secret (not for a subPath mount, which never sees an update)."""
        data = self.mounted_secrets[name]
        for volume, mount in self.secret_mounts(name):
            source = volume["secret"]
            target = Path(mount["mountPath"])
            if mount.get("subPath") or not str(target).startswith("/usr/local/etc/"):
                raise ValueError(f"this test pod mounts whole Secret volumes under /usr/local/etc only: {mount}")
            items = source.get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                if item["key"] not in data:  # the kubelet would not start the pod
                    raise ValueError(f"Secret {name} has no key {item['key']}")
                path = self.etc / target.relative_to("/usr/local/etc") / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                fresh = path.with_name(f".{path.name}.new")
                fresh.write_text(data[item["key"]])
                fresh.chmod(item.get("mode", source.get("defaultMode", 0o644)))
                fresh.replace(path)

    def update_secret(self, name: str, data: dict[str, str]) -> None:
        """``kubectl apply`` of a changed Secret, as the running pod sees it after the kubelet's sync."""
        self.mounted_secrets[name] = dict(data)
        self.write_secret_volume(name)

    # -- environment -------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """templates/hub/deployment.yaml's env, Kubernetes' service variables, hub.extraEnv."""
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.srv / "jupyterhub"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "HELM_RELEASE_NAME": RELEASE["Name"],
            "POD_NAMESPACE": self.namespace,
            "CONFIGPROXY_AUTH_TOKEN": self.generated["hub.config.ConfigurableHTTPProxy.auth_token"],
        }
        if self.kube_api is not None:
            host, port = self.kube_api
            env.update({"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": str(port),
                        "KUBERNETES_SERVICE_PORT_HTTPS": str(port)})
        for name, (host, port) in self.service_hosts.items():
            prefix = name.upper().replace("-", "_")
            env[f"{prefix}_SERVICE_HOST"] = host
            env[f"{prefix}_SERVICE_PORT"] = str(port)
        for name, spec in (self.values.get("hub", {}).get("extraEnv") or {}).items():
            if isinstance(spec, dict):
                ref = (spec.get("valueFrom") or {}).get("secretKeyRef") or {}
                if ref.get("name") != SITE_SECRET:
                    raise ValueError(f"hub.extraEnv.{name}: unsupported source {spec}")
                if ref["key"] not in self.site_secret:
                    continue  # the kubelet would refuse to start the pod: the test provides every key
                env[name] = self.site_secret[ref["key"]]
            else:
                env[name] = str(spec)
        return env

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` in a private mount namespace where the chart's paths hold this pod's files."""
        script = (
            'set -e; R="$1"; shift; '
            'mount --bind "$R/usr-local-etc" /usr/local/etc; '
            'mount --bind "$R/srv" /srv; '
            'mount -t tmpfs tmpfs /run; '
            'mkdir -p /run/secrets/kubernetes.io/serviceaccount; '
            'mount --bind "$R/serviceaccount" /run/secrets/kubernetes.io/serviceaccount; '
            'mount --bind "$R/hosts" /etc/hosts; '
            'cd /srv/jupyterhub; exec "$@"'
        )
        unshare = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare.insert(1, "--map-root-user")
        return [*unshare, "sh", "-c", script, "hub-pod", str(self.root), *argv]


# JupyterHub's own loader over the chart's config file; callables and objects as text
_DUMP = """
import json, sys
from jupyterhub.app import JupyterHub

def plain(value):
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return repr(value)

app = JupyterHub()
app.load_config_file("/usr/local/etc/jupyterhub/jupyterhub_config.py")
print("\\n@@CONFIG@@" + json.dumps(app.config, default=plain))
"""


def hub_config(values: dict, root: Path, *, env: dict[str, str] | None = None,
               site_secret: dict[str, str] | None = None,
               mounted_secrets: dict[str, dict[str, str]] | None = None) -> dict:
    """The configuration the chart's jupyterhub_config.py builds from ``values`` (JSON)."""
    pod = HubPod(root, values, site_secret=site_secret, mounted_secrets=mounted_secrets,
                 service_hosts={"hub": ("127.0.0.1", 8081), "proxy-api": ("127.0.0.1", 8001),
                                "proxy-public": ("127.0.0.1", 80)},
                 kube_api=("127.0.0.1", 443))
    pod.write()
    result = subprocess.run(pod.command([sys.executable, "-c", _DUMP]), env={**pod.environment(), **(env or {})},
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or "@@CONFIG@@" not in result.stdout:
        raise HubConfigError(result.stdout[-3000:] + result.stderr[-3000:])
    return json.loads(result.stdout.rsplit("@@CONFIG@@", 1)[1])


class HubConfigError(RuntimeError):
    """The chart's hub configuration failed to load (the hub pod would crash-loop)."""


SITE_SECRET_VALUES = {  # what `kubectl create secret generic hybridhub-secrets` holds (docs/deploy-aks.md)
    "gitlab-oauth-client-id": "test-client-id",
    "gitlab-oauth-client-secret": "test-client-secret",
    "crypt-key": "ab" * 32,
}
# the Secret of each user's own MinIO keys, mounted into the hub pod (hub.extraVolumes)
S3_USERS_SECRET = "hybridhub-s3-users"
S3_USERS_KEY = "users.json"
NO_S3_USERS = {S3_USERS_SECRET: {S3_USERS_KEY: "{}"}}  # the Secret, before the first user is added


@lru_cache
def _cached_config(value_set: str, env_items: tuple) -> str:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="z2jh-hub-") as root:
        return json.dumps(hub_config(chart_values(*VALUE_SETS[value_set]), Path(root), env=dict(env_items),
                                     site_secret=SITE_SECRET_VALUES, mounted_secrets=NO_S3_USERS))


def config_for(value_set: str, **env: str) -> dict:
    """The chart-built hub configuration for a value set (cached; a fresh copy each call)."""
    return json.loads(_cached_config(value_set, tuple(sorted(env.items()))))


def with_cluster_dns(hosts: Path, argv: list[str]) -> list[str]:
    """``argv`` seeing ``hosts`` as /etc/hosts: the cluster's DNS names of the chart's Services."""
    unshare = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        unshare.insert(1, "--map-root-user")
    script = 'set -e; mount --bind "$1" /etc/hosts; shift; exec "$@"'
    return [*unshare, "sh", "-c", script, "cluster-dns", str(hosts), *argv]
