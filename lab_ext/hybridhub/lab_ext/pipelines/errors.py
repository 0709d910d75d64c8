"""Stable reason codes of the pipeline panel.

The server answers ``{"message": <English>, "reason": <code>}``; the frontend shows the
translated text for ``reason``. Messages never hold a token or an S3 key.
"""

from __future__ import annotations

from ..reasons import ReasonError

REASONS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "The request is not valid."),
    "invalid_variables": (400, "A pipeline variable is not valid: names are letters, digits and _, values are text."),
    "unknown_project": (404, "That project does not exist or you cannot access it."),
    "unknown_ref": (404, "That branch or tag does not exist in the project."),
    "no_ci_file": (409, "The project has no .gitlab-ci.yml at that ref. Add the pipeline template first."),
    "invalid_ci_file": (422, "The .gitlab-ci.yml is not valid."),
    "unknown_pipeline": (404, "That pipeline does not exist."),
    "unknown_job": (404, "That job does not exist in the pipeline."),
    "not_playable": (409, "Only a manual job that is waiting can be played."),
    "not_retryable": (409, "Only a finished job can be retried."),
    "not_cancelable": (409, "The pipeline has already finished."),
    "busy": (409, "A job of this pipeline is still running. Wait for it to finish."),
    "files_exist": (409, "The project already has some of the template's files. Confirm to overwrite them."),
    "invalid_path": (
        400,
        "That path is not allowed: it must stay inside your workspace, without '..' or symbolic links.",
    ),
    "not_a_file": (400, "A folder stands where the template or a pipeline run writes a file. Rename or remove it."),
    "file_exists": (
        409,
        "A file stands where the template needs a folder. Choose another folder, or rename or remove that file.",
    ),
    "runner_missing": (
        503,
        "gitlab-ci-local is not installed: run 'npm ci' in the hybridhub source folder "
        "or install gitlab-ci-local 4.73.0 on the PATH.",
    ),
    "rsync_missing": (503, "rsync is not installed; gitlab-ci-local needs it: apt-get install rsync."),
    "runner_timeout": (504, "The pipeline took too long and was stopped."),
    "token_expired": (
        401,
        "GitLab did not accept your access token (it may have expired). "
        "Stop and start your server from the hub control panel to get a fresh one.",
    ),
    "access_denied": (403, "GitLab refused this action for your account."),
    "protected_ref": (
        403,
        "This branch is protected and your role may not run pipelines on it. Push your changes to a new "
        "branch and run the pipeline there, or ask a project Maintainer to run it or to let your role merge into it.",
    ),
    "variables_not_allowed": (
        403,
        "This project does not let your role set pipeline variables. Run it with the values from "
        ".gitlab-ci.yml (undo your changes to the variables), or ask a project Maintainer to lower "
        "'Minimum role to use pipeline variables' (Settings > CI/CD > Variables).",
    ),
    "gitlab_unreachable": (503, "GitLab could not be reached. Check the network or try again later."),
    "gitlab_error": (502, "GitLab answered with an error. Try again later."),
    "pipeline_error": (500, "The pipeline could not be started."),
}


class PipelineError(ReasonError):
    REASONS = REASONS
