"""The Models panel's core (design §6): models and versions from the registry, production from
the environment, lineage, and promote / roll back / reproduce through the pipeline backend.

Every action checks everything first — the version exists, passed its gate, no deploy is under
way, the user may deploy, the pipeline still has a deploy job that can run, the data can still be
read as it was — and only then makes its one write (play or retry a job; for reproduce, a tag and
a pipeline on GitLab). Nothing is half done.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from urllib.parse import quote

from traitlets import Float, Unicode, default
from traitlets.config import Configurable

from hybridhub.spawner import envvars

from ..pipelines.backend import validate_variables
from ..pipelines.errors import PipelineError
from . import data_check, lineage as lineage_mod
from .environments import Environment, GitLabEnvironment, LocalEnvironment, backend_call, last_success, successes
from .errors import ModelsError, from_pipeline_error
from .registry import Registry, Version, check_name, check_version

DATA_VARIABLES = {"train": ("DATA_URI", "DATA_VERSION"), "test": ("TEST_DATA_URI", "TEST_DATA_VERSION")}


class ModelsConfig(Configurable):
    """``c.ModelsConfig.*``: where the model registry is and which environment is production."""

    tracking_uri = Unicode(
        config=True,
        help="""MLflow tracking URI of the model registry (the demo's MLflow server). Empty with GitLab
        configured: the project's GitLab model registry, <GitLab>/api/v4/projects/<id>/ml/mlflow, with
        the user's own GitLab token. Never put credentials in it.""",
    )
    timeout = Float(15.0, config=True, help="Seconds one registry request may take before registry_unreachable.")
    environment = Unicode("production", config=True, help="The environment whose deployments say what serves.")

    @default("tracking_uri")
    def _tracking_uri(self):
        return os.environ.get(envvars.MLFLOW_TRACKING_URI.name, "").strip()


@dataclass
class Context:
    """One request's view: the project, its registry and environment, over one backend."""

    project: str
    backend: object
    registry: Registry
    environment: Environment
    web_url: str = ""


