import { TranslationBundle } from '@jupyterlab/translation';

import { errorReason } from '../request';

/** The translated message for a server ``reason`` code (English from the server otherwise). */
export function reasonMessage(
  reason: string | null | undefined,
  fallback: string,
  trans: TranslationBundle
): string {
  switch (reason) {
    case 'not_configured':
      return trans.__(
        'Object storage is not configured for this server. Ask your administrator.'
      );
    case 'storage_unreachable':
      return trans.__(
        'The object store could not be reached. Check the network or try again later.'
      );
    case 'tls_error':
      return trans.__(
        "The object store's TLS certificate could not be verified (check the CA bundle)."
      );
    case 'bad_credentials':
      return trans.__(
        'The object store rejected the configured credentials (wrong access key or secret key).'
      );
    case 'access_denied':
      return trans.__('Access denied by the object store.');
    case 'outside_prefix':
      return trans.__('You may only access keys under your own prefix.');
    case 'no_such_bucket':
      return trans.__('The bucket does not exist.');
    case 'no_such_key':
      return trans.__('The object does not exist.');
    case 'no_such_version':
      return trans.__('That version of the object does not exist.');
    case 'invalid_bucket':
      return trans.__('The bucket name is not valid.');
    case 'invalid_key':
      return trans.__(
        "The object key or prefix is not valid (no empty, '.' or '..' parts, no leading '/')."
      );
    case 'invalid_path':
      return trans.__(
        'The workspace path is not allowed (it must stay inside your workspace).'
      );
    case 'not_a_file':
      return trans.__('The workspace path is not a file.');
    case 'file_exists':
      return trans.__('A file with that name already exists in the workspace.');
    case 'object_exists':
      return trans.__('An object with that key already exists.');
    case 'preview_too_large':
      return trans.__('The object is too large to preview.');
    case 'preview_unsupported':
      return trans.__('This kind of object cannot be previewed.');
    case 'cancelled':
      return trans.__('The transfer was cancelled.');
    case 'incomplete_upload':
      return trans.__('The upload ended before all bytes arrived.');
    case 'invalid_pins_file':
      return trans.__(
        'The pins file .hybridhub/data-pins.json is not valid. Fix it, or delete it to start over with no pins.'
      );
    case 'invalid_request':
      return trans.__('The request was not valid: %1', fallback);
    default:
      return fallback || trans.__('The object storage request failed.');
  }
}

export { errorReason };

/** A user-facing message for any error from the storage API. */
export function describeError(error: unknown, trans: TranslationBundle): string {
  const message = error instanceof Error ? error.message : String(error);
  return reasonMessage(errorReason(error), message, trans);
}
