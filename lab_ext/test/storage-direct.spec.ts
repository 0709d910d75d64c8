// Direct browser uploads (issue 22): the part scheduler (direct.ts) and how TransferManager uses it.
// The store's behaviour stood in for here follows the S3 multipart API the server presigns for:
// UploadPart answers the part's ETag (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html),
// a presigned URL past its expiry is refused with 403 AccessDenied "Request has expired"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html), and a browser
// that the store's CORS rules do not allow sees only status 0 (XMLHttpRequest's network error,
// https://xhr.spec.whatwg.org/#handle-errors).
import { nullTranslator } from '@jupyterlab/translation';

import { errorReason, HybridHubRequestError } from '../src/request';
import * as storageApi from '../src/storage/api';
import { IDirectUpload, StorageAPI } from '../src/storage/api';
import { DirectUpload, MAX_RETRIES, PartError, PutPart, RETRY_DELAY_MS, xhrPutPart } from '../src/storage/direct';
import { TransferManager } from '../src/storage/transfers';

const trans = nullTranslator.load('hybridhub');

/** Let promises and zero-delay timers run (a few rounds: a retry waits for a timer, then asks a URL). */
async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

/** A file whose byte i is i % 251 (so any misplaced range shows). */
function file(size: number, type = ''): File {
  const bytes = Uint8Array.from({ length: size }, (_, i) => i % 251);
  return new File([bytes], 'data.bin', { type });
}

async function read(blob: Blob): Promise<number[]> {
  return Array.from(new Uint8Array(await blob.arrayBuffer()));
}

/** The server's direct-upload routes as the contract says: parts of ``partSize``, URLs numbered by issue. */
function fakeServer(partSize = 10, plan: Partial<IDirectUpload> = {}) {
  let issued = 0;
  return {
    startDirectUpload: jest.fn(async (body: { size: number }) => ({
      id: 'u1', part_size: partSize, parts: Math.ceil(body.size / partSize), part_expiry: 300, idle_timeout: 120, ...plan
    })), // prettier-ignore
    directUploadUrls: jest.fn(async (_id: string, numbers: number[]) => ({
      urls: Object.fromEntries(numbers.map(n => [String(n), `https://store.office/b/k?partNumber=${n}&i=${++issued}`])),
      expires_in: 300
    })),
    completeDirectUpload: jest.fn(async (_id: string, parts: { number: number; etag: string }[]) => ({
      bucket: 'home-alice', key: 'data/x.bin', etag: '"multi-' + parts.length + '"', version_id: null, size: 0
    })), // prettier-ignore
    abortDirectUpload: jest.fn(async () => undefined)
  };
}

interface IPut {
  url: string;
  part: number;
  body: Blob;
  progress: (loaded: number) => void;
  resolve: (etag: string) => void;
  reject: (error: unknown) => void;
  aborted: boolean;
  settled: boolean;
}

/** The object store's side of the part PUTs, answered by the test. */
class FakeStore {
  puts: IPut[] = [];
  putPart: PutPart = (url, body, progress) => {
    const put = { url, body, progress, aborted: false, settled: false } as IPut;
    put.part = Number(/partNumber=(\d+)/.exec(url)![1]);
    const promise = new Promise<string>((resolve, reject) => Object.assign(put, { resolve, reject }));
    this.puts.push(put);
    return {
      promise,
      abort: () => {
        put.aborted = true;
        put.reject(new PartError('aborted', 0));
      }
    };
  };

  get open(): IPut[] {
    return this.puts.filter(p => !p.settled && !p.aborted);
  }

  ok(put: IPut): void {
    put.progress(put.body.size);
    put.settled = true;
    put.resolve(`"etag-${put.part}"`);
  }

  fail(put: IPut, status: number): void {
    put.settled = true;
    put.reject(new PartError(`HTTP ${status}`, status, '', status === 0));
  }

  /** Answer every open PUT well until ``done`` settles. */
  async finishAll(done: Promise<unknown>): Promise<void> {
    let over = false;
    void done.then(() => (over = true), () => (over = true)); // prettier-ignore
    while (!over) {
      await flush();
      this.open.forEach(p => this.ok(p));
    }
  }
}

