import { TranslationBundle } from '@jupyterlab/translation';

import { HybridHubRequestError } from '../request';
import { IDirectUpload, IDirectUploadAPI, IDirectUploadResult } from './api';
import { errorReason } from './errors';

/** Parts uploaded at the same time. */
export const MAX_IN_FLIGHT = 3;
/** Times a failed part (network error, 5xx, 403 of an expired URL) is sent again, each with a new URL. */
export const MAX_RETRIES = 3;
/**
 * Wait before the first retry of a part (ms), doubled at each further retry: a store that answers 5xx
 * (S3's 503 SlowDown) asks for fewer requests, and the AWS SDKs retry with exponential backoff
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
 */
export const RETRY_DELAY_MS = 500;
/** Part URLs asked per request (the server issues at most 100 per request). */
export const URL_BATCH = 8;
/** A URL asked ahead is asked again when it expires within this long (ms); never more than a quarter of its life. */
const EXPIRY_MARGIN_MS = 30_000;

/** A part the store did not take. ``unreachable``: the browser could not talk to the store (network or CORS). */
export class PartError extends HybridHubRequestError {
  constructor(message: string, status: number, details = '', readonly unreachable = false) {
    super(message, status, details);
    this.name = 'PartError';
  }
}

/** One part PUT in flight: resolves with the store's ETag, rejects with a PartError. */
export interface IPartPut {
  promise: Promise<string>;
  abort(): void;
}

/** Send ``body`` to the presigned ``url``; ``onProgress`` gets the bytes of this part sent so far. */
export type PutPart = (url: string, body: Blob, onProgress: (loaded: number) => void) => IPartPut;

/**
 * The browser's part PUT: the URL as issued, no header of our own (they are not signed); the
 * store's CORS settings must expose ``ETag`` or the browser cannot read it.
 */
export function xhrPutPart(trans: TranslationBundle): PutPart {
  return (url, body, onProgress) => {
    const xhr = new XMLHttpRequest();
    const promise = new Promise<string>((resolve, reject) => {
      xhr.open('PUT', url);
      xhr.upload.onprogress = event => onProgress(event.loaded);
      xhr.onload = () => {
        const etag = xhr.getResponseHeader('ETag');
        if (xhr.status >= 200 && xhr.status < 300 && etag) {
          resolve(etag);
        } else if (xhr.status >= 200 && xhr.status < 300) {
          const message = trans.__('The object store took the part but hid its ETag from the browser: its CORS settings must expose the ETag header.');
          reject(new PartError(message, xhr.status, '', true));
        } else {
          const message = trans.__('The object store refused a part of the upload (HTTP %1).', xhr.status);
          reject(new PartError(message, xhr.status, xhr.responseText));
        }
      };
      xhr.onerror = () =>
        reject(new PartError(trans.__('The object store could not be reached from this browser.'), 0, '', true));
      xhr.onabort = () => reject(new PartError(trans.__('The transfer was cancelled.'), 0));
      xhr.send(body);
    });
    return { promise, abort: () => xhr.abort() };
  };
}

/** How a direct upload ended when it did not fail: done, or to be sent through the server instead. */
export type DirectOutcome =
  | { kind: 'done'; result: IDirectUploadResult }
  | { kind: 'fallback'; why: 'off' | 'unreachable' };

export interface IDirectUploadOptions {
  api: IDirectUploadAPI;
  file: Blob;
  bucket: string;
  key: string;
  overwrite: boolean;
  /** Bytes sent so far (finished parts and those in flight); never goes down. */
  onProgress: (done: number) => void;
  trans: TranslationBundle;
  /** The part PUT (the browser's XHR unless a test injects one). */
  putPart?: PutPart;
  maxInFlight?: number;
  /** The first retry's wait (ms), doubled at each further retry. */
  retryDelayMs?: number;
}

/** A part URL and when it stops working (ms since the epoch). */
interface IUrl {
  url: string;
  expiresAt: number;
  margin: number;
}

const FALLBACK = Symbol('fallback');

/**
 * One file uploaded straight to the object store: the server plans the parts and issues their
 * presigned URLs, the browser sends at most ``maxInFlight`` parts at a time, retries a failed
 * part with a fresh URL, keeps the server's lease while parts take long, and asks the server to
 * complete (or abort) the multipart upload.
 */
export class DirectUpload {
  constructor(private readonly options: IDirectUploadOptions) {
    this.putPart = options.putPart ?? xhrPutPart(options.trans);
    this.maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
    this.retryDelayMs = options.retryDelayMs ?? RETRY_DELAY_MS;
  }

