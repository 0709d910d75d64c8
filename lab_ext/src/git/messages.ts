import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { errorReason } from '../request';
import { gitErrorDetails } from './api';

/** A translated message, with what to do, for each reason code of the git routes. */
export function reasonText(reason: string | null, fallback: string, trans: TranslationBundle): string {
  switch (reason) {
    case 'non_fast_forward':
      return trans.__('The remote has commits that you do not have yet. Pull first, then push again.');
    case 'protected_branch':
      return trans.__('This branch is protected on GitLab. Create a new branch, push it and open a merge request.');
    case 'token_expired':
      return trans.__(
        'GitLab did not accept your access token (it may have expired). Stop and start your server from the hub control panel to get a fresh one.'
      );
    case 'gitlab_unreachable':
      return trans.__('GitLab could not be reached. Check the network or try again later; your commits are kept locally.');
    case 'gitlab_not_configured':
      return trans.__(
        'GitLab is not configured on this hub, so this action is not available. Commits, push and pull to the repository\'s remote still work.'
      );
    case 'merge_conflict':
      return trans.__('Pulling produced conflicts. Resolve them in the listed files, stage them and commit.');
    case 'nothing_to_commit':
      return trans.__('There is nothing staged to commit. Stage changed files first.');
    case 'empty_message':
      return trans.__('Write a commit message first.');
    case 'not_a_repository':
      return trans.__('This folder is not inside a git repository.');
    case 'no_such_folder':
      return trans.__('That folder does not exist in the workspace.');
    case 'unknown_file':
      return trans.__('git does not know that file: it is neither in the folder nor in the repository.');
    case 'remote_not_configured':
      return trans.__('This repository has no remote to push to or pull from.');
    case 'uncommitted_changes':
      return trans.__('Your uncommitted changes would be overwritten. Commit them first, then switch.');
    case 'branch_exists':
      return trans.__('A branch with that name already exists.');
    case 'invalid_branch_name':
      return trans.__('That is not a valid branch name.');
    case 'access_denied':
      return trans.__('GitLab refused this action for your account.');
    case 'git_timeout':
      return trans.__('The git command took too long and was stopped. Try again.');
    case 'destination_exists':
      return trans.__('A file or folder with that name already exists in the workspace.');
    case 'no_such_project':
      return trans.__('That GitLab project does not exist or you cannot access it.');
    default:
      return fallback;
  }
}

export interface IErrorActions {
  pull?: () => void;
  newBranch?: () => void;
  retry?: () => void;
}

/** Show a failed git action as a notification with the next step as an action. */
export function notifyGitError(error: unknown, trans: TranslationBundle, actions: IErrorActions = {}): void {
  const reason = errorReason(error);
  const fallback = error instanceof Error ? error.message : String(error);
  const buttons: Notification.IAction[] = [];
  if (reason === 'non_fast_forward' && actions.pull) {
    buttons.push({ label: trans.__('Pull'), callback: actions.pull });
  }
  if (reason === 'protected_branch' && actions.newBranch) {
    buttons.push({ label: trans.__('New branch'), callback: actions.newBranch });
  }
  if (reason === 'token_expired') {
    const hubPrefix = PageConfig.getOption('hubPrefix');
    if (hubPrefix) {
      buttons.push({
        label: trans.__('Open the hub control panel'),
        callback: () => window.open(URLExt.join(hubPrefix, 'home'), '_blank', 'noopener')
      });
    }
  }
  if ((reason === 'gitlab_unreachable' || reason === 'git_timeout') && actions.retry) {
    buttons.push({ label: trans.__('Retry'), callback: actions.retry });
  }
  const details = gitErrorDetails(error);
  if (details) {
    buttons.push({
      label: trans.__('Show details'),
      callback: () => {
        const pre = document.createElement('pre');
        pre.textContent = details;
        void showDialog({
          title: trans.__('Details'),
          body: new Widget({ node: pre }),
          buttons: [Dialog.okButton({ label: trans.__('Close') })]
        });
      }
    });
  }
  Notification.error(reasonText(reason, fallback, trans), { autoClose: false, actions: buttons });
}