class ModelsService:
    def __init__(self, config: ModelsConfig, pipelines, storage=None) -> None:
        self.config, self.pipelines, self.storage = config, pipelines, storage
        # one action at a time on this server: its checks and its write are not interleaved with another's
        self.acting = asyncio.Lock()

    # ---- configuration -------------------------------------------------------------------------
    @property
    def backend_name(self) -> str:
        return self.pipelines.default_backend

    @property
    def registry_kind(self) -> str:
        if self.config.tracking_uri:
            return "mlflow"
        return "gitlab" if self.backend_name == "gitlab" and self.pipelines.gitlab_configured else "none"

    def describe(self) -> dict:
        """``GET models/config``: never a credential (a URI's user:password part is dropped)."""
        kind = self.registry_kind
        url = self.config.tracking_uri if kind == "mlflow" else ""
        if kind == "gitlab":
            url = self.pipelines.code_home.gitlab_url.rstrip("/") + "/api/v4/projects/<id>/ml/mlflow"
        return {"enabled": kind != "none", "backend": self.backend_name, "registry": kind,
                "registry_url": _without_credentials(url), "environment": self.config.environment,
                "reason": None if kind != "none" else "registry_not_configured"}  # fmt: skip

    async def context(self, project: str) -> Context:
        kind = self.registry_kind
        if kind == "none":
            raise ModelsError("registry_not_configured")
        try:
            backend = self.pipelines.backend(None)
        except PipelineError as exc:
            raise ModelsError("registry_not_configured", details=exc.details) from None
        if backend.name == "local":
            try:
                backend._project_dir(project)  # a git repository in the workspace
            except PipelineError as exc:
                raise ModelsError("unknown_project", details=exc.details) from None
            registry = Registry(self.config.tracking_uri, kind="mlflow", timeout=self.config.timeout)
            return Context(project, backend, registry, LocalEnvironment(backend, project, self.config.environment))
        info = await backend_call(backend.get_json(f"/projects/{quote(project, safe='')}"))
        home = self.pipelines.code_home
        if kind == "gitlab":
            source = getattr(home, "gitlab_token_source", None)
            token = source.current if source is not None else (lambda: home.gitlab_token)
            renew = (lambda rejected: source.renew(rejected=rejected)) if source is not None else None
            uri = f"{home.gitlab_url.rstrip('/')}/api/v4/projects/{int(info['id'])}/ml/mlflow"
            registry = Registry(uri, kind="gitlab", token=token, ca_bundle=home.gitlab_ca_bundle,
                                timeout=self.config.timeout, renew=renew)  # fmt: skip
        else:
            registry = Registry(self.config.tracking_uri, kind="mlflow", timeout=self.config.timeout)
        environment = GitLabEnvironment(backend, project, self.config.environment, info)
        return Context(project, backend, registry, environment, info.get("web_url", ""))

    # ---- reading -------------------------------------------------------------------------------
    async def project_versions(self, ctx: Context, name: str) -> list[Version]:
        """The model's versions that this project's pipelines made, newest first."""
        versions = await ctx.registry.versions(name)
        if ctx.registry.kind == "gitlab":
            return versions  # GitLab's registry is the project's own
        if ctx.backend.name == "local":
            made = {r["id"]: r.get("sha") for r in ctx.backend.store.records(ctx.project, limit=1000)}
            folder = os.path.basename(str(ctx.backend._project_dir(ctx.project)))
            return [v for v in versions if (v.pipeline_id in made and made[v.pipeline_id] == v.tags.get("hybridhub.commit"))
                    or (v.tags.get("hybridhub.project") or "").rsplit("/", 1)[-1] == folder]  # fmt: skip
        paths = {ctx.project, str(ctx.environment.info.get("path_with_namespace", "")), str(ctx.environment.info.get("id"))}
        return [v for v in versions if v.tags.get("hybridhub.project") in paths]

    @staticmethod
    def production(deployments: list[dict], versions: list[Version]) -> dict | None:
        """The version of the environment's last successful deployment (the one that finished
        last: what serves), when it is one of ``versions``."""
        deployment = last_success(deployments)
        version = {v.pipeline_id: v for v in versions}.get(deployment["pipeline_id"]) if deployment else None
        if version is None:
            return None
        return {"version": version.version, "deployment_id": deployment["id"],
                "deployed_at": deployment.get("finished_at") or deployment.get("created_at"),
                "user": deployment.get("user", ""), "status": deployment["status"]}  # fmt: skip

    async def models(self, project: str) -> dict:
        ctx = await self.context(project)
        deployments = await ctx.environment.deployments()
        result = []
        for model in await ctx.registry.models():
            versions = await self.project_versions(ctx, model["name"])
            if not versions and ctx.registry.kind != "gitlab":
                continue  # another project's model in a shared registry
            result.append({**model, "latest_version": versions[0].version if versions else None,
                           "production": self.production(deployments, versions)})  # fmt: skip
        return {"models": result}

    async def versions(self, project: str, name: str) -> dict:
        ctx = await self.context(project)
        await ctx.registry.model(check_name(name))
        versions = await self.project_versions(ctx, name)
        deployments = await ctx.environment.deployments()
        production = self.production(deployments, versions)
        serving = production["version"] if production else None
        refused = await self.refusals(ctx, versions, deployments)
        return {"versions": [{**v.summary(), "serving": v.version == serving, "deploy": _deploy_state(refused[v.version])}
                             for v in versions],
                "production": production, "can_deploy": await ctx.environment.can_deploy()}  # fmt: skip

    async def _version(self, ctx: Context, name: str, version: str) -> tuple[Version, list[Version]]:
        check_name(name)
        check_version(version)
        await ctx.registry.model(name)
        versions = await self.project_versions(ctx, name)
        for found in versions:
            if found.version == version:
                return found, versions
        raise ModelsError("no_such_version", details=f"{name} {version}")

    async def lineage(self, project: str, name: str, version: str) -> dict:
        ctx = await self.context(project)
        found, versions = await self._version(ctx, name, version)
        artifact = lineage_mod.parse_artifact(await ctx.registry.artifact(found, "lineage.json"))
        result = lineage_mod.recorded(found, name, artifact)
        exactness, warnings = lineage_mod.reproducibility(result["data"])
        registry_url = self._registry_page(ctx, name, found)
        result["links"] = lineage_mod.links(result, ctx.web_url or None, registry_url)
        if ctx.backend.name == "local" and found.pipeline_id:
            result["links"]["local_pipeline"] = {"backend": "local", "project": project, "id": found.pipeline_id}
        deployments = await ctx.environment.deployments()
        result["deployments"] = [{k: d.get(k) for k in ("id", "status", "created_at", "finished_at", "user", "url")}
                                 for d in deployments if d["pipeline_id"] == found.pipeline_id]  # fmt: skip
        production = self.production(deployments, versions)
        result["serving"] = bool(production and production["version"] == found.version)
        result["reproduced_by"] = lineage_mod.reproductions(found, versions)
        result["reproducibility"], result["warnings"] = exactness, warnings
        return result

    @staticmethod
    def _registry_page(ctx: Context, name: str, found: Version) -> str | None:
        """The registry's page of the version: GitLab's model registry, or the MLflow server's UI;
        none for an MLflow server with logins (the demo's), whose UI would ask the browser for a
        password only this server holds (the panel shows the same versions)."""
        if ctx.registry.kind == "gitlab":
            return f"{ctx.web_url}/-/ml/models" if ctx.web_url else None
        if ctx.registry.username:
            return None
        registry_version = found.tags.get("hybridhub.registry_version")
        page = f"/#/models/{quote(name, safe='')}" + (f"/versions/{quote(registry_version, safe='')}" if registry_version else "")
        return _without_credentials(ctx.registry.uri) + page

    # ---- actions -------------------------------------------------------------------------------
    async def refusals(self, ctx: Context, versions: list[Version], deployments: list[dict],
                       targets: list[Version] | None = None) -> dict[str, ModelsError | None]:
        """The checks every deploy makes before touching a job, for each of ``targets`` (default:
        every version): the refusal it would meet now, or None. One function for the versions list
        (each version's ``deploy``, so the panel knows before the click) and for the POSTs."""
        targets = versions if targets is None else targets
        busy = ctx.environment.busy(deployments)
        allowed = await ctx.environment.can_deploy()
        outdated = await ctx.environment.outdated(deployments, {v.pipeline_id for v in targets if v.pipeline_id})
        production = self.production(deployments, versions)
        result: dict[str, ModelsError | None] = {}
        for found in targets:
            if found.gate["passed"] is not True:
                why = "; ".join(found.gate["reasons"]) or "the test gate has not passed"
                result[found.version] = ModelsError("gate_failed", details=why)
            elif busy:
                result[found.version] = ModelsError("deploy_in_progress", details=f"deployment {busy['id']} is {busy['status']}")
            elif allowed["allowed"] is False:
                result[found.version] = ModelsError("deploy_not_allowed",
                                                    details=f"your role: {allowed['role']}; needed: {allowed['needs']}")  # fmt: skip
            elif not found.pipeline_id:
                result[found.version] = ModelsError("deploy_job_missing", details="the version records no pipeline")
            elif found.pipeline_id in outdated:
                newer = f"{production['version']}, in production" if production else "the last successful deployment"
                result[found.version] = ModelsError("outdated_deployment", details=(
                    f"{found.version} is older than {newer}: GitLab's \"Prevent outdated deployment jobs\" would fail "
                    f"its deploy job. Roll back reaches versions deployed before; Reproduce makes a new version from "
                    f"its commit and data; or a Maintainer turns the setting off (Settings > CI/CD > General pipelines)."))
            else:
                result[found.version] = None
        return result

    async def _deployable(self, ctx: Context, name: str, version: str) -> tuple[Version, list[Version], list[dict]]:
        """The checks every deploy makes before touching a job (``refusals``)."""
        found, versions = await self._version(ctx, name, version)
        deployments = await ctx.environment.deployments()
        refusal = (await self.refusals(ctx, versions, deployments, [found]))[found.version]
        if refusal is not None:
            raise refusal
        return found, versions, deployments

    async def _deploy(self, ctx: Context, found: Version) -> dict:
        _, job = await ctx.environment.deploy_job(found.pipeline_id)
        ctx.environment.check_runnable(job)
        answer = await ctx.environment.run(found.pipeline_id, job)
        return {**answer, "version": found.version}

    async def promote(self, project: str, name: str, version: str) -> dict:
        async with self.acting:
            ctx = await self.context(project)
            found, _, _ = await self._deployable(ctx, name, version)
            return await self._deploy(ctx, found)

    async def rollback(self, project: str, name: str, to_version: str | None = None) -> dict:
        async with self.acting:
            return await self._rollback(project, name, to_version)

    async def _rollback(self, project: str, name: str, to_version: str | None) -> dict:
        ctx = await self.context(project)
        check_name(name)
        if to_version is not None:
            check_version(to_version)
        await ctx.registry.model(name)
        versions = await self.project_versions(ctx, name)
        by_pipeline = {v.pipeline_id: v for v in versions}
        deployments = await ctx.environment.deployments()
        done = [d for d in successes(deployments) if d["pipeline_id"] in by_pipeline]
        current = done[0]["pipeline_id"] if done else None
        earlier = [d for d in done[1:] if d["pipeline_id"] != current]
        if to_version is not None:
            if to_version not in {v.version for v in versions}:
                raise ModelsError("no_such_version", details=f"{name} {to_version}")
            earlier = [d for d in earlier if by_pipeline[d["pipeline_id"]].version == to_version]
        if not earlier:
            raise ModelsError("no_earlier_deployment")
        target = by_pipeline[earlier[0]["pipeline_id"]]
        found, _, _ = await self._deployable(ctx, name, target.version)
        return await self._deploy(ctx, found)

    async def reproduce(self, project: str, name: str, version: str) -> dict:
        async with self.acting:
            return await self._reproduce(project, name, version)

    async def _reproduce(self, project: str, name: str, version: str) -> dict:
        ctx = await self.context(project)
        found, _ = await self._version(ctx, name, version)
        artifact = lineage_mod.parse_artifact(await ctx.registry.artifact(found, "lineage.json"))
        recorded = lineage_mod.recorded(found, name, artifact)
        if not recorded.get("commit"):
            raise ModelsError("not_reproducible", details="the version records no commit")
        exactness, warnings = lineage_mod.reproducibility(recorded["data"])
        # not_reproducible when changed; what could not be compared, said as the data check says it
        warnings += [{"code": "data_not_compared", "details": text} for text in await data_check.unchanged(self.storage, recorded["data"])]
        variables = await self._reproduce_variables(ctx, found, name, recorded["data"])
        try:
            if ctx.backend.name == "local":
                pipeline = await ctx.backend.create(project, recorded["commit"], variables, None)
            else:
                await self._commit_exists(ctx, recorded["commit"])
                pipeline = await ctx.backend.create(project, await self._reproduce_tag(ctx, version, recorded["commit"]),
                                                    variables, None)  # fmt: skip
        except PipelineError as exc:
            if exc.reason == "unknown_ref":
                raise ModelsError("not_reproducible", details=f"the commit {recorded['commit'][:12]} is not in the repository") from None
            raise from_pipeline_error(exc) from None
        return {"pipeline": {k: pipeline.get(k) for k in ("id", "status", "web_url")}, "reproducibility": exactness,
                "warnings": warnings}  # fmt: skip

    async def _reproduce_variables(self, ctx: Context, found: Version, name: str, data: dict) -> list[dict]:
        """The original pipeline's variables (when it is still known), its data at the versions read."""
        try:
            original = (await ctx.backend.pipeline(ctx.project, found.pipeline_id)).get("variables") or []
        except PipelineError:
            original = []
        values = {v["key"]: v["value"] for v in original if v.get("key") != "HYBRIDHUB_LOCAL_RUN"}
        values["MODEL_NAME"] = name
        for which, (uri_key, version_key) in DATA_VARIABLES.items():
            record = data.get(which)
            if isinstance(record, dict) and record.get("uri"):
                values[uri_key] = str(record["uri"])
                values[version_key] = str(record.get("version_id") or "") if record.get("versioned") else ""
        values["REPRODUCES_VERSION"] = found.version
        try:
            return validate_variables([{"key": k, "value": v} for k, v in values.items()])
        except PipelineError as exc:
            raise ModelsError("not_reproducible", details=exc.details) from None

    @staticmethod
    async def _commit_exists(ctx: Context, sha: str) -> None:
        """Before the tag: GitLab's ``GET /repository/commits/:sha`` (404: not in the repository)."""
        path = f"{ctx.environment.base}/repository/commits/{quote(sha, safe='')}"
        await ctx.backend.get_json(path, not_found="unknown_ref")

    async def _reproduce_tag(self, ctx: Context, version: str, sha: str) -> str:
        """GitLab runs pipelines on refs: a new tag ``reproduce-<version>-<n>`` at the commit."""
        prefix = f"reproduce-{version}-"
        taken = await ctx.environment.tags(prefix)
        n = 1 + max((int(t[len(prefix):]) for t in taken if t[len(prefix):].isdigit()), default=0)
        for attempt in range(3):
            tag = f"{prefix}{n + attempt}"
            try:
                await ctx.environment.create_tag(tag, sha)
                return tag
            except ModelsError as exc:
                if "already exists" not in (exc.details or ""):
                    raise
        raise ModelsError("pipeline_error", details="no free reproduce tag name")


def _deploy_state(refusal: ModelsError | None) -> dict:
    return {"allowed": refusal is None, "reason": refusal.reason if refusal is not None else None}


def _without_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"
