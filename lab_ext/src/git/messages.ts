import { Notification } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

import { showError } from '../notify';
import { errorReason, reasonText as textOfReason } from '../request';
import { gitErrorDetails } from './api';

/** A translated message, with what to do, for each reason code of the git routes. */
export function reasonText(reason: string | null, fallback: string, trans: TranslationBundle): string {
  return textOfReason('git', reason, fallback, trans);
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
  showError(reasonText(reason, fallback, trans), gitErrorDetails(error), trans, buttons);
}
