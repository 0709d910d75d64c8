import { TranslationBundle } from '@jupyterlab/translation';

import { showError } from '../notify';
import { errorDetails, errorReason, reasonText } from '../request';

/** The translated text for a models reason code; the server's English otherwise. */
export function modelsMessage(error: unknown, trans: TranslationBundle): string {
  const fallback = error instanceof Error ? error.message : String(error);
  return reasonText('models', errorReason(error), fallback, trans) || trans.__('The models request failed.');
}

/** The translated text of a models reason code the server sent in an answer (not an error). */
export function modelsReasonText(reason: string | null, fallback: string, trans: TranslationBundle): string {
  return reasonText('models', reason, fallback, trans);
}

/** A failed request as a notification with a "Show details" action (details never hold secrets). */
export function notifyModelsError(error: unknown, trans: TranslationBundle): void {
  showError(modelsMessage(error, trans), errorDetails(error), trans);
}
