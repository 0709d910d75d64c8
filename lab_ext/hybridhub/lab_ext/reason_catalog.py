"""The one catalog of reason codes the server extension answers, per area: code → (HTTP status,
English text with what to do).

Each area's error class (:mod:`.storage.errors`, :mod:`.git.errors`, …) takes its table from
here; the OpenAPI description lists them; the frontend's ``lab_ext/src/reasons.ts`` is generated
from them (``python -m hybridhub.lab_ext.reason_catalog > lab_ext/src/reasons.ts``) so that the
panels show the same text translated (domain ``hybridhub``, ``locale/ja_JP``). A test keeps the
three in step. Codes are part of the API: they never change meaning. No text holds a secret.
"""

from __future__ import annotations

import json

Table = dict[str, tuple[int, str]]

#: what every route may answer before its own area's checks (tornado's and jupyter-server's own
#: errors are answered with these codes, never ``"reason": null``)
COMMON: Table = {
    "invalid_request": (400, "The request is not valid."),
    "forbidden": (403, "This request is not allowed: log in again, or ask an administrator for access to hybridhub."),
    "no_such_route": (
        404,
        "The server does not have this hybridhub function: its server extension is older than this page. "
        "Restart the server.",
    ),
    "method_not_allowed": (
        405,
        "The server does not accept this hybridhub request: its server extension is older than this page. "
        "Restart the server.",
    ),
}

#: texts shared by areas that answer the same code for the same cause
_PINS_FILE = (409, "The pins file .hybridhub/data-pins.json is not valid. Fix it, or delete it to start over with no pins.")
_TOKEN_EXPIRED = (
    401,
    "GitLab did not accept your access token (it may have expired). "
    "Stop and start your server from the hub control panel to get a fresh one.",
)
_GITLAB_DENIED = (403, "GitLab refused this action for your account.")

WORKSPACE: Table = {
    "invalid_path": (400, "The workspace path is not allowed (it must stay inside your workspace)."),
    "not_a_file": (400, "The workspace path is not a file."),
    "file_exists": (409, "A file with that name already exists in the workspace."),
}

STORAGE: Table = {
    "not_configured": (503, "Object storage is not configured for this server. Ask your administrator."),
    "storage_unreachable": (503, "The object store could not be reached. Check the network or try again later."),
    "tls_error": (502, "The object store's TLS certificate could not be verified (check the CA bundle)."),
    "bad_credentials": (
        403,
        "The object store rejected the configured credentials (wrong access key or secret key).",
    ),
    "access_denied": (403, "Access denied by the object store."),
    "outside_prefix": (403, "You may only access keys under your own prefix."),
    "no_such_bucket": (404, "The bucket does not exist."),
    "no_such_key": (404, "The object does not exist."),
    "no_such_version": (404, "That version of the object does not exist."),
    "no_such_transfer": (404, "That transfer does not exist: it has finished and was forgotten, or never existed."),
    "invalid_bucket": (400, "The bucket name is not valid."),
    "invalid_key": (400, "The object key or prefix is not valid (no empty, '.' or '..' parts, no leading '/')."),
    **WORKSPACE,
    "invalid_request": COMMON["invalid_request"],
    "object_exists": (409, "An object with that key already exists."),
    "preview_too_large": (413, "The object is too large to preview."),
    "preview_unsupported": (415, "This kind of object cannot be previewed."),
    "cancelled": (409, "The transfer was cancelled."),
    "incomplete_upload": (400, "The upload ended before all bytes arrived."),
    "direct_uploads_off": (
        409,
        "This server does not let browsers upload straight to the object store; the upload goes through the server.",
    ),
    "no_such_upload": (
        404,
        "That upload does not exist: it was completed or cancelled, or it was stopped after going too long without "
        "news from the browser. Upload the file again.",
    ),
    "invalid_pins_file": _PINS_FILE,
    "storage_error": (502, "The object store answered with an error. Try again later."),
}

