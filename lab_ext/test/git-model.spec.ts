import { nullTranslator } from '@jupyterlab/translation';

import { GitAPI, IGitStatus } from '../src/git/api';
import { GitModel, IGitState } from '../src/git/model';
import { HybridHubRequestError } from '../src/request';

const trans = nullTranslator.load('hybridhub');

function status(branch: string): IGitStatus {
  return {
    repository: 'project', branch, detached: false, upstream: null, ahead: 0, behind: 0, files: [], staged: 0,
    truncated: false, remote: null, on_gitlab: false, gitlab_configured: true
  };
}

/** Answers that the test releases one by one, in any order. */
function controlledApi() {
  const pending: Array<{ resolve: (s: IGitStatus) => void; reject: (e: unknown) => void }> = [];
  const api = {
    status: jest.fn(() => new Promise<IGitStatus>((resolve, reject) => pending.push({ resolve, reject })))
  };
  return { api: api as unknown as GitAPI & typeof api, pending };
}

const settle = () => new Promise(resolve => setTimeout(resolve, 0));

/** Until ``condition`` holds (the poll's immediate tick waits for an animation frame), at most 1 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition() && waited < 1000; waited += 10) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

describe('GitModel', () => {
  afterEach(() => jest.useRealTimers());

  it('loads as soon as the panel is shown, however it was opened', async () => {
    const { api, pending } = controlledApi();
    const model = new GitModel(api, trans, () => 'project/notebooks');
    await settle();
    expect(api.status).not.toHaveBeenCalled(); // hidden: no request
    model.shown = true;
    await until(() => api.status.mock.calls.length > 0);
    expect(api.status).toHaveBeenCalledWith('project/notebooks');
    pending[0].resolve(status('main'));
    await settle();
    expect([model.state.status?.branch, model.state.loading]).toEqual(['main', false]);
    model.dispose();
  });

  it('keeps the newest answer when an older one arrives last', async () => {
    const { api, pending } = controlledApi();
    const model = new GitModel(api, trans, () => '');
    const first = model.refresh();
    const second = model.refresh();
    pending[1].resolve(status('feature'));
    pending[0].resolve(status('main'));
    await Promise.all([first, second]);
    expect(model.state.status?.branch).toBe('feature');
    model.dispose();
  });

  it('polls while shown and stands by while hidden', async () => {
    jest.useFakeTimers();
    const api = { status: jest.fn().mockResolvedValue(status('main')) };
    const model = new GitModel(api as unknown as GitAPI, trans, () => '', 2);
    model.shown = true;
    await jest.advanceTimersByTimeAsync(10_000);
    const whileShown = api.status.mock.calls.length;
    expect(whileShown).toBeGreaterThanOrEqual(4); // the first load and one every 2 s
    model.shown = false;
    await jest.advanceTimersByTimeAsync(20_000);
    expect(api.status.mock.calls.length).toBe(whileShown);
    model.shown = true; // shown again: at once, not after the interval
    await jest.advanceTimersByTimeAsync(100);
    expect(api.status.mock.calls.length).toBe(whileShown + 1);
    model.dispose();
  });

  it("says why there is no status in the area's words and keeps the draft message", async () => {
    const api = {
      status: jest.fn().mockRejectedValue(new HybridHubRequestError('not a repo', 404, '{"reason": "not_a_repository"}'))
    };
    const model = new GitModel(api as unknown as GitAPI, trans, () => 'tmp');
    const states: IGitState[] = [];
    model.stateChanged.connect((_, state) => states.push(state));
    model.setDraft('Add sensor data');
    await model.refresh();
    expect(model.state.problem).toBe('This folder is not inside a git repository.');
    expect(model.state.draft).toBe('Add sensor data');
    expect(states.length).toBe(2);
    model.dispose();
  });

  it('runs one action at a time and reloads after it, also when it fails', async () => {
    const api = { status: jest.fn().mockResolvedValue(status('main')) };
    const model = new GitModel(api as unknown as GitAPI, trans, () => '');
    let release: () => void = () => undefined;
    const first = model.run(() => new Promise<string>(resolve => (release = () => resolve('done'))));
    expect(model.state.busy).toBe(true);
    await expect(model.run(async () => 'second')).resolves.toBeUndefined(); // refused while busy
    release();
    await expect(first).resolves.toBe('done');
    expect(model.state.busy).toBe(false);
    await expect(model.run(() => Promise.reject(new Error('push failed')))).rejects.toThrow('push failed');
    expect(api.status).toHaveBeenCalledTimes(2);
    model.dispose();
  });
});
