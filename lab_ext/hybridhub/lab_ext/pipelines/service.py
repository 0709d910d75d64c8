"""Per-server pipeline state: configuration, the two backends, data pins for the form."""

from __future__ import annotations

import os

from traitlets import Float, Int, Unicode, default
from traitlets.config import Configurable

from hybridhub.spawner import envvars

from ..storage.versions import read_pins
from .backend import PipelineBackend
from .errors import PipelineError
from .local_backend import LocalBackend


class PipelinesConfig(Configurable):
    """``c.PipelinesConfig.*``: which backend runs pipelines and how long they may take."""

    backend = Unicode(
        "auto",
        config=True,
        help="""'gitlab', 'local' or 'auto' (GitLab when a GitLab URL and token are configured,
        else local). Example: c.PipelinesConfig.backend = "local".""",
    )
    gitlab_ci_local = Unicode(config=True, help="Path of gitlab-ci-local 4.73.0 (default: the package's node_modules, then PATH).")
    local_timeout = Float(3600.0, config=True, help="Seconds a local pipeline run may take before it is stopped.")
    gitlab_timeout = Float(20.0, config=True, help="Seconds one GitLab API request may take.")
    data_cache_dir = Unicode(
        config=True,
        help="""Where local pipeline jobs keep the s3:// objects they read (the template's s3io cache,
        PIPELINE.md "Data cache": every read still asks the store, a hit is not downloaded again).
        Default: ``$XDG_CACHE_HOME/hybridhub/s3io`` (``~/.cache/hybridhub/s3io``). Empty: no cache.""",
    )
    data_cache_max_bytes = Int(
        2 << 30,
        config=True,
        help="""The data cache's bound in bytes (least recently used objects are deleted to stay under it):
        it lives in the user's home, next to their work. Default 2 GiB.""",
    )

    @default("data_cache_dir")
    def _data_cache_dir_default(self):
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(cache_home, "hybridhub", "s3io")

    @default("backend")
    def _backend_default(self):
        return os.environ.get("HYBRIDHUB_PIPELINES_BACKEND", "auto")


def s3_job_env(storage) -> dict[str, str]:
    """The object-store settings local jobs read (process environment only, never files)."""
    if storage is None or not getattr(storage, "configured", False):
        return {}
    return {
        "S3_ENDPOINT": storage.endpoint,
        "AWS_ENDPOINT_URL": storage.endpoint,
        "AWS_REGION": storage.region,
        "AWS_ACCESS_KEY_ID": storage.access_key,
        "AWS_SECRET_ACCESS_KEY": storage.secret_key,
    }


def data_cache_env(config: "PipelinesConfig") -> dict[str, str]:
    """The template's data cache for local jobs (``S3IO_CACHE_DIR``, ``S3IO_CACHE_MAX_BYTES``), if on."""
    if not config.data_cache_dir:
        return {}
    return {"S3IO_CACHE_DIR": config.data_cache_dir, "S3IO_CACHE_MAX_BYTES": str(max(0, config.data_cache_max_bytes))}


def model_job_env() -> dict[str, str]:
    """Where local jobs record models and predictions, from the server's own settings: its
    ``HYBRIDHUB_MLFLOW_TRACKING_URI`` as the jobs' ``MLFLOW_TRACKING_URI`` (design §1) and its
    ``HYBRIDHUB_PREDICTION_LOG_URI`` as ``PREDICTION_LOG_URI`` (the request log of the model servers the
    deploy job starts, §4). Each URI also under its own name, for a CI file whose ``variables:`` set
    the short name for GitLab (a job's CI variables win over the process environment in
    gitlab-ci-local). On an MLflow server with logins (the demo's), the user's own login and
    workspace as the names the MLflow client reads by itself (``MLFLOW_TRACKING_USERNAME`` /
    ``_PASSWORD``, ``MLFLOW_WORKSPACE``): process environment only, never a file; the password is
    hers alone and opens only her workspace. Never a GitLab token."""
    env = {}
    for short, var in (("MLFLOW_TRACKING_URI", envvars.MLFLOW_TRACKING_URI), ("PREDICTION_LOG_URI", envvars.PREDICTION_LOG_URI)):
        uri = os.environ.get(var.name, "").strip()
        if uri:
            env.update({short: uri, var.name: uri})
    if env.get("MLFLOW_TRACKING_URI"):
        for short, var in (("MLFLOW_TRACKING_USERNAME", envvars.MLFLOW_TRACKING_USERNAME),
                           ("MLFLOW_TRACKING_PASSWORD", envvars.MLFLOW_TRACKING_PASSWORD),
                           ("MLFLOW_WORKSPACE", envvars.MLFLOW_WORKSPACE)):  # fmt: skip
            value = os.environ.get(var.name, "").strip()
            if value:
                env[short] = value
    return env


def apply_pins(variables: list[dict], pins: list[dict]) -> list[dict]:
    """Defaults from the storage panel's pins: a ``*_URI`` whose value is pinned gets its
    ``*_VERSION``; ``DATA_URI`` with no matching pin takes the newest pin."""
    # a hand-edited pins file may hold anything: only pins that name an object count
    pins = [p for p in pins if isinstance(p, dict) and isinstance(p.get("uri"), str) and p["uri"]]
    by_uri = {p["uri"]: p for p in pins}
    newest = max(pins, key=lambda p: str(p.get("pinned_at", "")), default=None)
    values = {v["key"]: v for v in variables}
    for var in variables:
        if not var["key"].endswith("_URI"):
            continue
        version_key = var["key"][: -len("_URI")] + "_VERSION"
        pin = by_uri.get(var["value"]) or (newest if var["key"] == "DATA_URI" else None)
        if pin and version_key in values:
            var["value"] = pin["uri"]
            var["pinned"] = True
            values[version_key]["value"] = str(pin.get("version_id") or "")
            values[version_key]["pinned"] = True
    return variables


class PipelinesService:
    def __init__(self, root: str, config: PipelinesConfig, code_home=None, storage=None) -> None:
        self.root, self.config, self.code_home = root, config, code_home
        env = {**s3_job_env(storage), **model_job_env(), **data_cache_env(config)}
        self.local = LocalBackend(root, tool=config.gitlab_ci_local, timeout=config.local_timeout, env=env)
        self._gitlab: PipelineBackend | None = None

    @property
    def gitlab_configured(self) -> bool:
        return bool(self.code_home is not None and self.code_home.gitlab_url and self.code_home.gitlab_token)

    @property
    def default_backend(self) -> str:
        if self.config.backend in ("local", "gitlab"):
            return self.config.backend
        return "gitlab" if self.gitlab_configured else "local"

    def available(self) -> list[str]:
        return ["gitlab", "local"] if self.gitlab_configured else ["local"]

    def backend(self, name: str | None) -> PipelineBackend:
        name = name or self.default_backend
        if name == "local":
            return self.local
        if name == "gitlab" and self.gitlab_configured:
            if self._gitlab is None:
                from .gitlab_backend import GitLabBackend

                self._gitlab = GitLabBackend(
                    self.code_home.gitlab_url, self.code_home.gitlab_token,
                    ca_bundle=self.code_home.gitlab_ca_bundle, timeout=self.config.gitlab_timeout,
                    token_source=getattr(self.code_home, "gitlab_token_source", None),
                )  # fmt: skip
            return self._gitlab
        raise PipelineError("invalid_request", details=f"unknown or unconfigured backend {str(name)[:20]!r}")

    def pins(self) -> list[dict]:
        return read_pins(self.root)

    async def close(self) -> None:
        await self.local.close()
        if self._gitlab is not None:
            await self._gitlab.close()
