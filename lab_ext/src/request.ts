import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { ReasonArea, reasonTexts } from './reasons';

/** The gettext domain of every hybridhub string (JupyterLab's ITranslator). */
export const TRANSLATION_DOMAIN = 'hybridhub';

/**
 * An error from the hybridhub server extension, with a message fit for users.
 */
export class HybridHubRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly details: string = ''
  ) {
    super(message);
    this.name = 'HybridHubRequestError';
  }
}

/**
 * The stable ``reason`` code the server extension sent with a failed request, or null.
 * Panels map it to a translated message; the server's English stays behind "Show details".
 */
export function errorReason(error: unknown): string | null {
  if (error instanceof HybridHubRequestError && error.details) {
    try {
      const data = JSON.parse(error.details);
      return typeof data.reason === 'string' ? data.reason : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The text of ``reason`` in ``table``, or null (never an Object prototype member). */
function ownText(table: Record<string, string>, reason: unknown): string | null {
  return typeof reason === 'string' && Object.prototype.hasOwnProperty.call(table, reason) ? table[reason] : null;
}

/**
 * The translated text of a server reason code of ``area`` (or one every route may answer),
 * from the one catalog (reasons.ts); ``fallback`` (the server's English) for an unknown code.
 * ``invalid_request`` keeps the server's message: it says what was wrong with the request.
 */
export function reasonText(
  area: ReasonArea,
  reason: string | null | undefined,
  fallback: string,
  trans: TranslationBundle
): string {
  if (reason === 'invalid_request') {
    return trans.__('The request was not valid: %1', fallback);
  }
  return ownText(reasonTexts(area, trans), reason) ?? ownText(reasonTexts('common', trans), reason) ?? fallback;
}

/** The server's answer to a failed request (for "Show details"), or ''. */
export function errorDetails(error: unknown): string {
  return error instanceof HybridHubRequestError ? error.details : '';
}

/**
 * Call a hybridhub REST endpoint; token and XSRF are handled by ServerConnection.
 *
 * Throws HybridHubRequestError; a 404 on the extension's own namespace means the
 * server extension is missing, which is said plainly.
 */
export async function requestAPI<T>(
  endPoint: string,
  trans: TranslationBundle,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'hybridhub', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new HybridHubRequestError(
      trans.__('The Jupyter server could not be reached.'),
      0,
      String(error)
    );
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the details
    }
  }
  if (!response.ok) {
    if (response.status === 404 && endPoint === 'status') {
      throw new HybridHubRequestError(
        trans.__(
          'The hybridhub server extension is not installed or not enabled: pip install hybridhub, then restart the server.'
        ),
        404
      );
    }
    const message =
      (data && typeof data === 'object' && data.reason !== 'invalid_request' && ownText(reasonTexts('common', trans), data.reason)) ||
      (data && typeof data === 'object' && data.message) ||
      trans.__('The request failed (HTTP %1).', response.status);
    throw new HybridHubRequestError(message, response.status, text);
  }
  return data as T;
}
