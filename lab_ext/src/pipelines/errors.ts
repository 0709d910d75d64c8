import { TranslationBundle } from '@jupyterlab/translation';

import { showError } from '../notify';
import { errorDetails, errorReason, reasonText } from '../request';

/** The translated text for a pipelines reason code; the server's English otherwise. */
export function pipelineMessage(error: unknown, trans: TranslationBundle): string {
  const fallback = error instanceof Error ? error.message : String(error);
  return reasonText('pipelines', errorReason(error), fallback, trans) || trans.__('The pipeline request failed.');
}

/** A failed request as a notification with a "Show details" action (details never hold secrets). */
export function notifyPipelineError(error: unknown, trans: TranslationBundle): void {
  showError(pipelineMessage(error, trans), errorDetails(error), trans);
}
