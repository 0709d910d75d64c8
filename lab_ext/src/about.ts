import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { showError } from './notify';
import { errorDetails, HybridHubRequestError, requestAPI } from './request';
import { IServerStatus } from './status';

function row(list: HTMLElement, label: string, value: string): void {
  const term = document.createElement('dt');
  term.textContent = label;
  const description = document.createElement('dd');
  description.textContent = value;
  list.append(term, description);
}

/** A widget listing what this server is connected to. */
export function renderStatus(
  status: IServerStatus,
  trans: TranslationBundle
): Widget {
  const widget = new Widget();
  widget.addClass('jp-hybridhub-about');
  const list = document.createElement('dl');
  row(list, trans.__('Version'), status.version);
  row(
    list,
    trans.__('Object storage'),
    status.storage.configured
      ? status.storage.endpoint
      : trans.__('not configured')
  );
  row(
    list,
    trans.__('Notebook repository remote'),
    status.git.remote_configured
      ? trans.__('configured')
      : trans.__('not configured')
  );
  row(
    list,
    trans.__('GitLab'),
    status.gitlab.configured ? status.gitlab.url : trans.__('not configured')
  );
  widget.node.appendChild(list);
  return widget;
}

/** Fetch the status and show it; errors become a notification with details. */
export async function showAbout(trans: TranslationBundle): Promise<void> {
  try {
    const status = await requestAPI<IServerStatus>('status', trans);
    await showDialog({
      title: trans.__('About hybridhub'),
      body: renderStatus(status, trans),
      buttons: [Dialog.okButton({ label: trans.__('Close') })]
    });
  } catch (error) {
    const message =
      error instanceof HybridHubRequestError ? error.message : String(error);
    showError(message, errorDetails(error), trans);
  }
}