function direct(server: ReturnType<typeof fakeServer>, store: FakeStore, f: Blob, progress: number[] = [], retryDelayMs = 0) {
  return new DirectUpload({
    api: server, file: f, bucket: 'home-alice', key: 'data/x.bin', overwrite: false, trans, putPart: store.putPart,
    onProgress: done => progress.push(done), retryDelayMs
  }); // prettier-ignore
}

/** An upload of ``size`` bytes in 10-byte parts, its first PUTs under way (and with ``firstDone``, part 1 through). */
async function started(size = 25, firstDone = false) {
  const server = fakeServer(10);
  const store = new FakeStore();
  const progress: number[] = [];
  const upload = direct(server, store, file(size), progress);
  const run = upload.run();
  await flush();
  if (firstDone) {
    store.ok(store.puts[0]);
    await flush();
  }
  return { server, store, upload, run, progress };
}

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('DirectUpload', () => {
  it('sends parts that cover the file exactly (last part shorter) and completes with every ETag in order', async () => {
    const server = fakeServer(10);
    const store = new FakeStore();
    const f = file(25, 'text/csv');
    const run = direct(server, store, f).run();
    await flush();
    expect(store.open.map(p => p.part)).toEqual([1, 2, 3]);
    // the store answers out of order: the completion still lists parts 1, 2, 3
    for (const i of [2, 0, 1]) {
      store.ok(store.puts[i]);
    }
    await expect(run).resolves.toMatchObject({ kind: 'done' });
    expect(server.startDirectUpload).toHaveBeenCalledWith({
      bucket: 'home-alice', key: 'data/x.bin', size: 25, content_type: 'text/csv', overwrite: false
    }); // prettier-ignore
    const bodies = await Promise.all(store.puts.map(p => read(p.body)));
    expect(bodies.map(b => b.length)).toEqual([10, 10, 5]);
    expect(bodies.flat()).toEqual(await read(f));
    expect(store.puts.every(p => p.body.type === '')).toBe(true); // no Content-Type of ours: it is not signed
    expect(server.completeDirectUpload).toHaveBeenCalledWith('u1', [
      { number: 1, etag: '"etag-1"' },
      { number: 2, etag: '"etag-2"' },
      { number: 3, etag: '"etag-3"' }
    ]);
    expect(server.abortDirectUpload).not.toHaveBeenCalled();
  });

  it('asks complete once more when its answer is lost (status 0), and does not abort what the server completed', async () => {
    const server = fakeServer(10);
    const answer = await server.completeDirectUpload('u1', []);
    server.completeDirectUpload.mockReset();
    server.completeDirectUpload
      .mockRejectedValueOnce(new HybridHubRequestError('lost', 0))
      .mockResolvedValueOnce(answer);
    const store = new FakeStore();
    const run = direct(server, store, file(15)).run();
    await flush();
    store.puts.forEach(p => store.ok(p));
    await expect(run).resolves.toMatchObject({ kind: 'done', result: answer });
    expect(server.completeDirectUpload).toHaveBeenCalledTimes(2);
    expect(server.abortDirectUpload).not.toHaveBeenCalled();
  });

  it('does not ask complete again after a refusal (a status of the server), and aborts', async () => {
    const server = fakeServer(10);
    server.completeDirectUpload.mockRejectedValue(new HybridHubRequestError('no', 409, '{"reason":"incomplete_upload"}'));
    const store = new FakeStore();
    const run = direct(server, store, file(15)).run();
    await flush();
    store.puts.forEach(p => store.ok(p));
    await expect(run).rejects.toMatchObject({ status: 409 });
    expect(server.completeDirectUpload).toHaveBeenCalledTimes(1);
    expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
  });

  it('keeps at most 3 parts in flight and asks URLs in batches, ahead of need', async () => {
    const server = fakeServer(10);
    const store = new FakeStore();
    const run = direct(server, store, file(200)).run();
    let most = 0;
    let over = false;
    void run.then(() => (over = true));
    while (!over) {
      await flush();
      most = Math.max(most, store.open.length);
      const first = store.open[0];
      if (first) {
        store.ok(first); // one at a time, so the next part starts while two are still under way
      }
    }
    expect(most).toBe(3);
    expect(store.puts.map(p => p.part)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const asked = server.directUploadUrls.mock.calls.map(c => c[1]);
    expect(asked.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1)); // each once
    expect(asked.length).toBeLessThanOrEqual(4); // batches, not one request per part
  });

  it('reports progress that never goes down and ends at the file size, through a failed and retried part', async () => {
    const { store, run, progress } = await started();
    store.puts[0].progress(6);
    store.puts[1].progress(4);
    store.fail(store.puts[1], 503); // its 4 bytes in flight are gone (6 + 0 + 1 < 10): the shown progress stays
    await flush();
    store.puts[2].progress(1);
    await store.finishAll(run);
    await run;
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.every((v, i) => i === 0 || v >= progress[i - 1])).toBe(true);
    expect(progress[progress.length - 1]).toBe(25);
  });

  it('sends a part refused with 403 (an expired URL) again with a freshly issued URL', async () => {
    const { server, store, run } = await started();
    const refused = store.puts[1];
    store.fail(refused, 403);
    await flush();
    const again = store.puts.filter(p => p.part === 2);
    expect(again).toHaveLength(2);
    expect(again[1].url).not.toBe(refused.url);
    expect(server.directUploadUrls.mock.calls.map(c => c[1])).toContainEqual([2]); // asked the server again
    await store.finishAll(run);
    await expect(run).resolves.toMatchObject({ kind: 'done' });
    expect(server.completeDirectUpload.mock.calls[0][1].map((p: { etag: string }) => p.etag)).toEqual(['"etag-1"', '"etag-2"', '"etag-3"']);
  });

  it(`gives up on a part after ${MAX_RETRIES} retries, and at once on a refusal a retry cannot mend; the server aborts`, async () => {
    for (const [status, puts] of [[500, MAX_RETRIES + 1], [400, 1]]) {
      const server = fakeServer(10);
      const store = new FakeStore();
      const run = direct(server, store, file(15)).run();
      const outcome = run.then(() => null, (error: unknown) => error);
      for (let i = 0; i < 10; i++) {
        await flush();
        store.open.filter(p => p.part === 1).forEach(p => store.fail(p, status));
      }
      const error = await outcome;
      expect(error).toBeInstanceOf(PartError);
      expect((error as PartError).status).toBe(status);
      expect(store.puts.filter(p => p.part === 1)).toHaveLength(puts);
      expect(store.puts.filter(p => p.part === 2).every(p => p.aborted || p.settled)).toBe(true);
      expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
      expect(server.completeDirectUpload).not.toHaveBeenCalled();
    }
  });

  it('waits before sending a failed part again, twice as long at each retry', async () => {
    jest.useFakeTimers();
    const server = fakeServer(10);
    const store = new FakeStore();
    const outcome = direct(server, store, file(10), [], RETRY_DELAY_MS).run().then(() => null, (e: unknown) => e);
    await jest.advanceTimersByTimeAsync(0);
    const sentAt: number[] = [];
    for (let elapsed = 0; elapsed <= 4_000; elapsed += 100) {
      if (store.open.length > 0) {
        sentAt.push(elapsed);
        store.fail(store.open[0], 503); // S3's SlowDown
      }
      await jest.advanceTimersByTimeAsync(100);
    }
    expect(sentAt).toEqual([0, 500, 1_500, 3_500]); // waits of 500, 1000, 2000 ms
    expect(await outcome).toBeInstanceOf(PartError);
  });

  it('fails at once on an ETag the store hid from the browser once parts went through (a retry cannot show it)', async () => {
    const { server, store, run } = await started(25, true);
    store.puts[1].settled = true;
    store.puts[1].reject(new PartError('ETag hidden', 200, '', true));
    const error = await run.then(() => null, (e: unknown) => e);
    expect([(error as PartError).status, store.puts.filter(p => p.part === 2).length]).toEqual([200, 1]);
    expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
  });

  it('on cancel aborts the parts in flight, asks the server to abort, and ends cancelled', async () => {
    const { server, store, upload, run } = await started(100, true);
    const inFlight = store.open;
    expect(inFlight).toHaveLength(3);
    upload.cancel();
    const error = await run.then(() => null, (e: unknown) => e);
    expect(errorReason(error)).toBe('cancelled');
    expect(inFlight.every(p => p.aborted)).toBe(true);
    expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
    expect(server.completeDirectUpload).not.toHaveBeenCalled();
    await flush();
    expect(store.open).toHaveLength(0); // nothing started after the cancel
  });

  it('falls back when the first part cannot reach the store (status 0) and none went through', async () => {
    const { server, store, run } = await started();
    const others = store.open.slice(1);
    store.fail(store.puts[0], 0);
    await expect(run).resolves.toEqual({ kind: 'fallback', why: 'unreachable' });
    expect(others.every(p => p.aborted)).toBe(true);
    expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
    expect(store.puts).toHaveLength(3); // no retry of the unreachable part
  });

  it('retries a status-0 part once another part went through (the store is reachable)', async () => {
    const { store, run } = await started(25, true);
    store.fail(store.puts[1], 0);
    await store.finishAll(run);
    await expect(run).resolves.toMatchObject({ kind: 'done' });
    expect(store.puts.filter(p => p.part === 2)).toHaveLength(2);
  });

  it('renews the server lease while a part takes longer than half the idle timeout', async () => {
    jest.useFakeTimers();
    const server = fakeServer(10, { idle_timeout: 20 });
    const store = new FakeStore();
    const run = direct(server, store, file(10)).run();
    await jest.advanceTimersByTimeAsync(0);
    expect(server.directUploadUrls).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(9_000); // less than idle_timeout / 2 since the last request
    expect(server.directUploadUrls).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(21_000); // the one part is still uploading
    expect(server.directUploadUrls.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(server.directUploadUrls.mock.calls[1][1]).toEqual([1]); // one URL asked again
    const renewals = server.directUploadUrls.mock.calls.length;
    store.ok(store.puts[0]);
    await jest.advanceTimersByTimeAsync(0);
    await expect(run).resolves.toMatchObject({ kind: 'done' });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(server.directUploadUrls).toHaveBeenCalledTimes(renewals); // no renewal after the end
  });

  it('asks again for a URL asked ahead that is about to expire before its part starts', async () => {
    jest.useFakeTimers();
    const server = fakeServer(10, { idle_timeout: 1_000 }); // no lease renewal in between
    const store = new FakeStore();
    const run = direct(server, store, file(40)).run();
    await jest.advanceTimersByTimeAsync(0);
    expect(server.directUploadUrls.mock.calls.map(c => c[1])).toEqual([[1, 2, 3, 4]]); // part 4's asked ahead
    await jest.advanceTimersByTimeAsync(290_000); // its URL (300 s) would expire within the 30 s margin
    store.ok(store.puts[0]);
    await jest.advanceTimersByTimeAsync(0);
    expect(server.directUploadUrls.mock.calls[1][1]).toEqual([4]);
    expect(store.puts[3].url).toMatch(/partNumber=4&i=5$/); // the URL issued now, not the first one (i=4)
    store.open.forEach(p => store.ok(p));
    await jest.advanceTimersByTimeAsync(0);
    await expect(run).resolves.toMatchObject({ kind: 'done' });
  });

  it('a cancel while the server starts the upload ends cancelled, and the upload it started is aborted', async () => {
    const server = fakeServer(10);
    let started: () => void = () => undefined;
    const plan = server.startDirectUpload.getMockImplementation()!;
    server.startDirectUpload.mockImplementation(body => new Promise(resolve => (started = () => resolve(plan(body)))));
    const store = new FakeStore();
    const upload = direct(server, store, file(25));
    const run = upload.run();
    upload.cancel();
    started();
    expect(errorReason(await run.then(() => null, (e: unknown) => e))).toBe('cancelled');
    expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
    expect(store.puts).toHaveLength(0);
  });

  it('gives direct_uploads_off back as a fallback, with nothing to abort', async () => {
    const server = fakeServer(10);
    server.startDirectUpload.mockRejectedValue(
      new HybridHubRequestError('off', 409, JSON.stringify({ reason: 'direct_uploads_off', message: 'off' }))
    );
    const store = new FakeStore();
    await expect(direct(server, store, file(25)).run()).resolves.toEqual({ kind: 'fallback', why: 'off' });
    expect(server.abortDirectUpload).not.toHaveBeenCalled();
    expect(store.puts).toHaveLength(0);
  });
});

