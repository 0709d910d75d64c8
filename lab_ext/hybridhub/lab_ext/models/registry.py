"""The model registry's read side, over the MLflow client API (mlflow-skinny): only the calls
GitLab's registry implements (design §1): get-experiment-by-name, search runs of that one
experiment, get/search registered models, and artifact downloads.

Versions are the runs of the experiment named like the model that carry the tag
``hybridhub.version`` (the pipeline's train job writes them, design §1); their registry version
id is the run tag ``hybridhub.registry_version``.

The user's token stays with this client: the MLflow stores are built here with a credentials
function of their own (``RestStore(get_host_creds)``: mlflow calls it before every request), so
no ``MLFLOW_TRACKING_TOKEN`` is ever put in ``os.environ`` (which every thread and every child
process would share) and mlflow's per-URI store cache, which the other MLflow clients of this
process use, is not touched. Calls run in a worker thread with a deadline; mlflow's own
retries are turned off for this process (``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` defaults to 0 here,
its timeout to this client's), so an unreachable registry is answered within the deadline.

An MLflow server with its basic-auth app and workspaces (the demo's): the user's own MLflow login
(``HYBRIDHUB_MLFLOW_TRACKING_USERNAME`` / ``_PASSWORD``) goes into the same credentials function,
and her workspace (``HYBRIDHUB_MLFLOW_WORKSPACE``) is bound only inside the worker thread of each
call (mlflow's request workspace, a context variable its ``http_request`` turns into the
``X-MLflow-Workspace`` header), never ``MLFLOW_WORKSPACE`` in ``os.environ``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Awaitable, Callable

from hybridhub.spawner import envvars

from .errors import ModelsError

VERSION_TAG = "hybridhub.version"
EXPERIMENT_PREFIX = "[model]"  # the experiment GitLab makes for a registered model (create_model_service.rb)
SEMVER = re.compile(r"^(0|[1-9]\d{0,17})\.(0|[1-9]\d{0,17})\.(0|[1-9]\d{0,17})(?:-[0-9A-Za-z.-]{1,64})?$")
MAX_NAME = 255
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,254}$")
MAX_RUNS = 1000  # runs of one model read per listing (GitLab's largest page)
#: a name or version the registry refuses to look up is one it does not have
_MISSING = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND", "INVALID_PARAMETER_VALUE", "BAD_REQUEST"}
_DENIED = {"PERMISSION_DENIED", "UNAUTHENTICATED"}
_DENIED_STATUS = re.compile(r"\b(401|403)\b")


def check_name(name: Any) -> str:
    """A registered model's name as the pipeline writes it (MODEL_NAME), else ``invalid_request``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ModelsError("invalid_request", details="name: a model name (letters, digits, '.', '_', '-', space)")
    return name


def check_version(version: Any) -> str:
    """A semantic version (GitLab's registry allows no other), else ``invalid_version``."""
    if not isinstance(version, str) or not SEMVER.fullmatch(version):
        raise ModelsError("invalid_version", details="a version is a semantic version such as 1.0.42")
    return version


def _iso(millis: int | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(millis / 1000)) if millis else None