  /**
   * Upload the file. Resolves ``done``, or ``fallback`` when the server has direct uploads off or the
   * store cannot be reached from this browser before any part went through (nothing was kept).
   * Rejects with the failure (reason ``cancelled`` after ``cancel()``); the server was asked to abort.
   */
  async run(): Promise<DirectOutcome> {
    const { api, file, bucket, key, overwrite } = this.options;
    let plan: IDirectUpload;
    try {
      plan = await this.call(() =>
        api.startDirectUpload({ bucket, key, size: file.size, content_type: file.type || undefined, overwrite })
      );
    } catch (error) {
      if (!this.cancelled && errorReason(error) === 'direct_uploads_off') {
        return { kind: 'fallback', why: 'off' };
      }
      throw this.cancelled ? this.cancelledError() : error;
    }
    this.plan = plan;
    try {
      if (this.cancelled) {
        throw this.cancelledError();
      }
      this.checkPlan(plan);
      await this.sendParts();
      this.completing = true;
      const parts = [...this.etags.entries()].sort((a, b) => a[0] - b[0]).map(([number, etag]) => ({ number, etag }));
      const result = await this.completeAskingAgainOnLoss(plan.id, parts);
      return { kind: 'done', result };
    } catch (error) {
      this.end();
      await api.abortDirectUpload(plan.id).catch(() => undefined);
      if (error === FALLBACK) {
        return { kind: 'fallback', why: 'unreachable' };
      }
      throw this.cancelled ? this.cancelledError() : error;
    } finally {
      this.end();
    }
  }

  /** Stop: in-flight parts are aborted and the server is asked to abort the upload (no effect once completing). */
  cancel(): void {
    if (this.completing || this.cancelled) {
      return;
    }
    this.cancelled = true;
    this.fail(this.cancelledError());
  }

  /** The byte range of part ``n`` (1-based): every part ``part_size`` long but the last. */
  static range(plan: Pick<IDirectUpload, 'part_size'>, size: number, n: number): [number, number] {
    const start = (n - 1) * plan.part_size;
    return [start, Math.min(start + plan.part_size, size)];
  }

  private checkPlan(plan: IDirectUpload): void {
    const size = this.options.file.size;
    if (!(plan.part_size > 0) || plan.parts !== Math.ceil(size / plan.part_size)) {
      throw new HybridHubRequestError(
        this.options.trans.__('The server planned parts that do not cover the file.'),
        0,
        JSON.stringify(plan)
      );
    }
  }

  /** Resolves once every part has its ETag; rejects with the first failure (or FALLBACK). */
  private sendParts(): Promise<void> {
    const plan = this.plan!;
    this.queue = Array.from({ length: plan.parts }, (_, i) => i + 1);
    const promise = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    const renewMs = (plan.idle_timeout * 1000) / 2;
    if (renewMs > 0) {
      this.leaseTimer = setInterval(() => this.renewLease(renewMs), Math.max(renewMs / 2, 250));
    }
    this.pump();
    return promise;
  }

  /** Start parts while fewer than ``maxInFlight`` are under way; ask the next URLs ahead of need. */
  private pump(): void {
    if (this.ended) {
      return;
    }
    if (this.etags.size === this.plan!.parts) {
      this.settle?.resolve();
      return;
    }
    while (this.busy.size < this.maxInFlight && this.queue.length > 0) {
      const n = this.queue.shift()!;
      this.busy.add(n);
      void this.sendPart(n);
    }
    const next = this.queue.slice(0, this.maxInFlight).find(n => !this.freshUrl(n) && !this.asking.has(n));
    if (next !== undefined && this.asking.size === 0) {
      this.askUrls(next).catch(error => this.fail(error));
    }
  }

  private async sendPart(n: number): Promise<void> {
    let url: string;
    try {
      url = await this.urlFor(n);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.ended) {
      return;
    }
    const [start, end] = DirectUpload.range(this.plan!, this.options.file.size, n);
    const flight = { loaded: 0, abort: (): void => undefined };
    const handle = this.putPart(url, this.options.file.slice(start, end), loaded => {
      if (!this.ended) {
        flight.loaded = Math.min(loaded, end - start);
        this.report();
      }
    });
    flight.abort = () => handle.abort();
    this.inFlight.set(n, flight);
    try {
      const etag = await handle.promise;
      if (this.ended) {
        return;
      }
      this.inFlight.delete(n);
      this.busy.delete(n);
      this.etags.set(n, etag);
      this.finished += end - start;
      this.report();
    } catch (error) {
      this.inFlight.delete(n);
      this.busy.delete(n);
      if (!this.ended) {
        this.partFailed(n, error);
      }
    }
    this.pump();
  }

  /** Retry a part that may go through with a new URL; the first part unreachable falls back; else fail. */
  private partFailed(n: number, error: unknown): void {
    if (!(error instanceof PartError)) {
      this.fail(error);
      return;
    }
    if (error.unreachable && this.etags.size === 0) {
      this.fail(FALLBACK);
      return;
    }
    const retryable = error.status === 0 || error.status === 403 || error.status >= 500;
    const tries = this.retries.get(n) ?? 0;
    if (!retryable || (error.unreachable && error.status !== 0) || tries >= MAX_RETRIES) {
      this.fail(error);
      return;
    }
    this.retries.set(n, tries + 1);
    this.urls.delete(n); // a freshly issued URL, whatever the old one's expiry said
    const timer = setTimeout(() => {
      this.waits.delete(timer);
      this.queue.unshift(n);
      this.pump();
    }, this.retryDelayMs * 2 ** tries);
    this.waits.add(timer);
  }

