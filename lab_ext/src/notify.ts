import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

/**
 * A sticky error notification with the translated message; the server's own answer (often
 * English, for an administrator) stays behind a "Show details" action.
 */
export function showError(
  message: string,
  details: string,
  trans: TranslationBundle
): void {
  Notification.error(message, {
    autoClose: false,
    actions: details
      ? [
          {
            label: trans.__('Show details'),
            callback: () => {
              void showDialog({
                title: trans.__('Details'),
                body: details,
                buttons: [Dialog.okButton({ label: trans.__('Close') })]
              });
            }
          }
        ]
      : []
  });
}