def _json_tag(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def gate_of(tags: dict[str, str]) -> dict:
    """``{"passed": True|False|None, "reasons": [...]}`` from the test job's gate tags."""
    state = tags.get("hybridhub.gate")
    raw = tags.get("hybridhub.gate_reasons") or ""
    listed = _json_tag(raw)
    if isinstance(listed, list):
        reasons = [str(r) for r in listed if str(r).strip()]
    else:
        reasons = [line.strip() for line in re.split(r"[\n;]", raw) if line.strip()]
    return {"passed": True if state == "passed" else False if state == "failed" else None, "reasons": reasons}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


@dataclass
class Version:
    """One model version: a run of the model's experiment with the ``hybridhub.*`` tags."""

    run_id: str
    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    start_time: int | None
    artifact_uri: str
    extra: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.tags[VERSION_TAG]

    @property
    def pipeline_id(self) -> int | None:
        return _int(self.tags.get("hybridhub.pipeline_id"))

    @property
    def gate(self) -> dict:
        return gate_of(self.tags)

    def data(self, which: str) -> dict | None:
        found = _json_tag(self.tags.get(f"hybridhub.data.{which}"))
        return found if isinstance(found, dict) else None

    def summary(self) -> dict:
        """The version as ``GET models/versions`` lists it (design §6), without ``serving``."""
        return {
            "version": self.version, "registry_version": self.tags.get("hybridhub.registry_version"),
            "run_id": self.run_id, "created_at": _iso(self.start_time), "pipeline_id": self.pipeline_id,
            "commit": self.tags.get("hybridhub.commit"), "gate": self.gate, "metrics": dict(self.metrics),
            "reproduces": self.tags.get("hybridhub.reproduces") or None,
        }  # fmt: skip


def version_of(run) -> Version | None:
    """The :class:`Version` an MLflow run records, or None for a run that is no model version."""
    tags = dict(run.data.tags)
    if not tags.get(VERSION_TAG):
        return None
    return Version(run.info.run_id, tags, dict(run.data.metrics), dict(run.data.params), run.info.start_time,
                   run.info.artifact_uri or "")  # fmt: skip


def limit_mlflow_retries(timeout: float) -> None:
    """mlflow's HTTP retries (7, with back-off, by default) and timeout (120 s) come from the
    process environment only: without a retry, a deadline of ``timeout`` seconds holds. Values
    an administrator set are kept."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, int(timeout))))


def _env(var: envvars.EnvVar) -> str:
    return os.environ.get(var.name, "").strip()


class Registry:
    """One registry (a tracking URI) as one user sees it (``token``: theirs, or none)."""

    def __init__(self, uri: str, *, kind: str = "mlflow", token: str | Callable[[], str] = "", ca_bundle: str = "",
                 timeout: float = 15.0, renew: Callable[[str], Awaitable[bool]] | None = None,
                 username: str | None = None, password: str | None = None, workspace: str | None = None) -> None:  # fmt: skip
        """``renew(rejected_token)``: get a fresh token once the registry refused this one (the
        server's GitLabTokenSource.renew); True when a retry may succeed. ``username``,
        ``password``, ``workspace``: an MLflow server's login and workspace, by default (kind
        ``mlflow``) the server's ``HYBRIDHUB_MLFLOW_*`` settings; GitLab's registry has neither."""
        self.uri = uri.rstrip("/")
        self.renew = renew
        self.kind = kind
        self._token = token
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        mlflow = kind == "mlflow"
        self.username = username if username is not None else _env(envvars.MLFLOW_TRACKING_USERNAME) if mlflow else ""
        self._password = password if password is not None else _env(envvars.MLFLOW_TRACKING_PASSWORD) if mlflow else ""
        self.workspace = workspace if workspace is not None else _env(envvars.MLFLOW_WORKSPACE) if mlflow else ""
        limit_mlflow_retries(timeout)

    def __repr__(self) -> str:  # never the token
        return f"Registry({self.uri!r}, kind={self.kind!r})"

    def token(self) -> str:
        return self._token() if callable(self._token) else self._token

    def creds(self):
        from mlflow.utils.rest_utils import MlflowHostCreds

        login = {"username": self.username, "password": self._password} if self.username and self._password else {}
        return MlflowHostCreds(host=self.uri, token=self.token() or None, server_cert_path=self.ca_bundle or None, **login)

    @cached_property
    def tracking(self):
        from mlflow.store.tracking.rest_store import RestStore

        return RestStore(self.creds)

    @cached_property
    def models_store(self):
        from mlflow.store.model_registry.rest_store import RestStore

        return RestStore(self.creds)

    # ---- the one seam: every call goes through here --------------------------------------------
    async def call(self, fn: Callable, *args, missing: str | None = None, **kwargs):
        """``fn(*args)`` in a worker thread with a deadline; failures as the MODELS codes
        (a missing resource as ``missing`` when given). Refused: once more with a renewed token."""
        used = self.token()
        try:
            return await self._call(fn, args, kwargs, missing)
        except ModelsError as exc:
            if exc.reason != "registry_denied" or self.renew is None or not used or not await self.renew(used):
                raise
        return await self._call(fn, args, kwargs, missing)

    def _in_workspace(self, fn: Callable, args: tuple, kwargs: dict):
        """``fn`` in the worker thread, with this user's workspace bound to that thread's context
        only (asyncio.to_thread runs it in a copy of the caller's context)."""
        if self.workspace:
            from mlflow.utils.workspace_context import set_server_request_workspace

            set_server_request_workspace(self.workspace)
        return fn(*args, **kwargs)

    async def _call(self, fn: Callable, args: tuple, kwargs: dict, missing: str | None):
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._in_workspace, fn, args, kwargs), self.timeout + 2)
        except asyncio.TimeoutError:
            raise ModelsError("registry_unreachable", details=f"no answer within {self.timeout:.0f} s") from None
        except ModelsError:
            raise
        except Exception as exc:  # noqa: BLE001 - mlflow and requests raise many kinds
            raise registry_error(exc, missing) from None

    async def experiment_id(self, name: str) -> str | None:
        experiment = await self.call(self.tracking.get_experiment_by_name, name)
        return experiment.experiment_id if experiment is not None else None

    async def versions(self, name: str) -> list[Version]:
        """The model's versions, newest first: runs with ``hybridhub.version`` of the model's
        experiment, ``[model]<name>`` (GitLab accepts a run as a model version only from the
        experiment it made for the model: app/services/ml/create_model_version_service.rb), or
        one named ``<name>`` as design §1 first said."""
        from mlflow.entities import ViewType

        found: list[Version] = []
        for experiment_name in (EXPERIMENT_PREFIX + name, name):
            experiment = await self.experiment_id(experiment_name)
            token = None
            while experiment is not None and len(found) < MAX_RUNS:
                page = await self.call(self.tracking.search_runs, [experiment], "", ViewType.ACTIVE_ONLY, 200, None, token)
                found += [v for v in map(version_of, page) if v is not None]
                token = page.token
                if not token:
                    break
        newest: dict[str, Version] = {}
        for version in sorted(found, key=lambda v: v.start_time or 0):
            newest[version.version] = version  # a version registered twice: the later run counts
        return sorted(newest.values(), key=lambda v: v.start_time or 0, reverse=True)

    async def model(self, name: str) -> dict:
        model = await self.call(self.models_store.get_registered_model, name, missing="no_such_model")
        return {"name": model.name, "description": model.description or ""}

    async def models(self) -> list[dict]:
        page = await self.call(self.models_store.search_registered_models, None, 100)
        return [{"name": m.name, "description": m.description or ""} for m in page]

    async def artifact(self, version: Version, path: str, limit: int = 1024 * 1024) -> bytes | None:
        """A run artifact's bytes (``lineage.json``), or None when the run has none."""
        url = artifact_url(self.uri, version.artifact_uri, path)
        if url is None:
            return None
        from mlflow.utils.rest_utils import MlflowHostCreds, http_request

        mine = self.creds()  # the same login, for the artifact's own address (http_request joins host + endpoint)
        creds = MlflowHostCreds(host=url, token=mine.token, server_cert_path=mine.server_cert_path,
                                username=mine.username, password=mine.password)  # fmt: skip

        def fetch():
            response = http_request(creds, "", "GET", max_retries=0, timeout=self.timeout, raise_on_status=False)
            if response.status_code == 404:
                return None
            if response.status_code in (401, 403):
                raise ModelsError("registry_denied", details=f"HTTP {response.status_code} for a run artifact")
            if response.status_code != 200:
                raise ModelsError("registry_unreachable", details=f"HTTP {response.status_code} for a run artifact")
            return response.content[:limit]

        return await self.call(fetch)