  /** A URL for part ``n``: one asked ahead that is still fresh, else asked now (with the next parts'). */
  private async urlFor(n: number): Promise<string> {
    const fresh = this.freshUrl(n);
    if (!fresh) {
      await (this.asking.get(n) ?? this.askUrls(n));
    }
    const known = this.urls.get(n);
    this.urls.delete(n);
    if (!known) {
      throw new HybridHubRequestError(this.options.trans.__('The server issued no URL for part %1.', n), 0);
    }
    return known.url;
  }

  private freshUrl(n: number): boolean {
    const known = this.urls.get(n);
    return !!known && known.expiresAt - known.margin > Date.now();
  }

  /** Ask URLs for ``n`` and the next queued parts that have none (one request renews the lease too). */
  private askUrls(n: number): Promise<void> {
    const numbers = [n];
    for (const m of this.queue) {
      if (numbers.length >= URL_BATCH) {
        break;
      }
      if (m !== n && !this.freshUrl(m) && !this.asking.has(m)) {
        numbers.push(m);
      }
    }
    const request = this.call(() => this.options.api.directUploadUrls(this.plan!.id, numbers))
      .then(answer => {
        const life = answer.expires_in * 1000;
        const expiresAt = Date.now() + life;
        for (const [number, url] of Object.entries(answer.urls)) {
          this.urls.set(Number(number), { url, expiresAt, margin: Math.min(EXPIRY_MARGIN_MS, life / 4) });
        }
      })
      .finally(() => numbers.forEach(m => this.asking.delete(m)));
    numbers.forEach(m => this.asking.set(m, request));
    return request;
  }

  /** Parts still uploading and nothing asked for a while: ask one URL again, so the server keeps the upload. */
  private renewLease(renewMs: number): void {
    if (this.ended || Date.now() - this.lastContact < renewMs || this.asking.size > 0) {
      return;
    }
    const n = this.queue[0] ?? Math.min(...this.inFlight.keys());
    if (Number.isFinite(n)) {
      this.askUrls(n).catch(() => undefined); // a missed renewal shows at completion, if the server gave up
    }
  }

  private report(): void {
    let done = this.finished;
    for (const flight of this.inFlight.values()) {
      done += flight.loaded;
    }
    this.reported = Math.max(this.reported, Math.min(done, this.options.file.size));
    this.options.onProgress(this.reported);
  }

  /** A call to the server (each one renews the upload's lease there). */
  /**
   * Complete; when the answer is lost on the way (status 0: the server may have completed it),
   * ask once more: the server answers a completed upload's id with the same answer.
   */
  private async completeAskingAgainOnLoss(id: string, parts: { number: number; etag: string }[]) {
    const api = this.options.api;
    try {
      return await this.call(() => api.completeDirectUpload(id, parts));
    } catch (error) {
      if (!(error instanceof HybridHubRequestError) || error.status !== 0) {
        throw error;
      }
      return await this.call(() => api.completeDirectUpload(id, parts));
    }
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } finally {
      this.lastContact = Date.now();
    }
  }

  private fail(error: unknown): void {
    if (this.ended) {
      return;
    }
    this.end();
    this.settle?.reject(error);
  }

  /** Nothing more is sent: parts in flight are aborted, the lease timer stops. */
  private end(): void {
    if (this.leaseTimer !== null) {
      clearInterval(this.leaseTimer);
      this.leaseTimer = null;
    }
    this.waits.forEach(timer => clearTimeout(timer));
    this.waits.clear();
    if (this.ended) {
      return;
    }
    this.ended = true;
    for (const flight of this.inFlight.values()) {
      flight.abort();
    }
    this.inFlight.clear();
  }

  private cancelledError(): HybridHubRequestError {
    return new HybridHubRequestError(this.options.trans.__('The transfer was cancelled.'), 0, JSON.stringify({ reason: 'cancelled' }));
  }

  private readonly putPart: PutPart;
  private readonly maxInFlight: number;
  private readonly retryDelayMs: number;
  /** Parts waiting to be sent again. */
  private waits = new Set<ReturnType<typeof setTimeout>>();
  private plan: IDirectUpload | null = null;
  private queue: number[] = [];
  /** Parts taken from the queue and not yet finished or failed (asking a URL or in flight). */
  private busy = new Set<number>();
  private inFlight = new Map<number, { loaded: number; abort: () => void }>();
  private urls = new Map<number, IUrl>();
  private asking = new Map<number, Promise<void>>();
  private retries = new Map<number, number>();
  private etags = new Map<number, string>();
  private finished = 0;
  private reported = 0;
  private lastContact = Date.now();
  private leaseTimer: ReturnType<typeof setInterval> | null = null;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  private ended = false;
  private cancelled = false;
  private completing = false;
}