GIT: Table = {
    "invalid_request": COMMON["invalid_request"],
    "invalid_path": (400, "The path is outside the workspace."),
    "not_a_repository": (404, "This folder is not inside a git repository."),
    "no_such_folder": (404, "That folder does not exist in the workspace."),
    "unknown_file": (400, "git does not know that file: it is neither in the folder nor in the repository."),
    "nothing_to_commit": (409, "There is nothing staged to commit. Stage changed files first."),
    "empty_message": (400, "Write a commit message first."),
    "invalid_branch_name": (400, "That is not a valid branch name."),
    "branch_exists": (409, "A branch with that name already exists."),
    "no_such_branch": (404, "That branch does not exist."),
    "uncommitted_changes": (409, "Your uncommitted changes would be overwritten. Commit them first, then switch."),
    "remote_not_configured": (409, "This repository has no remote to push to or pull from."),
    "non_fast_forward": (409, "The remote has commits that you do not have yet. Pull first, then push again."),
    "protected_branch": (
        403,
        "This branch is protected on GitLab. Create a new branch, push it and open a merge request.",
    ),
    "merge_conflict": (409, "Pulling produced conflicts. Resolve them in the listed files, stage them and commit."),
    "token_expired": _TOKEN_EXPIRED,
    "access_denied": _GITLAB_DENIED,
    "gitlab_unreachable": (
        503,
        "GitLab could not be reached. Check the network or try again later; your commits are kept locally.",
    ),
    "gitlab_not_configured": (
        409,
        "GitLab is not configured on this hub, so this action is not available. "
        "Commits, push and pull to the repository's remote still work.",
    ),
    "gitlab_error": (502, "GitLab answered with an error. Try again later."),
    "no_such_project": (404, "That GitLab project does not exist or you cannot access it."),
    "merge_request_exists": (409, "An open merge request for this branch already exists."),
    "destination_exists": (409, "A file or folder with that name already exists in the workspace."),
    "git_timeout": (504, "The git command took too long and was stopped. Try again."),
    "busy": (409, "Another git operation is running in this repository. Wait for it to finish."),
    "git_error": (500, "git failed. Show the details to see what git said."),
}

PIPELINES: Table = {
    "invalid_request": COMMON["invalid_request"],
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
    "invalid_pins_file": _PINS_FILE,
    "runner_missing": (
        503,
        "gitlab-ci-local is not installed on this server: ask your administrator (npm ci in the hybridhub source folder).",
    ),
    "rsync_missing": (503, "rsync is not installed on this server; the local pipeline runner needs it."),
    "runner_timeout": (504, "The pipeline took too long and was stopped."),
    "token_expired": _TOKEN_EXPIRED,
    "access_denied": _GITLAB_DENIED,
    "protected_ref": (
        403,
        "This branch is protected and your role may not run pipelines on it. Push your changes to a new "
        "branch and run the pipeline there, or ask a project Maintainer to run it or to let your role merge into it.",
    ),
    "variables_not_allowed": (
        403,
        "This project does not let your role set pipeline variables. Run it with the values from "
        '.gitlab-ci.yml (undo your changes to the variables), or ask a project Maintainer to lower '
        '"Minimum role to use pipeline variables" (Settings > CI/CD > Variables).',
    ),
    "gitlab_unreachable": (503, "GitLab could not be reached. Check the network or try again later."),
    "gitlab_error": (502, "GitLab answered with an error. Try again later."),
    "pipeline_error": (500, "The pipeline could not be started. Show the details to see why."),
}

