import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';

import { CullingModel, ICullWarning } from '../src/culling/model';

const trans = nullTranslator.load('hybridhub');

const WARNING: ICullWarning = {
  cull_at: '2026-12-06T10:00:00Z', reason: 'idle for 1 h', kind: 'idle', state: 'pending', issued_at: '2026-12-06T09:50:00Z'
};

function report(warning: ICullWarning | null) {
  return JSON.stringify({ now: '', busy: false, reasons: [], idle_timeout_seconds: 3600, keepalive_available: true, warning });
}

describe('CullingModel', () => {
  let answer: string;
  let requests: string[];
  let model: CullingModel;

  beforeEach(() => {
    jest.useFakeTimers();
    answer = report(null);
    requests = [];
    jest.spyOn(ServerConnection, 'makeRequest').mockImplementation(async url => {
      requests.push(String(url));
      return new Response(answer, { status: 200 });
    });
    model = new CullingModel(trans);
  });

  afterEach(() => {
    model.dispose();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('asks as a browser every 30 s, every 3 s while a warning stands, and signals each change once', async () => {
    const seen: Array<ICullWarning | null> = [];
    model.warningChanged.connect((_, warning) => seen.push(warning));
    model.start();
    await jest.advanceTimersByTimeAsync(61_000);
    expect(requests.length).toBe(3); // at start, 30 s, 60 s
    expect(requests.every(url => url.endsWith('/hybridhub/activity?client=lab'))).toBe(true);
    answer = report(WARNING);
    await jest.advanceTimersByTimeAsync(30_000);
    expect(seen).toEqual([WARNING]);
    const before = requests.length;
    await jest.advanceTimersByTimeAsync(9_000);
    expect(requests.length - before).toBe(3); // every 3 s now
    expect(seen).toEqual([WARNING]); // the same warning is not signalled again
  });

  it('keeps polling in a hidden browser tab: the culler asks a polling browser to save first', async () => {
    const hidden = jest.spyOn(document, 'hidden', 'get').mockReturnValue(true);
    model.start();
    await jest.advanceTimersByTimeAsync(61_000);
    expect(requests.length).toBe(3);
    hidden.mockRestore();
  });
});
