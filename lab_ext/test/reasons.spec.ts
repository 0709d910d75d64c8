import { nullTranslator } from '@jupyterlab/translation';

import { reasonText } from '../src/request';
import { reasonTexts } from '../src/reasons';

const trans = nullTranslator.load('hybridhub');

describe('reasonText', () => {
  it("takes the area's own text for a code several areas answer", () => {
    expect(reasonText('storage', 'access_denied', 'Access Denied.', trans)).toBe('Access denied by the object store.');
    expect(reasonText('git', 'access_denied', 'Forbidden', trans)).toBe('GitLab refused this action for your account.');
  });

  it('falls back to the codes every route may answer', () => {
    expect(reasonText('pipelines', 'no_such_route', 'Not Found', trans)).toMatch(/older than this page/);
  });

  it("keeps the server's words for invalid_request and for a code it does not know", () => {
    expect(reasonText('git', 'invalid_request', 'branch: must be text', trans)).toBe(
      'The request was not valid: branch: must be text'
    );
    expect(reasonText('git', 'brand_new_code', 'Something new.', trans)).toBe('Something new.');
    expect(reasonText('git', null, 'No reason.', trans)).toBe('No reason.');
  });

  it("never answers with an object's built-in members", () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(reasonText('storage', name, 'fallback', trans)).toBe('fallback');
    }
  });

  it('has a text for the codes that had none before (git busy, storage storage_error, pipelines pipeline_error)', () => {
    expect(reasonTexts('git', trans).busy).toMatch(/Another git operation/);
    expect(reasonTexts('storage', trans).storage_error).toMatch(/object store answered with an error/);
    expect(reasonTexts('pipelines', trans).pipeline_error).toMatch(/could not be started/);
  });
});