MODELS: Table = {
    "invalid_request": COMMON["invalid_request"],
    "registry_not_configured": (
        503,
        "No model registry is configured for this server: ask your administrator to set up GitLab, "
        "or to set HYBRIDHUB_MLFLOW_TRACKING_URI to an MLflow tracking server.",
    ),
    "registry_unreachable": (503, "The model registry could not be reached. Check the network or try again later."),
    "registry_denied": (
        403,
        "The model registry refused your account. Ask a project Maintainer for at least the Reporter role "
        "(Developer to deploy).",
    ),
    "no_such_model": (404, "That model is not in the registry. Run the pipeline once to register its first version."),
    "no_such_version": (404, "That version of the model does not exist. Refresh the list of versions."),
    "invalid_version": (400, "That is not a valid model version (a semantic version such as 1.0.42)."),
    "gate_failed": (
        409,
        "This version failed its test gate and cannot be deployed. Open its lineage to see why, "
        "then train a better version.",
    ),
    "no_earlier_deployment": (
        409,
        "There is no earlier successful deployment to roll back to. Promote a version instead.",
    ),
    "deploy_not_allowed": (
        403,
        "Your role may not run the deploy job of this project: ask a project Maintainer for the Developer role.",
    ),
    "deploy_job_missing": (
        409,
        "The pipeline of this version has no deploy job that can be run (it may have failed or been removed). "
        "Run the pipeline again to make a new version.",
    ),
    "deploy_in_progress": (409, "A deployment to production is already running. Wait for it to finish."),
    "outdated_deployment": (
        409,
        "This version is older than the one in production: GitLab does not run an outdated deploy job "
        "(\"Prevent outdated deployment jobs\"). Roll back to reach a version deployed before, use Reproduce to make "
        "a new version from its commit and data, or ask a Maintainer to turn that setting off.",
    ),
    "not_reproducible": (
        409,
        "This version cannot be reproduced: its data was read without object versions and has changed since. "
        "Train a new version instead.",
    ),
    # the production version's health (issue 20): where its monitoring reports are, and reading them
    "monitoring_not_configured": (
        503,
        "This server does not know where the monitoring reports are: the version has no "
        "hybridhub.monitoring.reports tag (the monitoring job has not run) and HYBRIDHUB_PREDICTION_LOG_URI is not "
        "set, or no object store is configured. Run the monitoring job, or ask your administrator.",
    ),
    "monitoring_unreachable": (
        503,
        "The object store holding the monitoring reports could not be reached. Check the network or try again later.",
    ),
    "monitoring_denied": (
        403,
        "The object store refused your account access to the monitoring reports. Ask for read access to the bucket "
        "of the model's request log.",
    ),
    "monitoring_no_bucket": (
        404,
        "The bucket that should hold the monitoring reports does not exist. Check where the model server logs its "
        "requests (PREDICTION_LOG_URI).",
    ),
    "monitoring_bad_report": (
        502,
        "A monitoring report could not be read (it is not a hybridhub.monitoring/1 JSON report) and is left out. "
        "Run the monitoring job again.",
    ),
    "no_such_report": (404, "There is no monitoring report for that day. Refresh the panel."),
    "no_production": (409, "No version of this model serves production yet: promote a version first."),
    "retrain_not_allowed": (
        403,
        "Your role may not start pipelines in this project: ask a project Maintainer for the Developer role.",
    ),
    # what promote, roll back and reproduce may meet in the pipeline backend they drive
    **{code: PIPELINES[code] for code in ("unknown_project", "token_expired", "gitlab_unreachable", "gitlab_error",
                                          "runner_missing", "pipeline_error")},  # fmt: skip
}

ACTIVITY: Table = {
    "keepalive_used": (409, "The server was already kept running once. Start some work to keep it longer."),
    "max_age_reached": (409, "The server reached its maximum age and cannot be kept running longer. Save your work."),
}

#: area → its table, in the order the frontend module lists them
CATALOG: dict[str, Table] = {
    "common": COMMON,
    "workspace": WORKSPACE,
    "storage": STORAGE,
    "git": GIT,
    "pipelines": PIPELINES,
    "models": MODELS,
    "activity": ACTIVITY,
}

_TS_HEADER = """\
// Generated from the server's catalog of reason codes (lab_ext/hybridhub/lab_ext/reason_catalog.py)
// by `python -m hybridhub.lab_ext.reason_catalog > lab_ext/src/reasons.ts`. Do not edit: change
// the catalog and generate again (tests/foundation/test_reason_catalog.py checks they agree).
import {{ TranslationBundle }} from '@jupyterlab/translation';

export type ReasonArea = {areas};

/** The translated text of every reason code of ``area``. */
export function reasonTexts(area: ReasonArea, trans: TranslationBundle): Record<string, string> {{
  switch (area) {{
"""


def typescript() -> str:
    """The frontend's ``reasons.ts``: one literal ``trans.__`` call per text, so that the texts are
    found by gettext extraction as well as by the Japanese catalog's test."""
    out = [_TS_HEADER.format(areas=" | ".join(f"'{area}'" for area in CATALOG))]
    for area, table in CATALOG.items():
        out.append(f"    case '{area}':\n      return {{\n")
        out += [f"        {code}: trans.__({json.dumps(text, ensure_ascii=False)}),\n" for code, (_, text) in table.items()]
        out.append("      };\n")
    out.append("  }\n}\n")
    return "".join(out)


if __name__ == "__main__":
    print(typescript(), end="")