describe('TransferManager with direct uploads', () => {
  function manager(direct_uploads: boolean | undefined, server = fakeServer(10), store = new FakeStore()) {
    const api = { ...server, knownConfig: { direct_uploads } } as unknown as StorageAPI;
    return { transfers: new TransferManager(api, trans, store.putPart), server, store };
  }

  function streamedUpload(outcome: Promise<void> = Promise.resolve()) {
    return jest.spyOn(storageApi, 'uploadFile').mockReturnValue({ promise: outcome, abort: jest.fn() });
  }

  it('uploads straight to the store when the server offers it, with the same transfer entry', async () => {
    const streamed = streamedUpload();
    const { transfers, server, store } = manager(true);
    const finished: string[] = [];
    transfers.finished.connect((_, t) => finished.push(t.label));
    const upload = transfers.upload(file(25), 'home-alice', 'data/x.bin', true);
    await flush();
    store.puts[0].progress(5);
    expect([transfers.transfers[0].done, transfers.transfers[0].state]).toEqual([5, 'running']);
    await store.finishAll(upload);
    await upload;
    expect(streamed).not.toHaveBeenCalled();
    expect(server.startDirectUpload.mock.calls[0][0]).toMatchObject({ overwrite: true, size: 25 });
    expect([transfers.transfers[0].state, transfers.transfers[0].done, finished]).toEqual(['done', 25, ['data/x.bin']]);
    transfers.dispose();
  });

  it('streams through the server as today for an empty file, or when direct uploads are off or not said', async () => {
    for (const [size, flag] of [[0, true], [25, false], [25, undefined]] as [number, boolean | undefined][]) {
      const streamed = streamedUpload();
      const { transfers, server } = manager(flag);
      await transfers.upload(file(size), 'home-alice', 'data/x.bin', false);
      expect(streamed).toHaveBeenCalledTimes(1);
      expect(server.startDirectUpload).not.toHaveBeenCalled();
      expect(transfers.transfers[0].state).toBe('done');
      jest.restoreAllMocks();
      transfers.dispose();
    }
  });

  it('falls back to the streamed upload when the store is unreachable, and says so once', async () => {
    const streamed = streamedUpload();
    const { transfers, server, store } = manager(true);
    const upload = transfers.upload(file(25), 'home-alice', 'data/x.bin', false);
    await flush();
    store.fail(store.puts[0], 0);
    await upload;
    expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
    expect(streamed).toHaveBeenCalledTimes(1);
    const [t] = transfers.transfers;
    expect(t.state).toBe('done');
    expect(t.message).toBe('The object store cannot be reached from this browser: the file goes through the Jupyter server instead.');
    transfers.dispose();
  });

  it('after direct_uploads_off, streams this file and the next without asking again', async () => {
    const streamed = streamedUpload();
    const server = fakeServer(10);
    server.startDirectUpload.mockRejectedValue(new HybridHubRequestError('off', 409, '{"reason": "direct_uploads_off"}'));
    const { transfers } = manager(true, server);
    await transfers.upload(file(25), 'home-alice', 'a.bin', false);
    await transfers.upload(file(25), 'home-alice', 'b.bin', false);
    expect(server.startDirectUpload).toHaveBeenCalledTimes(1);
    expect(streamed).toHaveBeenCalledTimes(2);
    expect(transfers.transfers.map(t => [t.state, t.message])).toEqual([['done', ''], ['done', '']]);
    transfers.dispose();
  });

  it('cancel ends a direct upload cancelled, the server asked to abort', async () => {
    const { transfers, server, store } = manager(true);
    const upload = transfers.upload(file(100), 'home-alice', 'data/x.bin', false);
    const outcome = upload.then(() => null, (e: unknown) => e);
    await flush();
    transfers.transfers[0].cancel();
    expect(errorReason(await outcome)).toBe('cancelled');
    expect(store.puts.every(p => p.aborted)).toBe(true);
    expect(server.abortDirectUpload).toHaveBeenCalledWith('u1');
    expect([transfers.transfers[0].state, transfers.transfers[0].message]).toEqual(['cancelled', 'The transfer was cancelled.']);
    transfers.dispose();
  });
});

