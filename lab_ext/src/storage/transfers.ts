import { TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { IJob, StorageAPI, uploadFile } from './api';
import { DirectUpload, PutPart } from './direct';
import { describeError, errorReason, reasonMessage } from './errors';

export type TransferState = 'running' | 'done' | 'failed' | 'cancelled';

/** One transfer shown in the list, from the browser or run by the server (replaced, never changed). */
export interface ITransfer {
  readonly id: string;
  readonly label: string;
  readonly direction: 'upload' | 'download';
  readonly where: 'browser' | 'workspace';
  readonly total: number | null;
  readonly done: number;
  readonly speed: number;
  readonly state: TransferState;
  readonly message: string;
  readonly cancel: () => void;
}

/** How often running server-side transfers are asked for their progress. */
const POLL_MS = 500;

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Browser uploads (XHR with progress; straight to the store in parts, see direct.ts) and workspace transfers (server jobs, polled by a Lumino
 * ``Poll`` while any is running and the browser tab is visible). Emits ``changed`` on progress
 * and ``finished`` when one ends well.
 */
export class TransferManager {
  constructor(
    private readonly api: StorageAPI,
    private readonly trans: TranslationBundle,
    /** The part PUT of direct uploads (the browser's XHR; tests inject one). */
    private readonly putPart?: PutPart
  ) {
    this.poll = new Poll({
      auto: false,
      factory: () => this.pollJobs(),
      frequency: { interval: POLL_MS, backoff: true, max: 10 * POLL_MS },
      name: 'hybridhub:storage-transfers',
      standby: () => (this.running ? 'when-hidden' : true)
    });
  }

  /** From the extension's settings (``transferSeconds``). */
  set pollSeconds(seconds: number) {
    this.poll.frequency = { ...this.poll.frequency, interval: seconds * 1000, max: 20 * seconds * 1000 };
  }

  /** How many changes so far: what the view re-renders on. */
  get version(): number {
    return this._version;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get finished(): ISignal<this, ITransfer> {
    return this._finished;
  }

  get transfers(): ITransfer[] {
    return [...this._browser.values(), ...this._jobs.values()];
  }

  /**
   * Upload a file from the computer; resolves when done, rejects on failure. Straight to the store
   * in parts when the server offers direct uploads, else (and for an empty file) through the server.
   */
  upload(file: File, bucket: string, key: string, overwrite: boolean): Promise<void> {
    const id = `b${++this._counter}`;
    const started = performance.now();
    const update = (change: Partial<ITransfer>) => {
      this._browser.set(id, { ...this._browser.get(id)!, ...change });
      this.changedNow();
    };
    const speed = (loaded: number) => loaded / Math.max((performance.now() - started) / 1000, 0.001);
    let current: { abort(): void } | null = null;
    let cancelled = false;
    const streamed = (): Promise<void> => {
      const handle = uploadFile(
        file,
        bucket,
        key,
        overwrite,
        (loaded, total) => update({ done: loaded, total: total || file.size, speed: speed(loaded) }),
        this.trans
      );
      current = handle;
      if (cancelled) {
        handle.abort();
      }
      return handle.promise;
    };
    const transfer: ITransfer = {
      id, label: key, direction: 'upload', where: 'browser', total: file.size, done: 0, speed: 0, state: 'running', message: '',
      cancel: () => {
        cancelled = true;
        current?.abort();
      }
    }; // prettier-ignore
    this._browser.set(id, transfer);
    this.changedNow();
    const direct = file.size > 0 && !this._directOff && this.api.knownConfig?.direct_uploads === true;
    let work: Promise<void>;
    if (direct) {
      const upload = new DirectUpload({
        api: this.api, file, bucket, key, overwrite, trans: this.trans, putPart: this.putPart,
        onProgress: done => update({ done, speed: speed(done) })
      }); // prettier-ignore
      current = { abort: () => upload.cancel() };
      work = upload.run().then(outcome => {
        if (outcome.kind === 'done') {
          return;
        }
        if (outcome.why === 'off') {
          this._directOff = true; // the server said so: later files go through it at once
        } else {
          update({ done: 0, message: this.trans.__('The object store cannot be reached from this browser: the file goes through the Jupyter server instead.') });
        }
        return streamed();
      });
    } else {
      work = streamed();
    }
    return work.then(
      () => {
        update({ state: 'done', done: file.size });
        this._finished.emit(this._browser.get(id)!);
      },
      error => {
        update({ state: errorReason(error) === 'cancelled' ? 'cancelled' : 'failed', message: describeError(error, this.trans) });
        throw error;
      }
    );
  }

  /** Start a server-side transfer between the workspace and the store. */
  async startJob(body: Parameters<StorageAPI['startJob']>[0]): Promise<void> {
    const job = await this.api.startJob(body);
    this.track(job);
    void this.poll.start();
  }

  /** Remove finished transfers from the list. */
  clearFinished(): void {
    for (const [id, t] of this._browser) {
      if (t.state !== 'running') {
        this._browser.delete(id);
      }
    }
    for (const [id, t] of this._jobs) {
      if (t.state !== 'running') {
        this._jobs.delete(id);
        void this.api.cancelJob(id).catch(() => undefined);
      }
    }
    this.changedNow();
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  private changedNow(): void {
    this._version++;
    this._changed.emit();
  }

  private get running(): boolean {
    return [...this._jobs.values()].some(t => t.state === 'running');
  }

  private track(job: IJob): void {
    const previous = this._jobs.get(job.id);
    const transfer: ITransfer = {
      id: job.id,
      label: job.direction === 'download' ? job.path : job.key,
      direction: job.direction,
      where: 'workspace',
      total: job.total,
      done: job.done,
      speed: job.speed,
      state: job.state,
      message: job.reason
        ? reasonMessage(job.reason, job.message ?? '', this.trans)
        : '',
      cancel: () => void this.api.cancelJob(job.id).then(j => this.track(j))
    };
    this._jobs.set(job.id, transfer);
    if (previous?.state === 'running' && job.state === 'done') {
      this._finished.emit(transfer);
    }
    this.changedNow();
  }

  /** One progress request for the running jobs (a failure backs the poll off, then it retries). */
  private async pollJobs(): Promise<void> {
    for (const job of await this.api.jobs()) {
      if (this._jobs.has(job.id)) {
        this.track(job);
      }
    }
  }

  private _browser = new Map<string, ITransfer>();
  private _jobs = new Map<string, ITransfer>();
  private _counter = 0;
  private _directOff = false;
  private readonly poll: Poll;
  private _version = 0;
  private _changed = new Signal<this, void>(this);
  private _finished = new Signal<this, ITransfer>(this);
}
