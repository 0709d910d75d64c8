import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { IJob, StorageAPI, uploadFile } from './api';
import { describeError, errorReason, reasonMessage } from './errors';

export type TransferState = 'running' | 'done' | 'failed' | 'cancelled';

/** One transfer shown in the list, from the browser or run by the server. */
export interface ITransfer {
  id: string;
  label: string;
  direction: 'upload' | 'download';
  where: 'browser' | 'workspace';
  total: number | null;
  done: number;
  speed: number;
  state: TransferState;
  message: string;
  cancel: () => void;
}

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
 * Browser uploads (XHR with progress) and workspace transfers (server jobs, polled while
 * any is running). Emits ``changed`` on progress and ``finished`` when one ends well.
 */
export class TransferManager {
  constructor(
    private readonly api: StorageAPI,
    private readonly trans: TranslationBundle
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get finished(): ISignal<this, ITransfer> {
    return this._finished;
  }

  get transfers(): ITransfer[] {
    return [...this._browser.values(), ...this._jobs.values()];
  }

  /** Upload a file from the computer; resolves when done, rejects on failure. */
  upload(file: File, bucket: string, key: string, overwrite: boolean): Promise<void> {
    const id = `b${++this._counter}`;
    const started = performance.now();
    const transfer: ITransfer = {
      id,
      label: key,
      direction: 'upload',
      where: 'browser',
      total: file.size,
      done: 0,
      speed: 0,
      state: 'running',
      message: '',
      cancel: () => handle.abort()
    };
    const handle = uploadFile(
      file,
      bucket,
      key,
      overwrite,
      (loaded, total) => {
        transfer.done = loaded;
        transfer.total = total || file.size;
        transfer.speed = loaded / Math.max((performance.now() - started) / 1000, 0.001);
        this._changed.emit();
      },
      this.trans
    );
    this._browser.set(id, transfer);
    this._changed.emit();
    return handle.promise.then(
      () => {
        transfer.state = 'done';
        transfer.done = file.size;
        this._changed.emit();
        this._finished.emit(transfer);
      },
      error => {
        transfer.state = errorReason(error) === 'cancelled' ? 'cancelled' : 'failed';
        transfer.message = describeError(error, this.trans);
        this._changed.emit();
        throw error;
      }
    );
  }

  /** Start a server-side transfer between the workspace and the store. */
  async startJob(body: Parameters<StorageAPI['startJob']>[0]): Promise<void> {
    const job = await this.api.startJob(body);
    this.track(job);
    this.poll();
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
    this._changed.emit();
  }

  dispose(): void {
    if (this._timer) {
      clearTimeout(this._timer);
    }
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
    this._changed.emit();
  }

  private poll(): void {
    if (this._timer) {
      return;
    }
    const tick = async () => {
      this._timer = null;
      try {
        for (const job of await this.api.jobs()) {
          if (this._jobs.has(job.id)) {
            this.track(job);
          }
        }
      } catch {
        // a failed poll is retried below
      }
      if ([...this._jobs.values()].some(t => t.state === 'running')) {
        this._timer = setTimeout(tick, POLL_MS);
      }
    };
    this._timer = setTimeout(tick, POLL_MS);
  }

  private _browser = new Map<string, ITransfer>();
  private _jobs = new Map<string, ITransfer>();
  private _counter = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _changed = new Signal<this, void>(this);
  private _finished = new Signal<this, ITransfer>(this);
}

/** The list of transfers with progress bars, speed and a cancel button each. */
export class TransferList extends Widget {
  constructor(
    private readonly manager: TransferManager,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-hybridhub-storage-transfers');
    this.node.setAttribute('aria-label', trans.__('Transfers'));
    manager.changed.connect(this.render, this);
    this.render();
  }

  dispose(): void {
    this.manager.changed.disconnect(this.render, this);
    super.dispose();
  }

  private render(): void {
    const list = this.manager.transfers;
    this.node.replaceChildren();
    this.setHidden(list.length === 0);
    if (list.length === 0) {
      return;
    }
    const header = document.createElement('div');
    header.className = 'jp-hybridhub-storage-transfers-header';
    const title = document.createElement('span');
    title.textContent = this.trans.__('Transfers');
    const clear = document.createElement('button');
    clear.className = 'jp-mod-styled jp-hybridhub-storage-link';
    clear.textContent = this.trans.__('Clear finished');
    clear.onclick = () => this.manager.clearFinished();
    header.append(title, clear);
    this.node.appendChild(header);
    for (const t of list) {
      this.node.appendChild(this.row(t));
    }
  }

  private row(t: ITransfer): HTMLElement {
    const row = document.createElement('div');
    row.className = `jp-hybridhub-storage-transfer jp-mod-${t.state}`;
    const label = document.createElement('div');
    label.className = 'jp-hybridhub-storage-transfer-label';
    const arrow = t.direction === 'upload' ? '↑' : '↓';
    label.textContent = `${arrow} ${t.label}`;
    label.title = t.label;
    const bar = document.createElement('progress');
    bar.max = t.total || 1;
    bar.value = t.total ? Math.min(t.done, t.total) : t.state === 'done' ? 1 : 0;
    bar.setAttribute('aria-label', this.trans.__('Progress of %1', t.label));
    const info = document.createElement('div');
    info.className = 'jp-hybridhub-storage-transfer-info';
    info.setAttribute('aria-live', 'polite');
    if (t.state === 'running') {
      const pct = t.total ? Math.floor((100 * t.done) / t.total) : 0;
      info.textContent = this.trans.__(
        '%1% · %2 of %3 · %4/s',
        pct,
        formatBytes(t.done),
        formatBytes(t.total),
        formatBytes(Math.round(t.speed))
      );
    } else if (t.state === 'done') {
      info.textContent = this.trans.__('Done · %1', formatBytes(t.total ?? t.done));
    } else if (t.state === 'cancelled') {
      info.textContent = this.trans.__('Cancelled');
    } else {
      info.textContent = this.trans.__('Failed: %1', t.message);
    }
    row.append(label, bar, info);
    if (t.state === 'running') {
      const cancel = document.createElement('button');
      cancel.className = 'jp-mod-styled jp-hybridhub-storage-link';
      cancel.textContent = this.trans.__('Cancel');
      cancel.setAttribute('aria-label', this.trans.__('Cancel transfer of %1', t.label));
      cancel.onclick = () => t.cancel();
      row.appendChild(cancel);
    }
    return row;
  }
}
