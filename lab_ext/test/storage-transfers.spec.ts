import { nullTranslator } from '@jupyterlab/translation';

import * as storageApi from '../src/storage/api';
import { IJob, StorageAPI } from '../src/storage/api';
import { TransferManager } from '../src/storage/transfers';
import { HybridHubRequestError } from '../src/request';

const trans = nullTranslator.load('hybridhub');

function job(state: IJob['state'], done: number): IJob {
  return { id: 'j1', direction: 'download', bucket: 'datasets', key: 'sensors/train.csv', path: 'train.csv', state, total: 100,
    done, speed: 10, reason: null, message: null }; // prettier-ignore
}

describe('TransferManager', () => {
  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('shows a browser upload progressing, then done, and tells when it finished', async () => {
    let progress: (loaded: number, total: number) => void = () => undefined;
    let finish: () => void = () => undefined;
    jest.spyOn(storageApi, 'uploadFile').mockImplementation((_file, _bucket, _key, _overwrite, onProgress) => {
      progress = onProgress;
      return { promise: new Promise<void>(resolve => (finish = resolve)), abort: jest.fn() };
    });
    const manager = new TransferManager({} as StorageAPI, trans);
    const finished: string[] = [];
    manager.finished.connect((_, t) => finished.push(t.label));
    const upload = manager.upload(new Blob(['x'.repeat(100)]) as File, 'home-alice', 'data/x.bin', false);
    const first = manager.transfers[0];
    progress(40, 100);
    expect(manager.transfers[0]).not.toBe(first); // replaced, never changed in place (views compare)
    expect([manager.transfers[0].done, manager.transfers[0].state]).toEqual([40, 'running']);
    finish();
    await upload;
    expect([manager.transfers[0].state, manager.transfers[0].done, finished]).toEqual(['done', 100, ['data/x.bin']]);
    manager.dispose();
  });

  it('says why an upload failed, and a cancelled one is no failure', async () => {
    jest.spyOn(storageApi, 'uploadFile').mockReturnValueOnce({
      promise: Promise.reject(new HybridHubRequestError('Access Denied.', 403, '{"reason": "access_denied"}')),
      abort: jest.fn()
    }).mockReturnValueOnce({
      promise: Promise.reject(new HybridHubRequestError('cancelled', 409, '{"reason": "cancelled"}')),
      abort: jest.fn()
    }); // prettier-ignore
    const manager = new TransferManager({} as StorageAPI, trans);
    await expect(manager.upload(new Blob(['x']) as File, 'datasets', 'x', false)).rejects.toThrow();
    await expect(manager.upload(new Blob(['x']) as File, 'home-alice', 'y', false)).rejects.toThrow();
    expect(manager.transfers.map(t => [t.state, t.message])).toEqual([
      ['failed', 'Access denied by the object store.'],
      ['cancelled', 'The transfer was cancelled.']
    ]);
    manager.dispose();
  });

  it('polls a server-side transfer while it runs, and stands by once none does', async () => {
    jest.useFakeTimers();
    const api = {
      startJob: jest.fn().mockResolvedValue(job('running', 0)),
      jobs: jest.fn().mockResolvedValueOnce([job('running', 50)]).mockResolvedValue([job('done', 100)])
    };
    const manager = new TransferManager(api as unknown as StorageAPI, trans);
    const finished: string[] = [];
    manager.finished.connect((_, t) => finished.push(t.label));
    await manager.startJob({ direction: 'download', bucket: 'datasets', key: 'sensors/train.csv', path: 'train.csv' });
    await jest.advanceTimersByTimeAsync(2_000);
    expect(finished).toEqual(['train.csv']);
    const calls = api.jobs.mock.calls.length;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(api.jobs.mock.calls.length).toBe(calls); // nothing runs: no request
    manager.dispose();
  });
});
