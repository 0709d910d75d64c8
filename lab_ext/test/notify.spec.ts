import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';

import { notifyGitError } from '../src/git/messages';
import { showError } from '../src/notify';
import { HybridHubRequestError } from '../src/request';

const trans = nullTranslator.load('hybridhub');

describe('showError: one way to report a failure in every panel', () => {
  let shown: Array<{ message: string; labels: string[] }>;

  beforeEach(() => {
    shown = [];
    jest.spyOn(Notification, 'error').mockImplementation((message, options) => {
      shown.push({ message, labels: (options?.actions ?? []).map(a => a.label) });
      return 'id';
    });
  });

  afterEach(() => jest.restoreAllMocks());

  it('puts the next steps first and the server answer behind "Show details", only when there is one', () => {
    showError('GitLab could not be reached.', '{"reason": "gitlab_unreachable"}', trans, [{ label: 'Retry', callback: () => undefined }]);
    showError('The bucket does not exist.', '', trans);
    expect(shown).toEqual([
      { message: 'GitLab could not be reached.', labels: ['Retry', 'Show details'] },
      { message: 'The bucket does not exist.', labels: [] }
    ]);
  });

  it('is what the git panel uses too: its next step, then the details', () => {
    const error = new HybridHubRequestError('rejected', 409, '{"reason": "non_fast_forward", "details": "! [rejected] main -> main"}');
    notifyGitError(error, trans, { pull: () => undefined });
    expect(shown).toEqual([
      { message: 'The remote has commits that you do not have yet. Pull first, then push again.', labels: ['Pull', 'Show details'] }
    ]);
  });
});
