import { TranslationBundle } from '@jupyterlab/translation';

import { errorReason, reasonText } from '../request';

/** The translated message for a storage ``reason`` code (the server's English otherwise). */
export function reasonMessage(reason: string | null | undefined, fallback: string, trans: TranslationBundle): string {
  return reasonText('storage', reason, fallback, trans) || trans.__('The object storage request failed.');
}

export { errorReason };

/** A user-facing message for any error from the storage API. */
export function describeError(error: unknown, trans: TranslationBundle): string {
  const message = error instanceof Error ? error.message : String(error);
  return reasonMessage(errorReason(error), message, trans);
}
