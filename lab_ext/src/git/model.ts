import { TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { errorReason, reasonText } from '../request';
import { GitAPI, IGitStatus, IMergeRequest } from './api';

/** What the panel shows; replaced as a whole on every change (the view compares by identity). */
export interface IGitState {
  /** The repository of the file browser's folder, or null while unknown or on a failure. */
  readonly status: IGitStatus | null;
  /** Why there is no status (translated), or null. */
  readonly problem: string | null;
  /** An action is running: the buttons are disabled. */
  readonly busy: boolean;
  /** True until the first answer arrived. */
  readonly loading: boolean;
  readonly lastMergeRequest: IMergeRequest | null;
  /** The commit message being written (kept here: no refresh takes it away). */
  readonly draft: string;
}

/** The read-only face of the model other plugins may use (see tokens.ts). */
export interface IGitModel {
  readonly state: IGitState;
  readonly stateChanged: ISignal<IGitModel, IGitState>;
  /** The repository's path in the workspace ('' for the root, also when unknown). */
  readonly repository: string;
  refresh(): Promise<void>;
}

export const DEFAULT_REFRESH_SECONDS = 15;

/**
 * The state of the commit & push panel for the repository of the file browser's folder.
 *
 * A ``Poll`` refreshes it every ``refreshSeconds`` while the panel is shown (and the browser tab
 * is visible); while hidden it stands by, and showing the panel refreshes at once.
 */
export class GitModel implements IGitModel {
  constructor(
    readonly api: GitAPI,
    private readonly trans: TranslationBundle,
    private readonly folder: () => string,
    refreshSeconds = DEFAULT_REFRESH_SECONDS
  ) {
    this.poll = new Poll({
      auto: false,
      factory: () => this.load(),
      frequency: { interval: refreshSeconds * 1000, backoff: true, max: 300 * 1000 },
      name: 'hybridhub:git-status',
      standby: () => (this._shown ? 'when-hidden' : true)
    });
  }

  get state(): IGitState {
    return this._state;
  }

  get stateChanged(): ISignal<this, IGitState> {
    return this._stateChanged;
  }

  get repository(): string {
    return this._state.status?.repository ?? '';
  }

  /** The panel was shown or hidden: a shown panel polls, a hidden one stands by. */
  set shown(shown: boolean) {
    if (shown === this._shown) {
      return;
    }
    this._shown = shown;
    if (shown) {
      void this.poll.start();
      void this.refresh();
    }
  }

  get shown(): boolean {
    return this._shown;
  }

  /** From the extension's settings (``refreshSeconds``). */
  set refreshSeconds(seconds: number) {
    this.poll.frequency = { ...this.poll.frequency, interval: seconds * 1000 };
  }

  /** Reload the status now, shown or not (an action, a command, a file that changed). */
  async refresh(): Promise<void> {
    await this.load().catch(() => undefined);
  }

  /** Run an action with the buttons disabled, then reload; a failure is rethrown to the caller. */
  async run<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (this._state.busy) {
      return undefined;
    }
    this.update({ busy: true });
    try {
      return await work();
    } finally {
      this.update({ busy: false });
      await this.refresh();
    }
  }

  setDraft(draft: string): void {
    this.update({ draft });
  }

  rememberMergeRequest(mergeRequest: IMergeRequest): void {
    this.update({ lastMergeRequest: mergeRequest });
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  /** One status request; only the newest request's answer is kept (answers may overtake). */
  private async load(): Promise<void> {
    const request = ++this.requests;
    try {
      const status = await this.api.status(this.folder());
      if (request === this.requests) {
        this.update({ status, problem: null, loading: false });
      }
    } catch (error) {
      if (request === this.requests) {
        const fallback = error instanceof Error ? error.message : String(error);
        this.update({ status: null, problem: reasonText('git', errorReason(error), fallback, this.trans), loading: false });
      }
      throw error; // the poll backs off while the server fails
    }
  }

  private update(change: Partial<IGitState>): void {
    this._state = { ...this._state, ...change };
    this._stateChanged.emit(this._state);
  }

  private readonly poll: Poll;
  private requests = 0;
  private _shown = false;
  private _state: IGitState = { status: null, problem: null, busy: false, loading: true, lastMergeRequest: null, draft: '' };
  private readonly _stateChanged = new Signal<this, IGitState>(this);
}
