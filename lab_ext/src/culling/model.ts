import { Signal, ISignal } from '@lumino/signaling';
import { TranslationBundle } from '@jupyterlab/translation';

import { requestAPI } from '../request';

/** The culler's announcement, as the server extension holds it. */
export interface ICullWarning {
  cull_at: string;
  reason: string;
  kind: 'idle' | 'max-age';
  state: 'pending' | 'stopping';
  issued_at: string;
}

/** The part of GET /hybridhub/activity the frontend uses. */
export interface IActivityReport {
  now: string;
  busy: boolean;
  reasons: string[];
  idle_timeout_seconds: number;
  keepalive_available: boolean;
  warning: ICullWarning | null;
}

const IDLE_POLL_MS = 30_000;
const WARNING_POLL_MS = 3_000;

/**
 * Polls the activity report (marked as coming from a browser, so the culler knows open
 * documents can be saved) and signals every change of the culler's warning.
 */
export class CullingModel {
  constructor(private readonly trans: TranslationBundle) {}

  get warningChanged(): ISignal<this, ICullWarning | null> {
    return this._warningChanged;
  }

  get report(): IActivityReport | null {
    return this._report;
  }

  start(): void {
    void this._poll();
  }

  dispose(): void {
    this._disposed = true;
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
    }
  }

  /** Ask for one extension of the idle timeout; throws HybridHubRequestError when refused. */
  async keepAlive(): Promise<void> {
    await requestAPI('activity/keepalive', this.trans, { method: 'POST' });
    await this._poll(false);
  }

  /** Tell the culler the open documents are saved. */
  async markSaved(): Promise<void> {
    await requestAPI('activity/saved', this.trans, { method: 'POST' });
  }

  private async _poll(reschedule = true): Promise<void> {
    if (this._disposed) {
      return;
    }
    try {
      const report = await requestAPI<IActivityReport>(
        'activity?client=lab',
        this.trans
      );
      this._report = report;
      const key = report.warning
        ? `${report.warning.issued_at}|${report.warning.state}|${report.warning.cull_at}`
        : '';
      if (key !== this._warningKey) {
        this._warningKey = key;
        this._warningChanged.emit(report.warning);
      }
    } catch (error) {
      // the server may be stopping; the next poll tells
      console.debug('hybridhub: activity poll failed', error);
    }
    if (reschedule && !this._disposed) {
      const delay = this._warningKey ? WARNING_POLL_MS : IDLE_POLL_MS;
      this._timer = window.setTimeout(() => void this._poll(), delay);
    }
  }

  private _report: IActivityReport | null = null;
  private _warningKey = '';
  private _timer: number | null = null;
  private _disposed = false;
  private _warningChanged = new Signal<this, ICullWarning | null>(this);
}
