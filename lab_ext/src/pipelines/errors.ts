import { TranslationBundle } from '@jupyterlab/translation';

import { errorReason } from '../request';

/** The translated text for a server reason code; the server's English otherwise. */
export function pipelineMessage(error: unknown, trans: TranslationBundle): string {
  const fallback = error instanceof Error ? error.message : String(error);
  switch (errorReason(error)) {
    case 'invalid_variables':
      return trans.__('A pipeline variable is not valid: names are letters, digits and _, values are text.');
    case 'unknown_project':
      return trans.__('That project does not exist or you cannot access it.');
    case 'unknown_ref':
      return trans.__('That branch or tag does not exist in the project.');
    case 'no_ci_file':
      return trans.__('The project has no .gitlab-ci.yml at that ref. Add the pipeline template first.');
    case 'invalid_ci_file':
      return trans.__('The .gitlab-ci.yml is not valid.');
    case 'unknown_pipeline':
      return trans.__('That pipeline does not exist.');
    case 'unknown_job':
      return trans.__('That job does not exist in the pipeline.');
    case 'not_playable':
      return trans.__('Only a manual job that is waiting can be played.');
    case 'not_retryable':
      return trans.__('Only a finished job can be retried.');
    case 'not_cancelable':
      return trans.__('The pipeline has already finished.');
    case 'busy':
      return trans.__('A job of this pipeline is still running. Wait for it to finish.');
    case 'files_exist':
      return trans.__('The project already has some of the template\'s files. Confirm to overwrite them.');
    case 'invalid_pins_file':
      return trans.__('The pins file .hybridhub/data-pins.json is not valid. Fix it, or delete it to start over with no pins.');
    case 'invalid_path':
      return trans.__('That path is not allowed: it must stay inside your workspace, without \'..\' or symbolic links.');
    case 'not_a_file':
      return trans.__('A folder stands where the template or a pipeline run writes a file. Rename or remove it.');
    case 'file_exists':
      return trans.__('A file stands where the template needs a folder. Choose another folder, or rename or remove that file.');
    case 'runner_missing':
      return trans.__('gitlab-ci-local is not installed on this server: ask your administrator (npm ci in the hybridhub source folder).');
    case 'rsync_missing':
      return trans.__('rsync is not installed on this server; the local pipeline runner needs it.');
    case 'runner_timeout':
      return trans.__('The pipeline took too long and was stopped.');
    case 'token_expired':
      return trans.__('GitLab did not accept your access token (it may have expired). Stop and start your server from the hub control panel to get a fresh one.');
    case 'access_denied':
      return trans.__('GitLab refused this action for your account.');
    case 'protected_ref':
      return trans.__('This branch is protected and your role may not run pipelines on it. Push your changes to a new branch and run the pipeline there, or ask a project Maintainer to run it or to let your role merge into it.');
    case 'variables_not_allowed':
      return trans.__('This project does not let your role set pipeline variables. Run it with the values from .gitlab-ci.yml (undo your changes to the variables), or ask a project Maintainer to lower "Minimum role to use pipeline variables" (Settings > CI/CD > Variables).');
    case 'gitlab_unreachable':
      return trans.__('GitLab could not be reached. Check the network or try again later.');
    case 'gitlab_error':
      return trans.__('GitLab answered with an error. Try again later.');
    case 'invalid_request':
      return trans.__('The request was not valid: %1', fallback);
    default:
      return fallback || trans.__('The pipeline request failed.');
  }
}
