import { Poll } from '@lumino/polling';
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
 *
 * The poll never stands by, not even in a hidden browser tab: the culler asks a browser that
 * polled within ``ActivityMonitor.browser_timeout_seconds`` (90 s) to save before a stop
 * (docs/culling.md), and a hidden tab still holds open documents. It polls every 30 s, every
 * 3 s while a warning stands, and backs off while the server does not answer.
 */
export class CullingModel {
  constructor(private readonly trans: TranslationBundle) {
    this.poll = new Poll({
      auto: false,
      factory: () => this.fetchReport(),
      frequency: { interval: IDLE_POLL_MS, backoff: true, max: 5 * IDLE_POLL_MS },
      name: 'hybridhub:activity',
      standby: 'never'
    });
  }

  get warningChanged(): ISignal<this, ICullWarning | null> {
    return this._warningChanged;
  }

  get report(): IActivityReport | null {
    return this._report;
  }

  start(): void {
    void this.poll.start();
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  /** Ask for one extension of the idle timeout; throws HybridHubRequestError when refused. */
  async keepAlive(): Promise<void> {
    await requestAPI('activity/keepalive', this.trans, { method: 'POST' });
    await this.fetchReport().catch(() => undefined);
  }

  /** Tell the culler the open documents are saved. */
  async markSaved(): Promise<void> {
    await requestAPI('activity/saved', this.trans, { method: 'POST' });
  }

  /** One report; a failure is rethrown so that the poll backs off (the server may be stopping). */
  private async fetchReport(): Promise<void> {
    const report = await requestAPI<IActivityReport>('activity?client=lab', this.trans);
    this._report = report;
    const key = report.warning ? `${report.warning.issued_at}|${report.warning.state}|${report.warning.cull_at}` : '';
    if (key !== this._warningKey) {
      this._warningKey = key;
      this.poll.frequency = { ...this.poll.frequency, interval: key ? WARNING_POLL_MS : IDLE_POLL_MS };
      this._warningChanged.emit(report.warning);
    }
  }

  private readonly poll: Poll;
  private _report: IActivityReport | null = null;
  private _warningKey = '';
  private _warningChanged = new Signal<this, ICullWarning | null>(this);
}