def artifact_url(tracking_uri: str, artifact_uri: str, path: str) -> str | None:
    """Where a run artifact is downloaded: ``mlflow-artifacts:`` URIs through the tracking
    server's artifact proxy (``/api/2.0/mlflow-artifacts/artifacts/…``), http(s) as they are."""
    if artifact_uri.startswith("mlflow-artifacts:"):
        rest = re.sub(r"^mlflow-artifacts:(//[^/]*)?", "", artifact_uri).lstrip("/")
        return f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts/{rest}/{path}"
    if artifact_uri.startswith(("http://", "https://")):
        return f"{artifact_uri.rstrip('/')}/{path}"
    return None


def registry_error(exc: BaseException, missing: str | None = None) -> ModelsError:
    """An MLflow client failure as a MODELS code; details name the kind, never a URL or token."""
    code = getattr(exc, "error_code", None)
    message = str(getattr(exc, "message", "") or exc)
    if code in _MISSING and missing:
        return ModelsError(missing)
    # a JSON error body that is no MLflow error: GitLab's {"message": "401 Unauthorized"}, or for an
    # expired or too narrow OAuth token {"error": "invalid_token" | "insufficient_scope", ...}
    body = getattr(exc, "json", None) if type(exc).__name__ == "RestException" else None
    oauth = isinstance(body, dict) and body.get("error") in ("invalid_token", "insufficient_scope")
    if code in _DENIED or oauth or (body is not None and _DENIED_STATUS.search(message[:200])):
        return ModelsError("registry_denied", details=str(code))
    return ModelsError("registry_unreachable", details=f"{type(exc).__name__} {code or ''}".strip())
