import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { errorReason, reasonText, TRANSLATION_DOMAIN } from '../request';
import { CullingModel, ICullWarning } from './model';

const SAVE_ALL = 'docmanager:save-all';

/** Minutes (rounded up) until the announced cull. */
function minutesLeft(warning: ICullWarning): number {
  const ms = Date.parse(warning.cull_at) - Date.now();
  return Math.max(1, Math.ceil(ms / 60_000));
}

/** Save every open document that has unsaved changes. */
async function saveOpenDocuments(app: JupyterFrontEnd): Promise<void> {
  if (app.commands.hasCommand(SAVE_ALL)) {
    await app.commands.execute(SAVE_ALL);
    return;
  }
  const saves: Promise<void>[] = [];
  for (const widget of app.shell.widgets('main')) {
    const context = (widget as any).context;
    if (context?.model?.dirty && typeof context.save === 'function') {
      saves.push(context.save());
    }
  }
  await Promise.all(saves);
}

/**
 * Shows the culler's warning as a JupyterLab notification with a "Keep running" action,
 * and saves open documents when the culler says it is stopping the server now.
 */
export const cullingPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hybridhub:culling',
  description: 'hybridhub: idle-culling warnings, keep-alive and saving before a stop.',
  autoStart: true,
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, translator: ITranslator | null) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const model = new CullingModel(trans);
    let notificationId = '';

    const dismiss = () => {
      if (notificationId) {
        Notification.dismiss(notificationId);
        notificationId = '';
      }
    };

    const keepRunning = async () => {
      try {
        await model.keepAlive();
        dismiss();
        Notification.success(trans.__('The server will keep running.'), {
          autoClose: 5000
        });
      } catch (error) {
        Notification.error(
          reasonText('activity', errorReason(error), trans.__('The server could not be kept running.'), trans),
          { autoClose: false }
        );
      }
    };

    model.warningChanged.connect(async (_, warning) => {
      dismiss();
      if (!warning) {
        return;
      }
      if (warning.state === 'stopping') {
        notificationId = Notification.warning(
          trans.__('The server is being stopped: saving your open documents.'),
          { autoClose: false }
        );
        try {
          await saveOpenDocuments(app);
          await model.markSaved();
        } catch (error) {
          console.warn('hybridhub: saving before the stop failed', error);
        }
        return;
      }
      const message =
        warning.kind === 'max-age'
          ? trans.__(
              'This server reached its maximum running time and will be stopped in %1 min. Save your work.',
              minutesLeft(warning)
            )
          : trans.__(
              'This server is idle and will be stopped in %1 min to save costs.',
              minutesLeft(warning)
            );
      // the culler's own wording (English, with exact times) stays in the browser console
      console.info('hybridhub culler:', warning.reason);
      const actions: Notification.IAction[] =
        warning.kind === 'idle'
          ? [
              {
                label: trans.__('Keep running'),
                caption: trans.__(
                  'Extend the idle time once by the profile timeout'
                ),
                displayType: 'accent',
                callback: () => void keepRunning()
              }
            ]
          : [];
      notificationId = Notification.warning(message, {
        autoClose: false,
        actions
      });
    });
    model.start();
  }
};
