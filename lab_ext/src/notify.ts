import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

/**
 * A sticky error notification with the translated message and the next steps (``actions``);
 * the server's own answer (often English, for an administrator) stays behind a "Show details"
 * action, shown as it came (line breaks kept). Every panel reports its failures this way.
 */
export function showError(
  message: string,
  details: string,
  trans: TranslationBundle,
  actions: Notification.IAction[] = []
): void {
  const detailsAction: Notification.IAction[] = details
    ? [
        {
          label: trans.__('Show details'),
          callback: () => {
            const pre = document.createElement('pre');
            pre.className = 'jp-hybridhub-details';
            pre.textContent = details;
            void showDialog({
              title: trans.__('Details'),
              body: new Widget({ node: pre }),
              buttons: [Dialog.okButton({ label: trans.__('Close') })]
            });
          }
        }
      ]
    : [];
  Notification.error(message, { autoClose: false, actions: [...actions, ...detailsAction] });
}
