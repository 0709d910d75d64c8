import { IEntry, IPage, StorageAPI } from '../src/storage/api';
import { StorageModel } from '../src/storage/model';

function entry(key: string): IEntry {
  const name = key.split('/').filter(p => p).pop() ?? key;
  return key.endsWith('/') ? { type: 'prefix', key, name } : { type: 'object', key, name, size: 1 };
}

/** The storage routes' answers for one user: her own bucket, a prefix, two pages of objects. */
function fakeApi(overrides: Partial<Record<keyof StorageAPI, jest.Mock>> = {}) {
  const pages: Record<string, IPage> = {
    '': { bucket: 'home-alice', prefix: '', entries: [entry('data/'), entry('a.csv')], next_token: 't1' },
    t1: { bucket: 'home-alice', prefix: '', entries: [entry('b.csv')], next_token: null },
    'data/': { bucket: 'home-alice', prefix: 'data/', entries: [entry('data/x.csv')], next_token: null }
  };
  const api = {
    config: jest.fn().mockResolvedValue({ configured: true, endpoint: 'https://s3', region: '', default_bucket: 'home-alice', prefix: '' }),
    buckets: jest.fn().mockResolvedValue([{ name: 'datasets', created: null }, { name: 'home-alice', created: null }]),
    list: jest.fn((bucket: string, prefix: string, token: string | null) => Promise.resolve(pages[token ?? prefix])),
    ...overrides
  };
  return api as unknown as StorageAPI & typeof api;
}

describe('StorageModel', () => {
  it('opens the default bucket at start and loads more pages on demand', async () => {
    const api = fakeApi();
    const model = new StorageModel(api);
    await model.initialize();
    expect([model.bucket, model.entries.map(e => e.key), model.nextToken]).toEqual(['home-alice', ['data/', 'a.csv'], 't1']);
    await model.loadMore();
    expect(model.entries.map(e => e.key)).toEqual(['data/', 'a.csv', 'b.csv']);
    expect(model.nextToken).toBeNull();
    await model.loadMore(); // nothing more: no request
    expect(api.list).toHaveBeenCalledTimes(2);
  });

  it('keeps the selection while it is still listed and drops it when the place changes', async () => {
    const model = new StorageModel(fakeApi());
    await model.initialize();
    model.select(model.entries[1]);
    await model.refresh();
    expect(model.selected?.key).toBe('a.csv');
    await model.openPrefix('data/');
    expect(model.selected).toBeNull();
    expect(model.crumbs()).toEqual([['data', 'data/']]);
    expect(model.s3Uri(model.entries[0])).toBe('s3://home-alice/data/x.csv');
  });

  it('reports a failed refresh once and ends loading', async () => {
    const denied = new Error('Access denied');
    const model = new StorageModel(fakeApi({ buckets: jest.fn().mockRejectedValue(denied) }));
    const failures: unknown[] = [];
    model.failed.connect((_, error) => failures.push(error));
    await model.initialize();
    expect(failures).toEqual([denied]);
    expect([model.error, model.loading]).toEqual([denied, false]);
  });

  it('does nothing more for a server where storage is not configured', async () => {
    const api = fakeApi({ config: jest.fn().mockResolvedValue({ configured: false }) });
    const model = new StorageModel(api);
    await model.initialize();
    expect(api.buckets).not.toHaveBeenCalled();
    expect(model.bucket).toBe('');
  });

  it('lands where the person went last when an older listing answers later', async () => {
    const answers: Record<string, (page: IPage) => void> = {};
    const api = fakeApi();
    const model = new StorageModel(api);
    await model.initialize();
    api.list.mockImplementation((bucket: string) => new Promise<IPage>(resolve => (answers[bucket] = resolve)));
    const refresh = model.refresh(); // e.g. the panel shown again
    while (!answers['home-alice']) {
      await new Promise(resolve => setTimeout(resolve, 0));
    }
    const open = model.openBucket('datasets'); // meanwhile the person picks another bucket
    answers['datasets']({ bucket: 'datasets', prefix: '', entries: [entry('sensors/')], next_token: null });
    await open;
    answers['home-alice']({ bucket: 'home-alice', prefix: '', entries: [entry('a.csv')], next_token: null });
    await refresh;
    expect([model.bucket, model.entries.map(e => e.key)]).toEqual(['datasets', ['sensors/']]);
  });

  it('lands on the bucket picked while a refresh was still asking for the buckets', async () => {
    const api = fakeApi();
    const model = new StorageModel(api);
    await model.initialize();
    let releaseBuckets: () => void = () => undefined;
    api.buckets.mockImplementation(
      () => new Promise(resolve => (releaseBuckets = () => resolve([{ name: 'datasets', created: null }])))
    );
    const slow: Array<() => void> = []; // the datasets listings answer late
    api.list.mockImplementation((bucket: string) => {
      const page = { bucket, prefix: '', entries: [entry(bucket === 'datasets' ? 'sensors/' : 'a.csv')], next_token: null };
      return bucket === 'datasets' ? new Promise<IPage>(resolve => slow.push(() => resolve(page))) : Promise.resolve(page);
    });
    const refresh = model.refresh(); // the panel shown again: asks for the buckets first
    const open = model.openBucket('datasets'); // meanwhile the person picks another bucket
    releaseBuckets();
    await new Promise(resolve => setTimeout(resolve, 0));
    slow.forEach(answer => answer());
    await Promise.all([refresh, open]);
    expect([model.bucket, model.entries.map(e => e.key)]).toEqual(['datasets', ['sensors/']]);
  });
});
