""""Retrain now" (issue 20): the training pipeline on the newest data, for the version in production.

The same pipeline the Pipelines panel's Run starts, through the same backend (GitLab: a pipeline
on the project's default branch; local: the run the Run button makes), with the data variables
emptied so the train and test jobs read the newest objects (``DATA_VERSION=""``,
``TEST_DATA_VERSION=""``) and ``RETRAIN_FOR`` naming the production version it is meant to
replace (the template's retrain job sets the same, monitoring contract §5). Who may: who may run
pipelines, Developer and above (GitLab's own rule for creating pipelines; it is checked here first
from the project's permissions, and GitLab's answer decides when they are not known).
"""

from __future__ import annotations

from ..pipelines.backend import validate_variables
from ..pipelines.errors import PipelineError
from .environments import backend_call
from .errors import ModelsError, from_pipeline_error
from .registry import check_name

#: a pipeline backend's refusal that means "your role may not run pipelines here"
_NOT_ALLOWED = {"access_denied", "protected_ref", "variables_not_allowed"}


def variables(production_version: str) -> list[dict]:
    return validate_variables([{"key": "DATA_VERSION", "value": ""}, {"key": "TEST_DATA_VERSION", "value": ""},
                               {"key": "RETRAIN_FOR", "value": production_version}])  # fmt: skip


async def retrain(service, project: str, name: str) -> dict:
    """Start the training pipeline; ``{"pipeline": {id, status, web_url}, "backend", "project", "retrain_for"}``."""
    async with service.acting:
        ctx = await service.context(project)
        check_name(name)
        await ctx.registry.model(name)
        versions = await service.project_versions(ctx, name)
        production = service.production(await ctx.environment.deployments(), versions)
        if production is None:
            raise ModelsError("no_production", details=f"{name} has no version in {ctx.environment.name}")
        allowed = await ctx.environment.can_deploy()  # the project's role: Developer+ runs pipelines
        if allowed["allowed"] is False:
            raise ModelsError("retrain_not_allowed", details=f"your role: {allowed['role']}; needed: {allowed['needs']}")
        try:
            ref = (await backend_call(ctx.backend.refs(project)))["default"]
            if not ref:
                raise ModelsError("pipeline_error", details="the project has no default branch")
            pipeline = await ctx.backend.create(project, ref, variables(production["version"]), None)
        except PipelineError as exc:
            if exc.reason in _NOT_ALLOWED:
                raise ModelsError("retrain_not_allowed", details=exc.details or exc.message) from None
            raise from_pipeline_error(exc) from None
        return {"pipeline": {k: pipeline.get(k) for k in ("id", "status", "web_url")}, "backend": ctx.backend.name,
                "project": project, "ref": ref, "retrain_for": production["version"]}  # fmt: skip
