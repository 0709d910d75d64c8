import { TranslationBundle } from '@jupyterlab/translation';

import { errorReason, reasonText } from '../request';

/** The translated text for a pipelines reason code; the server's English otherwise. */
export function pipelineMessage(error: unknown, trans: TranslationBundle): string {
  const fallback = error instanceof Error ? error.message : String(error);
  return reasonText('pipelines', errorReason(error), fallback, trans) || trans.__('The pipeline request failed.');
}
