"""Stable reason codes of the Models panel (the catalog's MODELS table)."""

from __future__ import annotations

from ..pipelines.errors import PipelineError
from ..reason_catalog import MODELS
from ..reasons import ReasonError


class ModelsError(ReasonError):
    REASONS = MODELS


#: a pipeline backend's failure while promoting, rolling back or reproducing, as the Models panel says it
_FROM_PIPELINES = {
    "invalid_request": "invalid_request",
    "invalid_variables": "invalid_request",
    "invalid_path": "invalid_request",
    "unknown_project": "unknown_project",
    "access_denied": "deploy_not_allowed",
    "protected_ref": "deploy_not_allowed",
    "variables_not_allowed": "deploy_not_allowed",
    "not_playable": "deploy_in_progress",
    "not_retryable": "deploy_in_progress",
    "busy": "deploy_in_progress",
    "unknown_job": "deploy_job_missing",
    "unknown_pipeline": "deploy_job_missing",
    "gitlab_unreachable": "gitlab_unreachable",
    "token_expired": "token_expired",
    "runner_missing": "runner_missing",
    "rsync_missing": "runner_missing",
    "unknown_ref": "no_such_version",
}


def from_pipeline_error(error: PipelineError) -> ModelsError:
    """The Models panel's code for a pipeline backend's failure (details kept: they hold no secret)."""
    reason = _FROM_PIPELINES.get(error.reason)
    if reason is None:
        reason = "gitlab_error" if error.status == 502 else "pipeline_error"
    return ModelsError(reason, details=error.details or error.message)
