// Generated from the server's catalog of reason codes (lab_ext/hybridhub/lab_ext/reason_catalog.py)
// by `python -m hybridhub.lab_ext.reason_catalog > lab_ext/src/reasons.ts`. Do not edit: change
// the catalog and generate again (tests/foundation/test_reason_catalog.py checks they agree).
import { TranslationBundle } from '@jupyterlab/translation';

export type ReasonArea = 'common' | 'workspace' | 'storage' | 'git' | 'pipelines' | 'models' | 'activity';

/** The translated text of every reason code of ``area``. */
export function reasonTexts(area: ReasonArea, trans: TranslationBundle): Record<string, string> {
  switch (area) {
    case 'common':
      return {
        invalid_request: trans.__("The request is not valid."),
        forbidden: trans.__("This request is not allowed: log in again, or ask an administrator for access to hybridhub."),
        no_such_route: trans.__("The server does not have this hybridhub function: its server extension is older than this page. Restart the server."),
        method_not_allowed: trans.__("The server does not accept this hybridhub request: its server extension is older than this page. Restart the server."),
      };
    case 'workspace':
      return {
        invalid_path: trans.__("The workspace path is not allowed (it must stay inside your workspace)."),
        not_a_file: trans.__("The workspace path is not a file."),
        file_exists: trans.__("A file with that name already exists in the workspace."),
      };
    case 'storage':
      return {
        not_configured: trans.__("Object storage is not configured for this server. Ask your administrator."),
        storage_unreachable: trans.__("The object store could not be reached. Check the network or try again later."),
        tls_error: trans.__("The object store's TLS certificate could not be verified (check the CA bundle)."),
        bad_credentials: trans.__("The object store rejected the configured credentials (wrong access key or secret key)."),
        access_denied: trans.__("Access denied by the object store."),
        outside_prefix: trans.__("You may only access keys under your own prefix."),
        no_such_bucket: trans.__("The bucket does not exist."),
        no_such_key: trans.__("The object does not exist."),
        no_such_version: trans.__("That version of the object does not exist."),
        no_such_transfer: trans.__("That transfer does not exist: it has finished and was forgotten, or never existed."),
        invalid_bucket: trans.__("The bucket name is not valid."),
        invalid_key: trans.__("The object key or prefix is not valid (no empty, '.' or '..' parts, no leading '/')."),
        invalid_path: trans.__("The workspace path is not allowed (it must stay inside your workspace)."),
        not_a_file: trans.__("The workspace path is not a file."),
        file_exists: trans.__("A file with that name already exists in the workspace."),
        invalid_request: trans.__("The request is not valid."),
        object_exists: trans.__("An object with that key already exists."),
        preview_too_large: trans.__("The object is too large to preview."),
        preview_unsupported: trans.__("This kind of object cannot be previewed."),
        cancelled: trans.__("The transfer was cancelled."),
        incomplete_upload: trans.__("The upload ended before all bytes arrived."),
        direct_uploads_off: trans.__("This server does not let browsers upload straight to the object store; the upload goes through the server."),
        no_such_upload: trans.__("That upload does not exist: it was completed or cancelled, or it was stopped after going too long without news from the browser. Upload the file again."),
        invalid_pins_file: trans.__("The pins file .hybridhub/data-pins.json is not valid. Fix it, or delete it to start over with no pins."),
        storage_error: trans.__("The object store answered with an error. Try again later."),
      };
    case 'git':
      return {
        invalid_request: trans.__("The request is not valid."),
        invalid_path: trans.__("The path is outside the workspace."),
        not_a_repository: trans.__("This folder is not inside a git repository."),
        no_such_folder: trans.__("That folder does not exist in the workspace."),
        unknown_file: trans.__("git does not know that file: it is neither in the folder nor in the repository."),
        nothing_to_commit: trans.__("There is nothing staged to commit. Stage changed files first."),
        empty_message: trans.__("Write a commit message first."),
        invalid_branch_name: trans.__("That is not a valid branch name."),
        branch_exists: trans.__("A branch with that name already exists."),
        no_such_branch: trans.__("That branch does not exist."),
        uncommitted_changes: trans.__("Your uncommitted changes would be overwritten. Commit them first, then switch."),
        remote_not_configured: trans.__("This repository has no remote to push to or pull from."),
        non_fast_forward: trans.__("The remote has commits that you do not have yet. Pull first, then push again."),
        protected_branch: trans.__("This branch is protected on GitLab. Create a new branch, push it and open a merge request."),
        merge_conflict: trans.__("Pulling produced conflicts. Resolve them in the listed files, stage them and commit."),
        token_expired: trans.__("GitLab did not accept your access token (it may have expired). Stop and start your server from the hub control panel to get a fresh one."),
        access_denied: trans.__("GitLab refused this action for your account."),
        gitlab_unreachable: trans.__("GitLab could not be reached. Check the network or try again later; your commits are kept locally."),
        gitlab_not_configured: trans.__("GitLab is not configured on this hub, so this action is not available. Commits, push and pull to the repository's remote still work."),
        gitlab_error: trans.__("GitLab answered with an error. Try again later."),
        no_such_project: trans.__("That GitLab project does not exist or you cannot access it."),
        merge_request_exists: trans.__("An open merge request for this branch already exists."),
        destination_exists: trans.__("A file or folder with that name already exists in the workspace."),
        git_timeout: trans.__("The git command took too long and was stopped. Try again."),
        busy: trans.__("Another git operation is running in this repository. Wait for it to finish."),
        git_error: trans.__("git failed. Show the details to see what git said."),
      };
    case 'pipelines':
      return {
        invalid_request: trans.__("The request is not valid."),
        invalid_variables: trans.__("A pipeline variable is not valid: names are letters, digits and _, values are text."),
        unknown_project: trans.__("That project does not exist or you cannot access it."),
        unknown_ref: trans.__("That branch or tag does not exist in the project."),
        no_ci_file: trans.__("The project has no .gitlab-ci.yml at that ref. Add the pipeline template first."),
        invalid_ci_file: trans.__("The .gitlab-ci.yml is not valid."),
        unknown_pipeline: trans.__("That pipeline does not exist."),
        unknown_job: trans.__("That job does not exist in the pipeline."),
        not_playable: trans.__("Only a manual job that is waiting can be played."),
        not_retryable: trans.__("Only a finished job can be retried."),
        not_cancelable: trans.__("The pipeline has already finished."),
        busy: trans.__("A job of this pipeline is still running. Wait for it to finish."),
        files_exist: trans.__("The project already has some of the template's files. Confirm to overwrite them."),
        invalid_path: trans.__("That path is not allowed: it must stay inside your workspace, without '..' or symbolic links."),
        not_a_file: trans.__("A folder stands where the template or a pipeline run writes a file. Rename or remove it."),
        file_exists: trans.__("A file stands where the template needs a folder. Choose another folder, or rename or remove that file."),
        invalid_pins_file: trans.__("The pins file .hybridhub/data-pins.json is not valid. Fix it, or delete it to start over with no pins."),
        runner_missing: trans.__("gitlab-ci-local is not installed on this server: ask your administrator (npm ci in the hybridhub source folder)."),
        rsync_missing: trans.__("rsync is not installed on this server; the local pipeline runner needs it."),
        runner_timeout: trans.__("The pipeline took too long and was stopped."),
        token_expired: trans.__("GitLab did not accept your access token (it may have expired). Stop and start your server from the hub control panel to get a fresh one."),
        access_denied: trans.__("GitLab refused this action for your account."),
        protected_ref: trans.__("This branch is protected and your role may not run pipelines on it. Push your changes to a new branch and run the pipeline there, or ask a project Maintainer to run it or to let your role merge into it."),
        variables_not_allowed: trans.__("This project does not let your role set pipeline variables. Run it with the values from .gitlab-ci.yml (undo your changes to the variables), or ask a project Maintainer to lower \"Minimum role to use pipeline variables\" (Settings > CI/CD > Variables)."),
        gitlab_unreachable: trans.__("GitLab could not be reached. Check the network or try again later."),
        gitlab_error: trans.__("GitLab answered with an error. Try again later."),
        pipeline_error: trans.__("The pipeline could not be started. Show the details to see why."),
      };
    case 'models':
      return {
        invalid_request: trans.__("The request is not valid."),
        registry_not_configured: trans.__("No model registry is configured for this server: ask your administrator to set up GitLab, or to set HYBRIDHUB_MLFLOW_TRACKING_URI to an MLflow tracking server."),
        registry_unreachable: trans.__("The model registry could not be reached. Check the network or try again later."),
        registry_denied: trans.__("The model registry refused your account. Ask a project Maintainer for at least the Reporter role (Developer to deploy)."),
        no_such_model: trans.__("That model is not in the registry. Run the pipeline once to register its first version."),
        no_such_version: trans.__("That version of the model does not exist. Refresh the list of versions."),
        invalid_version: trans.__("That is not a valid model version (a semantic version such as 1.0.42)."),
        gate_failed: trans.__("This version failed its test gate and cannot be deployed. Open its lineage to see why, then train a better version."),
        no_earlier_deployment: trans.__("There is no earlier successful deployment to roll back to. Promote a version instead."),
        deploy_not_allowed: trans.__("Your role may not run the deploy job of this project: ask a project Maintainer for the Developer role."),
        deploy_job_missing: trans.__("The pipeline of this version has no deploy job that can be run (it may have failed or been removed). Run the pipeline again to make a new version."),
        deploy_in_progress: trans.__("A deployment to production is already running. Wait for it to finish."),
        outdated_deployment: trans.__("This version is older than the one in production: GitLab does not run an outdated deploy job (\"Prevent outdated deployment jobs\"). Roll back to reach a version deployed before, use Reproduce to make a new version from its commit and data, or ask a Maintainer to turn that setting off."),
        not_reproducible: trans.__("This version cannot be reproduced: its data was read without object versions and has changed since. Train a new version instead."),
        monitoring_not_configured: trans.__("This server does not know where the monitoring reports are: the version has no hybridhub.monitoring.reports tag (the monitoring job has not run) and HYBRIDHUB_PREDICTION_LOG_URI is not set, or no object store is configured. Run the monitoring job, or ask your administrator."),
        monitoring_unreachable: trans.__("The object store holding the monitoring reports could not be reached. Check the network or try again later."),
        monitoring_denied: trans.__("The object store refused your account access to the monitoring reports. Ask for read access to the bucket of the model's request log."),
        monitoring_no_bucket: trans.__("The bucket that should hold the monitoring reports does not exist. Check where the model server logs its requests (PREDICTION_LOG_URI)."),
        monitoring_bad_report: trans.__("A monitoring report could not be read (it is not a hybridhub.monitoring/1 JSON report) and is left out. Run the monitoring job again."),
        no_such_report: trans.__("There is no monitoring report for that day. Refresh the panel."),
        no_production: trans.__("No version of this model serves production yet: promote a version first."),
        retrain_not_allowed: trans.__("Your role may not start pipelines in this project: ask a project Maintainer for the Developer role."),
        unknown_project: trans.__("That project does not exist or you cannot access it."),
        token_expired: trans.__("GitLab did not accept your access token (it may have expired). Stop and start your server from the hub control panel to get a fresh one."),
        gitlab_unreachable: trans.__("GitLab could not be reached. Check the network or try again later."),
        gitlab_error: trans.__("GitLab answered with an error. Try again later."),
        runner_missing: trans.__("gitlab-ci-local is not installed on this server: ask your administrator (npm ci in the hybridhub source folder)."),
        pipeline_error: trans.__("The pipeline could not be started. Show the details to see why."),
      };
    case 'activity':
      return {
        keepalive_used: trans.__("The server was already kept running once. Start some work to keep it longer."),
        max_age_reached: trans.__("The server reached its maximum age and cannot be kept running longer. Save your work."),
      };
  }
}