/** The browser's XMLHttpRequest as far as xhrPutPart uses it (https://xhr.spec.whatwg.org/). */
class FakeXHR {
  static made: FakeXHR[] = [];
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown = null;
  status = 0;
  responseText = '';
  responseHeaders: Record<string, string> = {};
  aborted = false;
  upload: { onprogress: ((event: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    FakeXHR.made.push(this);
  }

  open(method: string, url: string): void {
    [this.method, this.url] = [method, url];
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }

  send(body: unknown): void {
    this.body = body;
  }

  abort(): void {
    this.aborted = true;
    this.onabort?.();
  }

  getResponseHeader(name: string): string | null {
    return this.responseHeaders[name.toLowerCase()] ?? null;
  }

  answer(status: number, headers: Record<string, string> = {}, text = ''): void {
    [this.status, this.responseHeaders, this.responseText] = [status, headers, text];
    this.onload?.();
  }
}

describe('xhrPutPart', () => {
  const real = globalThis.XMLHttpRequest;
  beforeEach(() => {
    FakeXHR.made = [];
    globalThis.XMLHttpRequest = FakeXHR as unknown as typeof XMLHttpRequest;
  });
  afterEach(() => {
    globalThis.XMLHttpRequest = real;
  });

  const url = 'https://store.office/b/k?partNumber=1&uploadId=u&X-Amz-Signature=s';

  it('PUTs the part to the URL as issued, with no header of its own, and gives the ETag and the progress', async () => {
    const body = new Blob(['abc']);
    const progress: number[] = [];
    const put = xhrPutPart(trans)(url, body, loaded => progress.push(loaded));
    const [xhr] = FakeXHR.made;
    xhr.upload.onprogress!({ loaded: 2 });
    xhr.answer(200, { etag: '"900150983cd24fb0d6963f7d28e17f72"' });
    await expect(put.promise).resolves.toBe('"900150983cd24fb0d6963f7d28e17f72"');
    expect([xhr.method, xhr.url, xhr.headers, xhr.body, progress]).toEqual(['PUT', url, {}, body, [2]]);
  });

  it('tells a store out of reach (network or CORS: status 0, or the ETag hidden) from a refusal', async () => {
    const outcomes: PartError[] = [];
    for (const end of [
      (x: FakeXHR) => x.onerror!(),
      (x: FakeXHR) => x.answer(200), // CORS without ExposeHeaders: ETag
      (x: FakeXHR) => x.answer(403, {}, '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>')
    ]) {
      const put = xhrPutPart(trans)(url, new Blob(['abc']), () => undefined);
      end(FakeXHR.made[FakeXHR.made.length - 1]);
      outcomes.push(await put.promise.then(() => { throw new Error('resolved'); }, (e: PartError) => e)); // prettier-ignore
    }
    expect(outcomes.map(e => [e instanceof PartError, e.status, e.unreachable])).toEqual([
      [true, 0, true],
      [true, 200, true],
      [true, 403, false]
    ]);
    expect(outcomes[2].message).toBe('The object store refused a part of the upload (HTTP 403).');
    expect(outcomes[2].details).toContain('Request has expired');
  });

  it('abort() aborts the request', async () => {
    const put = xhrPutPart(trans)(url, new Blob(['abc']), () => undefined);
    put.abort();
    expect(FakeXHR.made[0].aborted).toBe(true);
    await expect(put.promise).rejects.toBeInstanceOf(PartError);
  });
});
